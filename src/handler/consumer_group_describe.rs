use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, GroupId,
};

use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::coordinator::{DescribedPartitions, GroupError};
use crate::error::code_of;

/// Kafka's "no operations requested" value for AuthorizedOperations.
const NO_OPERATIONS: i32 = i32::MIN;

pub async fn handle(
    broker: &Broker,
    request: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    if !broker.config().group_consumer.enabled {
        let groups = request
            .group_ids
            .into_iter()
            .map(|g| {
                DescribedGroup::default()
                    .with_group_id(g)
                    .with_error_code(ResponseError::UnsupportedVersion.code())
            })
            .collect();
        return ConsumerGroupDescribeResponse::default().with_groups(groups);
    }
    let ids = request.group_ids.iter().map(|g| g.to_string()).collect();
    let groups = broker
        .groups
        .consumer_describe_groups(ids)
        .await
        .into_iter()
        .map(|(id, described)| {
            let out = DescribedGroup::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_authorized_operations(NO_OPERATIONS);
            match described {
                Ok(d) => out
                    .with_group_state(str_bytes(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(str_bytes(d.assignor))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                Member::default()
                                    .with_member_id(str_bytes(m.member_id))
                                    .with_instance_id(m.instance_id.map(str_bytes))
                                    .with_rack_id(m.rack_id.map(str_bytes))
                                    .with_member_epoch(m.member_epoch)
                                    .with_client_id(str_bytes(m.client_id))
                                    .with_client_host(str_bytes(m.client_host))
                                    .with_subscribed_topic_names(
                                        m.subscribed_topic_names
                                            .iter()
                                            .map(|t| topic_name(t))
                                            .collect(),
                                    )
                                    .with_subscribed_topic_regex(
                                        m.subscribed_topic_regex.map(str_bytes),
                                    )
                                    .with_assignment(assignment(m.assignment))
                                    .with_target_assignment(assignment(m.target_assignment))
                                    // 1: the member uses the consumer protocol (KIP-1099).
                                    .with_member_type(1)
                            })
                            .collect(),
                    ),
                Err(e) => {
                    let message = match &e {
                        GroupError::NotConsumerGroup(_) => Some(str_bytes(e.to_string())),
                        _ => None,
                    };
                    out.with_error_code(code_of(e)).with_error_message(message)
                }
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

fn assignment(parts: Vec<DescribedPartitions>) -> Assignment {
    Assignment::default().with_topic_partitions(
        parts
            .into_iter()
            .map(|p| {
                TopicPartitions::default()
                    .with_topic_id(p.topic_id)
                    .with_topic_name(topic_name(&p.topic))
                    .with_partitions(p.partitions)
            })
            .collect(),
    )
}
