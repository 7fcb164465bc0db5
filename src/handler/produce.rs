use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::log::{AppendOutcome, BatchHeader, LogError};
use crate::partition::Partition;
use crate::security::acl::Operation;
use crate::txn::{TxnError, TxnPartition};

/// One partition's records waiting to be appended, and where its answer goes.
struct Append {
    topic: usize,
    slot: usize,
    topic_name: String,
    partition: Arc<Partition>,
    records: Bytes,
}

type Appended = (Append, Result<AppendOutcome, LogError>);

/// Appends each partition's batches; a bad partition gets its own error while the others
/// succeed. acks=0 gets no response at all, as in Kafka.
///
/// Transactional batches: a partition accepts them only once the transaction coordinator
/// added it to the producer's transaction. A v12+ request (transactions v2) has the coordinator
/// add its partitions first, as Kafka's leader does before it appends (nothing to write when
/// they are in already); if a partition still refuses a batch it is added and appended again.
/// An older request gets the reason Kafka's verification gives (INVALID_PRODUCER_ID_MAPPING, a
/// fenced epoch as INVALID_PRODUCER_EPOCH, TRANSACTION_ABORTABLE from v11, else
/// INVALID_TXN_STATE).
///
/// Authorization as in Kafka: transactional batches need a transactional id and WRITE on it (or
/// the whole request is TRANSACTIONAL_ID_AUTHORIZATION_FAILED, with or without an authorizer),
/// and each topic needs WRITE (checked before its existence).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    version: i16,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    let acks = request.acks;
    let transactional_denied = has_transactional_records(&request)
        && !request
            .transactional_id
            .as_ref()
            .is_some_and(|id| access.transactional_id(Operation::Write, id.as_str()));
    let refused = if transactional_denied {
        Some(ResponseError::TransactionalIdAuthorizationFailed.code())
    } else {
        (!matches!(acks, -1..=1)).then_some(ResponseError::InvalidRequiredAcks.code())
    };
    let transactional_id = request.transactional_id.as_ref().map(|s| s.to_string());

    let mut responses = Vec::with_capacity(request.topic_data.len());
    let mut appends = Vec::new();
    for (t, data) in request.topic_data.into_iter().enumerate() {
        let topic = if version >= 13 {
            broker.topics.get_by_id(&data.topic_id)
        } else {
            broker.topics.get(data.name.as_str())
        };
        let missing = if version >= 13 {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        // An unknown topic id stays UNKNOWN_TOPIC_ID; a name is authorized whether it exists
        // or not.
        let denied = match &topic {
            Some(t) => !access.topic(Operation::Write, &t.name),
            None => version < 13 && !access.topic(Operation::Write, data.name.as_str()),
        };
        let refused = refused.or(denied.then_some(ResponseError::TopicAuthorizationFailed.code()));
        let mut partitions = Vec::with_capacity(data.partition_data.len());
        for (slot, p) in data.partition_data.into_iter().enumerate() {
            let out = PartitionProduceResponse::default()
                .with_index(p.index)
                .with_base_offset(-1);
            let partition = topic
                .as_ref()
                .and_then(|t| t.partition(p.index).map(|p| (t.name.clone(), p)));
            partitions.push(match (refused, partition, p.records) {
                (Some(code), _, _) => out.with_error_code(code),
                (None, None, _) => out.with_error_code(missing.code()),
                (None, Some(_), None) => out.with_error_code(ResponseError::CorruptMessage.code()),
                (None, Some((topic_name, partition)), Some(records)) => {
                    appends.push(Append {
                        topic: t,
                        slot,
                        topic_name,
                        partition,
                        records,
                    });
                    out
                }
            });
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(data.name)
                .with_topic_id(data.topic_id)
                .with_partition_responses(partitions),
        );
    }

    if let (Some(id), true) = (&transactional_id, version >= 12) {
        appends = add_first(broker, id, version, appends, &mut responses).await;
    }
    if !appends.is_empty() {
        let Some(mut done) = append_all(appends).await else {
            fail_all(&mut responses);
            return (acks != 0).then(|| ProduceResponse::default().with_responses(responses));
        };
        let mut overrides = HashMap::new();
        if let Some(id) = &transactional_id {
            done = settle_transactions(broker, id, version, done, &mut overrides).await;
        }
        for (a, result) in done {
            let out = &mut responses[a.topic].partition_responses[a.slot];
            if let Some(code) = overrides.get(&(a.topic, a.slot)) {
                out.error_code = *code;
                continue;
            }
            match result {
                Ok(appended) => {
                    if !appended.duplicate {
                        let count = appended.last_offset - appended.base_offset + 1;
                        broker.metrics().records_in(count.max(0) as u64);
                    }
                    out.base_offset = appended.base_offset;
                    out.log_append_time_ms = appended.log_append_time_ms;
                    out.log_start_offset = appended.log_start_offset;
                }
                Err(e) => {
                    tracing::debug!("produce refused: {e}");
                    if let LogError::RecordError { index, message } = &e {
                        out.record_errors.push(
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(*index)
                                .with_batch_index_error_message(Some(str_bytes(message.clone()))),
                        );
                    }
                    out.error_message = Some(str_bytes(e.to_string()));
                    out.error_code = code_of(e);
                }
            }
        }
    }

    (acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}

/// Whether the first batch of any partition is transactional (Kafka's test).
fn has_transactional_records(request: &ProduceRequest) -> bool {
    request
        .topic_data
        .iter()
        .flat_map(|t| t.partition_data.iter())
        .filter_map(|p| p.records.as_ref())
        .any(|records| transactional_header(records).is_some())
}

/// Has the coordinator add the partitions of the transactional batches in `appends` to their
/// producer's transaction (transactions v2); those it refuses get its error in `responses` and
/// are not appended. Returns the appends to make.
async fn add_first(
    broker: &Broker,
    transactional_id: &str,
    version: i16,
    appends: Vec<Append>,
    responses: &mut [TopicProduceResponse],
) -> Vec<Append> {
    let mut producers: BTreeMap<(i64, i16), BTreeSet<TxnPartition>> = BTreeMap::new();
    for a in &appends {
        if let Some(h) = transactional_header(&a.records) {
            let tp = TxnPartition::new(a.topic_name.clone(), a.partition.index);
            producers
                .entry((h.producer_id, h.producer_epoch))
                .or_default()
                .insert(tp);
        }
    }
    let mut refused = HashMap::new();
    for ((pid, epoch), partitions) in producers {
        let added = broker
            .txns
            .add_to_txn(
                transactional_id,
                pid,
                epoch,
                partitions,
                BTreeSet::new(),
                true,
            )
            .await;
        if let Err(e) = added {
            refused.insert((pid, epoch), produce_code(e, version));
        }
    }
    if refused.is_empty() {
        return appends;
    }
    appends
        .into_iter()
        .filter(|a| {
            let code = transactional_header(&a.records)
                .and_then(|h| refused.get(&(h.producer_id, h.producer_epoch)));
            if let Some(code) = code {
                responses[a.topic].partition_responses[a.slot].error_code = *code;
            }
            code.is_none()
        })
        .collect()
}

fn transactional_header(records: &Bytes) -> Option<BatchHeader> {
    BatchHeader::parse(records)
        .ok()
        .filter(BatchHeader::is_transactional)
}

/// Appends in one blocking task for the whole request: file writes never run on the reactor.
/// `None` if the task failed.
async fn append_all(appends: Vec<Append>) -> Option<Vec<Appended>> {
    let done = tokio::task::spawn_blocking(move || {
        appends
            .into_iter()
            .map(|a| {
                let result = a.partition.append(a.records.clone());
                (a, result)
            })
            .collect::<Vec<_>>()
    })
    .await;
    match done {
        Ok(done) => Some(done),
        Err(e) => {
            tracing::error!("produce task failed: {e}");
            None
        }
    }
}

fn fail_all(responses: &mut [TopicProduceResponse]) {
    for topic in responses {
        for p in &mut topic.partition_responses {
            if p.error_code == 0 {
                p.error_code = ResponseError::UnknownServerError.code();
            }
        }
    }
}

/// Handles the transactional batches a partition refused for not being part of the producer's
/// transaction (see [`handle`]); `overrides` gets the error codes that replace the log's.
async fn settle_transactions(
    broker: &Broker,
    transactional_id: &str,
    version: i16,
    done: Vec<Appended>,
    overrides: &mut HashMap<(usize, usize), i16>,
) -> Vec<Appended> {
    let mut kept = Vec::with_capacity(done.len());
    let mut retry = Vec::new();
    for (a, result) in done {
        let header = match &result {
            Err(LogError::InvalidTxnState(_)) => transactional_header(&a.records),
            _ => None,
        };
        let Some(header) = header else {
            kept.push((a, result));
            continue;
        };
        let (pid, epoch) = (header.producer_id, header.producer_epoch);
        let tp = TxnPartition::new(a.topic_name.clone(), a.partition.index);
        let verdict = if version >= 12 {
            broker
                .txns
                .add_to_txn(
                    transactional_id,
                    pid,
                    epoch,
                    BTreeSet::from([tp]),
                    BTreeSet::new(),
                    true,
                )
                .await
        } else {
            Err(broker
                .txns
                .produce_error(transactional_id, pid, epoch, &tp)
                .await)
        };
        match verdict {
            Ok(()) => retry.push(a),
            Err(e) => {
                overrides.insert((a.topic, a.slot), produce_code(e, version));
                kept.push((a, result));
            }
        }
    }
    if !retry.is_empty() {
        let slots: Vec<(usize, usize)> = retry.iter().map(|a| (a.topic, a.slot)).collect();
        match append_all(retry).await {
            Some(again) => kept.extend(again),
            None => {
                for slot in slots {
                    overrides.insert(slot, ResponseError::UnknownServerError.code());
                }
            }
        }
    }
    kept
}

/// What a produce request at `version` is told when the coordinator refuses its batch.
fn produce_code(e: TxnError, version: i16) -> i16 {
    let code = match e {
        TxnError::ProducerFenced(_) => ResponseError::InvalidProducerEpoch,
        TxnError::TransactionAbortable if version >= 11 => ResponseError::TransactionAbortable,
        TxnError::TransactionAbortable | TxnError::InvalidTxnState(_) => {
            ResponseError::InvalidTxnState
        }
        TxnError::InvalidProducerIdMapping(_) => ResponseError::InvalidProducerIdMapping,
        // Retriable for every client, as Kafka answers coordinator trouble on produce.
        TxnError::ConcurrentTransactions
        | TxnError::CoordinatorNotAvailable
        | TxnError::Storage(_) => ResponseError::NotEnoughReplicas,
        e => return code_of(e),
    };
    code.code()
}
