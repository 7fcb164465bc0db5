use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::access::Access;
use super::LEADER_EPOCH;
use crate::broker::Broker;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// Every partition has had one leader epoch, so epoch 0 ends at the log end offset and any
/// later epoch is unknown (Kafka answers UNDEFINED: epoch -1, offset -1). Each topic needs
/// DESCRIBE, unless the principal has CLUSTER_ACTION (a replica).
pub fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let replica = access.quietly_allows(
        Operation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let denied = !replica && !access.topic(Operation::Describe, t.topic.as_str());
            let topic = broker.topics.get(t.topic.as_str());
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let out = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    if denied {
                        return out.with_error_code(ResponseError::TopicAuthorizationFailed.code());
                    }
                    let Some(partition) = topic.as_ref().and_then(|t| t.partition(p.partition))
                    else {
                        return out.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if p.current_leader_epoch > LEADER_EPOCH {
                        return out.with_error_code(ResponseError::UnknownLeaderEpoch.code());
                    }
                    if p.leader_epoch == LEADER_EPOCH {
                        out.with_leader_epoch(LEADER_EPOCH)
                            .with_end_offset(partition.high_watermark())
                    } else {
                        out
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
