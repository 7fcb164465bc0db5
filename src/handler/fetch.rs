use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::select_all;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use tokio::time::Instant;

use super::LEADER_EPOCH;
use crate::broker::Broker;
use crate::error::code_of;
use crate::log::ReadPlan;
use crate::metadata::Partition;

/// What one requested partition resolved to.
struct Wanted {
    partition: Option<Arc<Partition>>,
    missing: ResponseError,
    index: i32,
    offset: i64,
    max_bytes: usize,
    leader_epoch: i32,
}

/// Fetch sessions (KIP-227) are answered sessionless: session id 0 tells the client to keep
/// sending full fetch requests, which Kafka clients handle.
pub async fn handle(broker: &Arc<Broker>, version: i16, request: FetchRequest) -> FetchResponse {
    if request.session_id != 0 || request.session_epoch > 0 {
        return FetchResponse::default()
            .with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    let read_committed = request.isolation_level == 1;
    let mut topics = Vec::with_capacity(request.topics.len());
    let mut wanted: Vec<Vec<Wanted>> = Vec::with_capacity(request.topics.len());
    for t in request.topics {
        let by_id = version >= 13;
        let topic = if by_id {
            broker.topics.get_by_id(&t.topic_id)
        } else {
            broker.topics.get(t.topic.as_str())
        };
        let missing = if by_id {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        wanted.push(
            t.partitions
                .iter()
                .map(|p| Wanted {
                    partition: topic.as_ref().and_then(|t| t.partition(p.partition)),
                    missing,
                    index: p.partition,
                    offset: p.fetch_offset,
                    max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                    leader_epoch: p.current_leader_epoch,
                })
                .collect(),
        );
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic)
                .with_topic_id(t.topic_id),
        );
    }

    let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0);
    // fetch.max.bytes caps what one response may hold, whatever the client asks for.
    let max_bytes = usize::try_from(request.max_bytes)
        .unwrap_or(0)
        .min(broker.config().fetch_max_bytes);
    let wanted = Arc::new(wanted);
    loop {
        if !ready_without_reading(&wanted) && wait_for_append(&wanted, deadline, true).await {
            continue;
        }
        let w = wanted.clone();
        let read =
            tokio::task::spawn_blocking(move || read_all(&w, max_bytes, read_committed)).await;
        let (partitions, total, errors) = match read {
            Ok(result) => result,
            Err(e) => {
                tracing::error!("fetch task failed: {e}");
                return FetchResponse::default()
                    .with_error_code(ResponseError::UnknownServerError.code());
            }
        };
        if total >= min_bytes || errors || Instant::now() >= deadline {
            for (topic, partitions) in topics.iter_mut().zip(partitions) {
                topic.partitions = partitions;
            }
            return FetchResponse::default().with_responses(topics);
        }
        // Not enough yet: wait for more appends, then read again.
        wait_for_append(&wanted, deadline, false).await;
    }
}

/// Whether reading now could return data or an error (so there is no point waiting).
fn ready_without_reading(wanted: &[Vec<Wanted>]) -> bool {
    wanted.iter().flatten().any(|w| match &w.partition {
        None => true,
        Some(p) => {
            w.offset != p.high_watermark()
                || w.offset < p.log_start_offset()
                || w.leader_epoch > LEADER_EPOCH
        }
    })
}

/// Waits until any wanted partition is appended to, or the deadline. Returns false on timeout.
/// With `recheck`, returns at once if data arrived before the wait was armed.
async fn wait_for_append(wanted: &[Vec<Wanted>], deadline: Instant, recheck: bool) -> bool {
    if Instant::now() >= deadline {
        return false;
    }
    let mut waits: Vec<_> = wanted
        .iter()
        .flatten()
        .filter_map(|w| w.partition.as_ref())
        .map(|p| Box::pin(p.appended()))
        .collect();
    if waits.is_empty() {
        return false;
    }
    for w in &mut waits {
        w.as_mut().enable();
    }
    // An append may have landed before the waits were armed.
    if recheck && ready_without_reading(wanted) {
        return true;
    }
    tokio::time::timeout_at(deadline, select_all(waits))
        .await
        .is_ok()
}

/// Reads every partition within the response budget. Blocking.
fn read_all(
    wanted: &[Vec<Wanted>],
    max_bytes: usize,
    read_committed: bool,
) -> (Vec<Vec<PartitionData>>, usize, bool) {
    let mut total = 0usize;
    let mut errors = false;
    let out = wanted
        .iter()
        .map(|partitions| {
            partitions
                .iter()
                .map(|w| {
                    let data = read_one(w, max_bytes, &mut total, read_committed);
                    errors |= data.error_code != 0;
                    data
                })
                .collect()
        })
        .collect();
    (out, total, errors)
}

fn read_one(
    w: &Wanted,
    max_bytes: usize,
    total: &mut usize,
    read_committed: bool,
) -> PartitionData {
    let out = PartitionData::default()
        .with_partition_index(w.index)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(read_committed.then(Vec::new))
        .with_records(Some(Bytes::new()));
    let Some(partition) = &w.partition else {
        return out.with_error_code(w.missing.code());
    };
    if w.leader_epoch > LEADER_EPOCH {
        return out.with_error_code(ResponseError::UnknownLeaderEpoch.code());
    }
    let budget = w.max_bytes.min(max_bytes.saturating_sub(*total));
    let log = partition.log();
    let (start, end) = (log.log_start_offset(), log.log_end_offset());
    let out = out
        .with_high_watermark(end)
        .with_last_stable_offset(end)
        .with_log_start_offset(start);
    if budget == 0 && *total > 0 {
        return out;
    }
    // Only finding the bytes needs the lock; copying them does not hold up appends.
    let plan = log.plan_read(w.offset, budget.max(1));
    drop(log);
    match plan.and_then(ReadPlan::read) {
        // KIP-74: only the first partition with data may exceed the limits, so a consumer is
        // never stuck behind one large batch; later ones wait for the next fetch.
        Ok(records) if *total > 0 && records.len() > budget => out,
        Ok(records) => {
            *total += records.len();
            out.with_records(Some(records))
        }
        Err(e) => out.with_error_code(code_of(e)),
    }
}
