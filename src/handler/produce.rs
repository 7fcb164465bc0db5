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
use crate::log::{BatchHeader, LogError};
use crate::partition::Partition;
use crate::security::acl::Operation;

/// One partition's records waiting to be appended, and where its answer goes.
struct Append {
    topic: usize,
    slot: usize,
    partition: Arc<Partition>,
    records: Bytes,
}

/// Appends each partition's batches; a bad partition gets its own error while the others
/// succeed. acks=0 gets no response at all, as in Kafka.
///
/// Authorization as in Kafka: transactional batches need WRITE on the transactional id (or the
/// whole request is refused), and each topic needs WRITE (checked before its existence).
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
    // Transactions are not served yet: any transactional id is refused like an unauthorized one.
    let refused = if transactional_denied || request.transactional_id.is_some() {
        Some(ResponseError::TransactionalIdAuthorizationFailed.code())
    } else if !matches!(acks, -1..=1) {
        Some(ResponseError::InvalidRequiredAcks.code())
    } else {
        None
    };

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
            let partition = topic.as_ref().and_then(|t| t.partition(p.index));
            partitions.push(match (refused, partition, p.records) {
                (Some(code), _, _) => out.with_error_code(code),
                (None, None, _) => out.with_error_code(missing.code()),
                (None, Some(_), None) => out.with_error_code(ResponseError::CorruptMessage.code()),
                (None, Some(partition), Some(records)) => {
                    appends.push(Append {
                        topic: t,
                        slot,
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

    if !appends.is_empty() {
        // One blocking task for the whole request: file writes never run on the reactor.
        let done = tokio::task::spawn_blocking(move || {
            appends
                .into_iter()
                .map(|a| (a.topic, a.slot, a.partition.append(a.records)))
                .collect::<Vec<_>>()
        })
        .await;
        match done {
            Ok(results) => {
                for (t, slot, result) in results {
                    let out = &mut responses[t].partition_responses[slot];
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
                                        .with_batch_index_error_message(Some(str_bytes(
                                            message.clone(),
                                        ))),
                                );
                            }
                            out.error_message = Some(str_bytes(e.to_string()));
                            out.error_code = code_of(e);
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!("produce task failed: {e}");
                for topic in &mut responses {
                    for p in &mut topic.partition_responses {
                        if p.error_code == 0 {
                            p.error_code = ResponseError::UnknownServerError.code();
                        }
                    }
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
        .any(|records| BatchHeader::parse(records).is_ok_and(|h| h.is_transactional()))
}
