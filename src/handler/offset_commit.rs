use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::access::Access;
use super::{opt_string, topic_name};
use crate::broker::Broker;
use crate::coordinator::{CommitPartition, CommitRequest};
use crate::error::code_of;
use crate::security::acl::Operation;

/// Commits to partitions the broker does not have get UNKNOWN_TOPIC_OR_PARTITION, as in Kafka;
/// the rest go to the coordinator together. Needs READ on the group (every partition gets
/// GROUP_AUTHORIZATION_FAILED otherwise) and READ on each topic (checked before existence).
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group_denied = !access.group(Operation::Read, request.group_id.as_str());
    let mut results: BTreeMap<(String, i32), i16> = BTreeMap::new();
    let mut order = Vec::new();
    let mut partitions = Vec::new();
    for topic in &request.topics {
        let denied = if group_denied {
            Some(ResponseError::GroupAuthorizationFailed)
        } else if !access.topic(Operation::Read, topic.name.as_str()) {
            Some(ResponseError::TopicAuthorizationFailed)
        } else {
            None
        };
        let known = broker.topics.get(topic.name.as_str());
        for p in &topic.partitions {
            let key = (topic.name.to_string(), p.partition_index);
            order.push(key.clone());
            if let Some(code) = denied {
                results.insert(key, code.code());
                continue;
            }
            if known
                .as_ref()
                .and_then(|t| t.partition(p.partition_index))
                .is_none()
            {
                results.insert(key, ResponseError::UnknownTopicOrPartition.code());
                continue;
            }
            partitions.push(CommitPartition {
                topic: key.0,
                partition: key.1,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: opt_string(&p.committed_metadata),
            });
        }
    }
    if !partitions.is_empty() {
        let commit = CommitRequest {
            group_id: request.group_id.to_string(),
            generation_id: request.generation_id_or_member_epoch,
            member_id: request.member_id.to_string(),
            group_instance_id: opt_string(&request.group_instance_id),
            partitions,
        };
        for r in broker.groups.commit_offsets(commit).await {
            results.insert(
                (r.topic, r.partition),
                r.result.err().map(code_of).unwrap_or(0),
            );
        }
    }
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    for (topic, partition) in order {
        let code = results
            .get(&(topic.clone(), partition))
            .copied()
            .unwrap_or(0);
        let entry = OffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(code);
        match topics.last_mut() {
            Some(t) if t.name.as_str() == topic => t.partitions.push(entry),
            _ => topics.push(
                OffsetCommitResponseTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}
