use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::txn_error::{txn_code, Knows};
use crate::broker::Broker;
use crate::txn::{TxnError, TxnPartition};

/// v0-v3 (clients): one transaction's partitions are added to it. v4+ (Kafka brokers) batch
/// several transactions, each either added or, with `verify_only`, only checked (a partition
/// not in the transaction is TRANSACTION_ABORTABLE). As in Kafka, a partition that does not
/// exist fails the whole transaction: it gets UNKNOWN_TOPIC_OR_PARTITION and the others
/// OPERATION_NOT_ATTEMPTED.
pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let knows = Knows {
        producer_fenced: version >= 2,
        transaction_abortable: version >= 5,
    };
    if version <= 3 {
        let txn = AddPartitionsToTxnTransaction::default()
            .with_transactional_id(request.v3_and_below_transactional_id)
            .with_producer_id(request.v3_and_below_producer_id)
            .with_producer_epoch(request.v3_and_below_producer_epoch)
            .with_topics(request.v3_and_below_topics);
        let result = one(broker, txn, knows).await;
        return AddPartitionsToTxnResponse::default()
            .with_results_by_topic_v3_and_below(result.topic_results);
    }
    let mut results = Vec::with_capacity(request.transactions.len());
    for txn in request.transactions {
        results.push(one(broker, txn, knows).await);
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

async fn one(
    broker: &Broker,
    txn: AddPartitionsToTxnTransaction,
    knows: Knows,
) -> AddPartitionsToTxnResult {
    let id = txn.transactional_id.to_string();
    let (pid, epoch) = (txn.producer_id.0, txn.producer_epoch);
    let wanted: Vec<TxnPartition> = txn
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| TxnPartition::new(t.name.to_string(), *p))
        })
        .collect();
    let missing: BTreeSet<&TxnPartition> = wanted
        .iter()
        .filter(|p| {
            broker
                .topics
                .get(&p.topic)
                .and_then(|t| t.partition(p.partition))
                .is_none()
        })
        .collect();
    let codes: Vec<i16> = if !missing.is_empty() {
        wanted
            .iter()
            .map(|p| {
                if missing.contains(p) {
                    ResponseError::UnknownTopicOrPartition.code()
                } else {
                    ResponseError::OperationNotAttempted.code()
                }
            })
            .collect()
    } else if txn.verify_only {
        match broker.txns.verify(&id, pid, epoch, &wanted).await {
            Ok(each) => each
                .into_iter()
                .map(|r| r.map_or_else(|e| txn_code(e, knows), |()| 0))
                .collect(),
            Err(e) => vec![txn_code(e, knows); wanted.len()],
        }
    } else {
        let set: BTreeSet<TxnPartition> = wanted.iter().cloned().collect();
        let added = broker
            .txns
            .add_to_txn(&id, pid, epoch, set, BTreeSet::new(), false)
            .await;
        let code = added.map_or_else(|e: TxnError| txn_code(e, knows), |()| 0);
        vec![code; wanted.len()]
    };
    let mut codes = codes.into_iter();
    let topic_results = txn
        .topics
        .into_iter()
        .map(|t: AddPartitionsToTxnTopic| {
            let results = t
                .partitions
                .iter()
                .map(|p| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(*p)
                        .with_partition_error_code(codes.next().unwrap_or(0))
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name)
                .with_results_by_partition(results)
        })
        .collect();
    AddPartitionsToTxnResult::default()
        .with_transactional_id(txn.transactional_id)
        .with_topic_results(topic_results)
}
