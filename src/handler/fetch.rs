use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId};

use super::LEADER_EPOCH;
use crate::broker::Broker;
use crate::error::code_of;
use crate::partition::fetch::{self, Limits, Wanted};
use crate::partition::Isolation;

/// Fetch sessions (KIP-227) are answered sessionless: session id 0 tells the client to keep
/// sending full fetch requests, which Kafka clients handle.
///
/// A partition listed more than once is answered once, where it was first listed, with the
/// offset and limit of its last entry: Kafka keys a fetch's partitions by topic and partition
/// the same way, and reading it once per entry would copy the same data again and again.
pub async fn handle(broker: &Arc<Broker>, version: i16, request: FetchRequest) -> FetchResponse {
    if request.session_id != 0 || request.session_epoch > 0 {
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    let isolation = Isolation::from_wire(request.isolation_level);
    let read_committed = isolation == Isolation::ReadCommitted;
    let by_id = version >= 13;
    let missing = if by_id {
        ResponseError::UnknownTopicId
    } else {
        ResponseError::UnknownTopicOrPartition
    };
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut refused = false;
    let mut topics = Vec::with_capacity(request.topics.len());
    // (topic, partition) -> its index in `wanted`, if it is read.
    let mut listed: HashMap<(String, i32), Option<usize>> = HashMap::new();
    for t in request.topics {
        let topic = if by_id {
            broker.topics.get_by_id(&t.topic_id)
        } else {
            broker.topics.get(t.topic.as_str())
        };
        let key = if by_id {
            t.topic_id.to_string()
        } else {
            t.topic.to_string()
        };
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            let max_bytes = usize::try_from(p.partition_max_bytes).unwrap_or(0);
            if let Some(read) = listed.get(&(key.clone(), p.partition)) {
                if let Some(w) = read.and_then(|i| wanted.get_mut(i)) {
                    w.offset = p.fetch_offset;
                    w.max_bytes = max_bytes;
                }
                continue;
            }
            let out = empty(p.partition, read_committed);
            let error = match topic.as_ref().and_then(|t| t.partition(p.partition)) {
                None => missing,
                Some(_) if p.current_leader_epoch > LEADER_EPOCH => {
                    ResponseError::UnknownLeaderEpoch
                }
                Some(partition) => {
                    listed.insert((key.clone(), p.partition), Some(wanted.len()));
                    wanted.push(Wanted {
                        partition,
                        offset: p.fetch_offset,
                        max_bytes,
                    });
                    partitions.push(out);
                    continue;
                }
            };
            listed.insert((key.clone(), p.partition), None);
            refused = true;
            partitions.push(out.with_error_code(error.code()));
        }
        if partitions.is_empty() && !t.partitions.is_empty() {
            // Every partition of this entry was listed before.
            continue;
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic)
                .with_topic_id(t.topic_id)
                .with_partitions(partitions),
        );
    }

    let limits = Limits {
        min_bytes: usize::try_from(request.min_bytes).unwrap_or(0),
        // fetch.max.bytes caps what one response may hold, whatever the client asks for.
        max_bytes: usize::try_from(request.max_bytes)
            .unwrap_or(0)
            .min(broker.config().fetch_max_bytes),
        // A response carrying an error is sent at once, as Kafka does.
        max_wait: if refused {
            Duration::ZERO
        } else {
            Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0))
        },
        isolation,
    };
    let fetched = match fetch::fetch(wanted, limits).await {
        Ok(fetched) => fetched,
        Err(e) => {
            tracing::error!("fetch task failed: {e}");
            return FetchResponse::default()
                .with_error_code(ResponseError::UnknownServerError.code());
        }
    };
    // The partitions without an error yet are exactly the wanted ones, in the same order.
    let read = topics
        .iter_mut()
        .flat_map(|t| t.partitions.iter_mut())
        .filter(|p| p.error_code == 0);
    for (out, f) in read.zip(fetched) {
        out.high_watermark = f.watermarks.high;
        out.last_stable_offset = f.watermarks.last_stable;
        out.log_start_offset = f.watermarks.log_start;
        match f.records {
            Ok(records) => out.records = Some(records),
            Err(e) => out.error_code = code_of(e),
        }
        if read_committed {
            out.aborted_transactions = Some(
                f.aborted
                    .iter()
                    .map(|a| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(a.producer_id))
                            .with_first_offset(a.first_offset)
                    })
                    .collect(),
            );
        }
    }
    FetchResponse::default().with_responses(topics)
}

/// A partition's answer before it is read: empty records (never null: librdkafka rejects a
/// null record set) and unknown offsets.
fn empty(index: i32, read_committed: bool) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(read_committed.then(Vec::new))
        .with_records(Some(Bytes::new()))
}
