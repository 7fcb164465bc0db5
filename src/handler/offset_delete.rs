use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::topic_name;
use crate::broker::Broker;
use crate::error::code_of;
use crate::security::acl::Operation;

/// Needs DELETE on the group, and READ on each topic (TOPIC_AUTHORIZATION_FAILED for its
/// partitions otherwise).
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    if !access.group(Operation::Delete, request.group_id.as_str()) {
        return OffsetDeleteResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    let (allowed, denied): (Vec<_>, Vec<_>) = request
        .topics
        .iter()
        .partition(|t| access.topic(Operation::Read, t.name.as_str()));
    for t in denied {
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                OffsetDeleteResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
            })
            .collect();
        topics.push(
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions),
        );
    }
    if allowed.is_empty() {
        return OffsetDeleteResponse::default().with_topics(topics);
    }
    let wanted = allowed
        .into_iter()
        .map(|t| {
            let partitions = t.partitions.iter().map(|p| p.partition_index).collect();
            (t.name.to_string(), partitions)
        })
        .collect();
    let results = match broker
        .groups
        .delete_offsets(request.group_id.as_str(), wanted)
        .await
    {
        Ok(results) => results,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(code_of(e)),
    };
    for r in results {
        let p = OffsetDeleteResponsePartition::default()
            .with_partition_index(r.partition)
            .with_error_code(r.result.err().map(code_of).unwrap_or(0));
        match topics.last_mut() {
            Some(t) if t.name.as_str() == r.topic => t.partitions.push(p),
            _ => topics.push(
                OffsetDeleteResponseTopic::default()
                    .with_name(topic_name(&r.topic))
                    .with_partitions(vec![p]),
            ),
        }
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
