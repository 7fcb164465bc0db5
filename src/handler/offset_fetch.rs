use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};

use super::access::Access;
use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::coordinator::FetchedOffset;
use crate::error::code_of;
use crate::security::acl::{Operation, ResourceType};

type Wanted = Option<Vec<(String, Vec<i32>)>>;
/// Requested topics the principal may not DESCRIBE, with their partitions.
type Denied = Vec<(String, Vec<i32>)>;

/// v0-v7 ask for one group at the top level; v8+ for several in `groups`.
///
/// Each group needs DESCRIBE (GROUP_AUTHORIZATION_FAILED for the group otherwise). Named topics
/// the principal may not DESCRIBE get TOPIC_AUTHORIZATION_FAILED per partition; asked for all
/// topics, the group's offsets of such topics are left out, as in Kafka.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    if version < 8 {
        let wanted: Wanted = request.topics.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        if !access.group(Operation::Describe, request.group_id.as_str()) {
            return group_denied(version, wanted);
        }
        let (wanted, denied) = split_denied(access, wanted);
        let (topics, code) = fetch(
            broker,
            access,
            request.group_id.as_str(),
            wanted,
            None,
            request.require_stable,
        )
        .await;
        let mut topics: Vec<OffsetFetchResponseTopic> = topics
            .into_iter()
            .map(|(topic, offsets)| {
                let partitions = offsets
                    .into_iter()
                    .map(|o| {
                        OffsetFetchResponsePartition::default()
                            .with_error_code(unstable_code(&o))
                            .with_partition_index(o.partition)
                            .with_committed_offset(o.offset)
                            .with_committed_leader_epoch(o.leader_epoch)
                            .with_metadata(Some(str_bytes(o.metadata)))
                    })
                    .collect();
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            })
            .collect();
        if code == 0 {
            topics.extend(denied.into_iter().map(|(topic, partitions)| {
                let partitions = partitions
                    .into_iter()
                    .map(|p| {
                        OffsetFetchResponsePartition::default()
                            .with_partition_index(p)
                            .with_committed_offset(-1)
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    })
                    .collect();
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            }));
        }
        // The top-level error code exists from v2 on.
        let code = if version >= 2 { code } else { 0 };
        return OffsetFetchResponse::default()
            .with_topics(topics)
            .with_error_code(code);
    }
    let mut groups = Vec::with_capacity(request.groups.len());
    for g in request.groups {
        let wanted: Wanted = g.topics.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        // v9+: a consumer-group member names itself and its epoch.
        let member = g
            .member_id
            .as_ref()
            .map(|id| (id.to_string(), g.member_epoch));
        if !access.group(Operation::Describe, g.group_id.as_str()) {
            groups.push(
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code()),
            );
            continue;
        }
        let (wanted, denied) = split_denied(access, wanted);
        let (topics, code) = fetch(
            broker,
            access,
            g.group_id.as_str(),
            wanted,
            member,
            request.require_stable,
        )
        .await;
        let mut topics: Vec<OffsetFetchResponseTopics> = topics
            .into_iter()
            .map(|(topic, offsets)| {
                let partitions = offsets
                    .into_iter()
                    .map(|o| {
                        OffsetFetchResponsePartitions::default()
                            .with_error_code(unstable_code(&o))
                            .with_partition_index(o.partition)
                            .with_committed_offset(o.offset)
                            .with_committed_leader_epoch(o.leader_epoch)
                            .with_metadata(Some(str_bytes(o.metadata)))
                    })
                    .collect();
                OffsetFetchResponseTopics::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            })
            .collect();
        if code == 0 {
            topics.extend(denied.into_iter().map(|(topic, partitions)| {
                let partitions = partitions
                    .into_iter()
                    .map(|p| {
                        OffsetFetchResponsePartitions::default()
                            .with_partition_index(p)
                            .with_committed_offset(-1)
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                    })
                    .collect();
                OffsetFetchResponseTopics::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            }));
        }
        groups.push(
            OffsetFetchResponseGroup::default()
                .with_group_id(g.group_id)
                .with_topics(topics)
                .with_error_code(code),
        );
    }
    OffsetFetchResponse::default().with_groups(groups)
}

/// v0-v7 answer to a principal without DESCRIBE on the group: the top-level error from v2;
/// in v1, which has none, the error of every requested partition (as Kafka answers).
fn group_denied(version: i16, wanted: Wanted) -> OffsetFetchResponse {
    let code = ResponseError::GroupAuthorizationFailed.code();
    if version >= 2 {
        return OffsetFetchResponse::default().with_error_code(code);
    }
    let topics = wanted
        .unwrap_or_default()
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(-1)
                        .with_metadata(Some(str_bytes("")))
                        .with_error_code(code)
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(&topic))
                .with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

/// Takes the topics the principal may not DESCRIBE out of a named list.
fn split_denied(access: &Access<'_>, wanted: Wanted) -> (Wanted, Denied) {
    match wanted {
        None => (None, Vec::new()),
        Some(list) => {
            let (allowed, denied) = list
                .into_iter()
                .partition(|(topic, _)| access.topic(Operation::Describe, topic));
            (Some(allowed), denied)
        }
    }
}

/// UNSTABLE_OFFSET_COMMIT for a partition whose offset an open transaction is committing
/// (asked with `require_stable`, v7+), else no error.
fn unstable_code(o: &FetchedOffset) -> i16 {
    if o.unstable {
        ResponseError::UnstableOffsetCommit.code()
    } else {
        0
    }
}

/// The group's committed offsets grouped by topic (in the coordinator's order), and the
/// group-level error code. Asked for every topic, those the principal may not DESCRIBE are
/// left out.
async fn fetch(
    broker: &Broker,
    access: &Access<'_>,
    group: &str,
    wanted: Wanted,
    member: Option<(String, i32)>,
    require_stable: bool,
) -> (Vec<(String, Vec<FetchedOffset>)>, i16) {
    let every_topic = wanted.is_none();
    let offsets = match broker
        .groups
        .fetch_member_offsets(group, wanted, member, require_stable)
        .await
    {
        Ok(offsets) => offsets,
        Err(e) => return (Vec::new(), code_of(e)),
    };
    let mut topics: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
    for o in offsets {
        if every_topic && !access.quietly_allows(Operation::Describe, ResourceType::Topic, &o.topic)
        {
            continue;
        }
        match topics.last_mut() {
            Some((topic, list)) if *topic == o.topic => list.push(o),
            _ => topics.push((o.topic.clone(), vec![o])),
        }
    }
    (topics, 0)
}
