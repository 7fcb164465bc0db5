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

use super::access::Access;
use super::txn_error::{txn_code, Knows};
use crate::broker::Broker;
use crate::security::acl::Operation;
use crate::txn::{TxnError, TxnPartition};

/// v0-v3 (clients): one transaction's partitions are added to it. v4+ (Kafka brokers) batch
/// several transactions, each either added or, with `verify_only`, only checked (a partition
/// not in the transaction is TRANSACTION_ABORTABLE). As in Kafka, a partition that does not
/// exist fails the whole transaction: it gets UNKNOWN_TOPIC_OR_PARTITION and the others
/// OPERATION_NOT_ATTEMPTED.
///
/// Authorization as in Kafka: a client's request (v0-v3) needs WRITE on the transactional id
/// (else every partition is TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic (a
/// topic without it is TOPIC_AUTHORIZATION_FAILED and fails the transaction like a missing
/// one); a broker's batch (v4+) needs CLUSTER_ACTION on the cluster.
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
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
        let result = one(broker, Some(access), txn, knows).await;
        return AddPartitionsToTxnResponse::default()
            .with_results_by_topic_v3_and_below(result.topic_results);
    }
    if !access.cluster(Operation::ClusterAction) {
        return AddPartitionsToTxnResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let mut results = Vec::with_capacity(request.transactions.len());
    for txn in request.transactions {
        results.push(one(broker, None, txn, knows).await);
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// One transaction's partitions; `client` is the sender of a v0-v3 request, whose
/// transactional id and topics are authorized here.
async fn one(
    broker: &Broker,
    client: Option<&Access<'_>>,
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
    let id_denied = client.is_some_and(|a| !a.transactional_id(Operation::Write, &id));
    let topic_denied: BTreeSet<&str> = match client {
        Some(access) if !id_denied => wanted
            .iter()
            .map(|p| p.topic.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|topic| !access.topic(Operation::Write, topic))
            .collect(),
        _ => BTreeSet::new(),
    };
    let failed: Vec<Option<ResponseError>> = wanted
        .iter()
        .map(|p| {
            if topic_denied.contains(p.topic.as_str()) {
                Some(ResponseError::TopicAuthorizationFailed)
            } else if broker
                .topics
                .get(&p.topic)
                .and_then(|t| t.partition(p.partition))
                .is_none()
            {
                Some(ResponseError::UnknownTopicOrPartition)
            } else {
                None
            }
        })
        .collect();
    let codes: Vec<i16> = if id_denied {
        vec![ResponseError::TransactionalIdAuthorizationFailed.code(); wanted.len()]
    } else if failed.iter().any(Option::is_some) {
        failed
            .iter()
            .map(|f| f.unwrap_or(ResponseError::OperationNotAttempted).code())
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
