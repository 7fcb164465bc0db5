//! How a consumer group is shown: ConsumerGroupDescribe, DescribeGroups (the classic view
//! Kafka 4.x gives of a consumer group: protocol type "consumer", the assignor as protocol, and
//! each member's subscription and assignment encoded as the ConsumerProtocol would), and
//! ListGroups.

use bytes::Bytes;

use super::api::{ConsumerGroupDescription, ConsumerMemberDescription, DescribedPartitions};
use super::assignor::Assignment;
use super::ConsumerGroup;
use crate::coordinator::api::{GroupDescription, GroupListing, MemberDescription};
use crate::coordinator::subscription::{encode_assignment, encode_subscription};

impl ConsumerGroup {
    fn described(&self, a: &Assignment) -> Vec<DescribedPartitions> {
        a.iter()
            .map(|(id, parts)| DescribedPartitions {
                topic_id: *id,
                topic: self.topics.name_of(id).unwrap_or_default().to_string(),
                partitions: parts.iter().copied().collect(),
            })
            .collect()
    }

    /// The ConsumerGroupDescribe view.
    pub fn describe(&self) -> ConsumerGroupDescription {
        ConsumerGroupDescription {
            group_id: self.id.clone(),
            state: self.state().as_str(),
            group_epoch: self.epoch,
            assignment_epoch: self.assignment_epoch,
            assignor: self.assignor().name().to_string(),
            members: self
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
                    subscribed_topic_regex: m.subscribed_topic_regex.clone(),
                    assignment: self.described(&m.assigned),
                    target_assignment: self
                        .targets
                        .get(&m.member_id)
                        .map(|t| self.described(t))
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// The DescribeGroups view.
    pub fn describe_classic(&self) -> GroupDescription {
        let names = |a: &Assignment| -> Vec<(String, Vec<i32>)> {
            a.iter()
                .filter_map(|(id, parts)| {
                    let name = self.topics.name_of(id)?;
                    Some((name.to_string(), parts.iter().copied().collect()))
                })
                .collect()
        };
        GroupDescription {
            group_id: self.id.clone(),
            state: self.state().as_str(),
            protocol_type: "consumer".to_string(),
            protocol_data: self.assignor().name().to_string(),
            members: self
                .members
                .values()
                .map(|m| {
                    let topics: Vec<String> = self.subscribed_names(m).into_iter().collect();
                    MemberDescription {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        metadata: encode_subscription(&topics),
                        assignment: Bytes::from(encode_assignment(&names(&m.assigned))),
                    }
                })
                .collect(),
        }
    }

    /// The ListGroups view.
    pub fn listing(&self) -> GroupListing {
        GroupListing {
            group_id: self.id.clone(),
            protocol_type: "consumer".to_string(),
            state: self.state().as_str(),
            group_type: "consumer",
        }
    }
}
