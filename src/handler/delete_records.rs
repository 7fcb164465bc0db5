//! DeleteRecords v0-v2: moves partitions' log start offsets (offset -1 means the high
//! watermark); fetches below the new start get OFFSET_OUT_OF_RANGE.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::access::Access;
use crate::broker::Broker;
use crate::error::code_of;
use crate::partition::DeleteBefore;
use crate::security::acl::Operation;

const HIGH_WATERMARK: i64 = -1;

/// Each topic needs DELETE (TOPIC_AUTHORIZATION_FAILED per partition otherwise, checked
/// before existence).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let denied: Vec<bool> = request
        .topics
        .iter()
        .map(|t| !access.topic(Operation::Delete, t.name.as_str()))
        .collect();
    let b = broker.clone();
    // Deleting segments is file I/O: keep it off the reactor.
    let topics = tokio::task::spawn_blocking(move || {
        request
            .topics
            .into_iter()
            .zip(denied)
            .map(|(t, denied)| {
                let topic = b.topics.get(t.name.as_str());
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let out = DeleteRecordsPartitionResult::default()
                            .with_partition_index(p.partition_index)
                            .with_low_watermark(-1);
                        if denied {
                            return out
                                .with_error_code(ResponseError::TopicAuthorizationFailed.code());
                        }
                        let Some(partition) =
                            topic.as_ref().and_then(|t| t.partition(p.partition_index))
                        else {
                            return out
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                        };
                        let before = if p.offset == HIGH_WATERMARK {
                            DeleteBefore::HighWatermark
                        } else {
                            DeleteBefore::Offset(p.offset)
                        };
                        match partition.delete_records(before) {
                            Ok(low) => out.with_low_watermark(low),
                            Err(e) => out.with_error_code(code_of(e)),
                        }
                    })
                    .collect();
                DeleteRecordsTopicResult::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    DeleteRecordsResponse::default().with_topics(topics)
}
