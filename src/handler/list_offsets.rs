use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::LEADER_EPOCH;
use crate::broker::Broker;
use crate::error::code_of;
use crate::partition::{Isolation, OffsetQuery};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    // The field exists from v2 on; earlier requests read everything.
    let isolation = Isolation::from_wire(request.isolation_level);
    let b = broker.clone();
    // Timestamp lookups read the time index and segment files: keep them off the reactor.
    let topics = tokio::task::spawn_blocking(move || {
        request
            .topics
            .into_iter()
            .map(|t| {
                let topic = b.topics.get(t.name.as_str());
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let out = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_timestamp(-1)
                            .with_offset(-1);
                        let Some(partition) =
                            topic.as_ref().and_then(|t| t.partition(p.partition_index))
                        else {
                            return out
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                        };
                        if p.current_leader_epoch > LEADER_EPOCH {
                            return out.with_error_code(ResponseError::UnknownLeaderEpoch.code());
                        }
                        let query = match p.timestamp {
                            LATEST => OffsetQuery::Latest,
                            EARLIEST | EARLIEST_LOCAL => OffsetQuery::Earliest,
                            MAX_TIMESTAMP => OffsetQuery::MaxTimestamp,
                            ts if ts >= 0 => OffsetQuery::Timestamp(ts),
                            LATEST_TIERED => return found(out, -1, -1, version),
                            _ => return out.with_error_code(ResponseError::InvalidRequest.code()),
                        };
                        match partition.offset_for(query, isolation) {
                            Ok(Some(hit)) => found(out, hit.timestamp, hit.offset, version),
                            Ok(None) => out,
                            Err(e) => out.with_error_code(code_of(e)),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    ListOffsetsResponse::default().with_topics(topics)
}

/// `out` answering with `offset` (and `timestamp`, -1 when not found by time).
fn found(
    out: ListOffsetsPartitionResponse,
    timestamp: i64,
    offset: i64,
    version: i16,
) -> ListOffsetsPartitionResponse {
    out.with_timestamp(timestamp)
        .with_offset(offset)
        // The field exists from v4 on; earlier encoders refuse a set value.
        .with_leader_epoch(if version >= 4 { LEADER_EPOCH } else { -1 })
}
