//! Kafka refuses any string of a request longer than 32,767 bytes while parsing it (its
//! generated readers check every string field, compact ones included), so such a request never
//! reaches a handler: the connection is closed. The codec here bounds only the non-flexible
//! encodings (an i16 length); flexible versions carry compact strings of any length, which
//! [`check`] refuses after decoding, field by field for every request weir serves. Bytes
//! fields (records, group protocol metadata and assignments) are not strings and are bounded
//! by the frame size and by the group log's record limit instead.

use kafka_protocol::messages::RequestKind;

/// Kafka's limit for a string field (`Short.MAX_VALUE`).
pub const MAX_STRING_BYTES: usize = i16::MAX as usize;

fn one(field: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_STRING_BYTES {
        return Err(format!(
            "string field {field} had invalid length {} (at most {MAX_STRING_BYTES})",
            value.len()
        ));
    }
    Ok(())
}

fn opt(field: &str, value: Option<&str>) -> Result<(), String> {
    value.map_or(Ok(()), |v| one(field, v))
}

fn each<'a>(field: &str, values: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    values.into_iter().try_for_each(|v| one(field, v))
}

/// The first string field of `body` over [`MAX_STRING_BYTES`], as an error message.
pub fn check(body: &RequestKind) -> Result<(), String> {
    match body {
        RequestKind::ApiVersions(r) => {
            one("clientSoftwareName", &r.client_software_name)?;
            one("clientSoftwareVersion", &r.client_software_version)
        }
        RequestKind::Metadata(r) => each(
            "topics.name",
            r.topics
                .iter()
                .flatten()
                .filter_map(|t| t.name.as_ref().map(|n| n.as_str())),
        ),
        RequestKind::Produce(r) => {
            opt(
                "transactionalId",
                r.transactional_id.as_ref().map(|t| t.as_str()),
            )?;
            each(
                "topicData.name",
                r.topic_data.iter().map(|t| t.name.as_str()),
            )
        }
        RequestKind::Fetch(r) => {
            opt("clusterId", r.cluster_id.as_deref())?;
            one("rackId", &r.rack_id)?;
            each("topics.topic", r.topics.iter().map(|t| t.topic.as_str()))?;
            each(
                "forgottenTopicsData.topic",
                r.forgotten_topics_data.iter().map(|t| t.topic.as_str()),
            )
        }
        RequestKind::ListOffsets(r) => {
            each("topics.name", r.topics.iter().map(|t| t.name.as_str()))
        }
        RequestKind::CreateTopics(r) => r.topics.iter().try_for_each(|t| {
            one("topics.name", &t.name)?;
            t.configs.iter().try_for_each(|c| {
                one("configs.name", &c.name)?;
                opt("configs.value", c.value.as_deref())
            })
        }),
        RequestKind::DeleteTopics(r) => {
            each("topicNames", r.topic_names.iter().map(|t| t.as_str()))?;
            each(
                "topics.name",
                r.topics
                    .iter()
                    .filter_map(|t| t.name.as_ref().map(|n| n.as_str())),
            )
        }
        RequestKind::InitProducerId(r) => opt(
            "transactionalId",
            r.transactional_id.as_ref().map(|t| t.as_str()),
        ),
        RequestKind::OffsetForLeaderEpoch(r) => {
            each("topics.topic", r.topics.iter().map(|t| t.topic.as_str()))
        }
        RequestKind::FindCoordinator(r) => {
            one("key", &r.key)?;
            each(
                "coordinatorKeys",
                r.coordinator_keys.iter().map(|k| k.as_str()),
            )
        }
        RequestKind::JoinGroup(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            opt("groupInstanceId", r.group_instance_id.as_deref())?;
            one("protocolType", &r.protocol_type)?;
            each(
                "protocols.name",
                r.protocols.iter().map(|p| p.name.as_str()),
            )?;
            opt("reason", r.reason.as_deref())
        }
        RequestKind::SyncGroup(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            opt("groupInstanceId", r.group_instance_id.as_deref())?;
            opt("protocolType", r.protocol_type.as_deref())?;
            opt("protocolName", r.protocol_name.as_deref())?;
            each(
                "assignments.memberId",
                r.assignments.iter().map(|a| a.member_id.as_str()),
            )
        }
        RequestKind::Heartbeat(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            opt("groupInstanceId", r.group_instance_id.as_deref())
        }
        RequestKind::LeaveGroup(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            r.members.iter().try_for_each(|m| {
                one("members.memberId", &m.member_id)?;
                opt("members.groupInstanceId", m.group_instance_id.as_deref())?;
                opt("members.reason", m.reason.as_deref())
            })
        }
        RequestKind::OffsetCommit(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            opt("groupInstanceId", r.group_instance_id.as_deref())?;
            r.topics.iter().try_for_each(|t| {
                one("topics.name", &t.name)?;
                t.partitions
                    .iter()
                    .try_for_each(|p| opt("committedMetadata", p.committed_metadata.as_deref()))
            })
        }
        RequestKind::OffsetFetch(r) => {
            one("groupId", &r.group_id)?;
            each(
                "topics.name",
                r.topics.iter().flatten().map(|t| t.name.as_str()),
            )?;
            r.groups.iter().try_for_each(|g| {
                one("groups.groupId", &g.group_id)?;
                opt("groups.memberId", g.member_id.as_deref())?;
                each(
                    "groups.topics.name",
                    g.topics.iter().flatten().map(|t| t.name.as_str()),
                )
            })
        }
        RequestKind::DescribeGroups(r) => each("groups", r.groups.iter().map(|g| g.as_str())),
        RequestKind::ListGroups(r) => {
            each("statesFilter", r.states_filter.iter().map(|s| s.as_str()))?;
            each("typesFilter", r.types_filter.iter().map(|s| s.as_str()))
        }
        RequestKind::DeleteGroups(r) => {
            each("groupsNames", r.groups_names.iter().map(|g| g.as_str()))
        }
        RequestKind::OffsetDelete(r) => {
            one("groupId", &r.group_id)?;
            each("topics.name", r.topics.iter().map(|t| t.name.as_str()))
        }
        RequestKind::CreatePartitions(r) => {
            each("topics.name", r.topics.iter().map(|t| t.name.as_str()))
        }
        RequestKind::DescribeConfigs(r) => r.resources.iter().try_for_each(|c| {
            one("resources.resourceName", &c.resource_name)?;
            each(
                "resources.configurationKeys",
                c.configuration_keys.iter().flatten().map(|k| k.as_str()),
            )
        }),
        RequestKind::IncrementalAlterConfigs(r) => r.resources.iter().try_for_each(|c| {
            one("resources.resourceName", &c.resource_name)?;
            c.configs.iter().try_for_each(|v| {
                one("configs.name", &v.name)?;
                opt("configs.value", v.value.as_deref())
            })
        }),
        RequestKind::AlterConfigs(r) => r.resources.iter().try_for_each(|c| {
            one("resources.resourceName", &c.resource_name)?;
            c.configs.iter().try_for_each(|v| {
                one("configs.name", &v.name)?;
                opt("configs.value", v.value.as_deref())
            })
        }),
        RequestKind::DeleteRecords(r) => {
            each("topics.name", r.topics.iter().map(|t| t.name.as_str()))
        }
        RequestKind::DescribeLogDirs(r) => each(
            "topics.topic",
            r.topics.iter().flatten().map(|t| t.topic.as_str()),
        ),
        RequestKind::ConsumerGroupHeartbeat(r) => {
            one("groupId", &r.group_id)?;
            one("memberId", &r.member_id)?;
            opt("instanceId", r.instance_id.as_deref())?;
            opt("rackId", r.rack_id.as_deref())?;
            each(
                "subscribedTopicNames",
                r.subscribed_topic_names
                    .iter()
                    .flatten()
                    .map(|t| t.as_str()),
            )?;
            opt("subscribedTopicRegex", r.subscribed_topic_regex.as_deref())?;
            opt("serverAssignor", r.server_assignor.as_deref())
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            each("groupIds", r.group_ids.iter().map(|g| g.as_str()))
        }
        // No string fields (DescribeCluster), or not served: the versions table refuses them.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::{
        ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, GroupId, OffsetCommitRequest,
        TopicName,
    };
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    #[test]
    fn consumer_group_requests_are_checked_field_by_field() {
        let long = || StrBytes::from_string("x".repeat(MAX_STRING_BYTES + 1));
        let beat = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_subscribed_topic_names(Some(vec![TopicName(StrBytes::from_static_str("t"))]));
        assert!(check(&RequestKind::ConsumerGroupHeartbeat(beat.clone())).is_ok());
        for (field, request) in [
            ("memberId", beat.clone().with_member_id(long())),
            ("instanceId", beat.clone().with_instance_id(Some(long()))),
            ("rackId", beat.clone().with_rack_id(Some(long()))),
            (
                "subscribedTopicNames",
                beat.clone()
                    .with_subscribed_topic_names(Some(vec![TopicName(long())])),
            ),
            (
                "subscribedTopicRegex",
                beat.clone().with_subscribed_topic_regex(Some(long())),
            ),
            (
                "serverAssignor",
                beat.clone().with_server_assignor(Some(long())),
            ),
        ] {
            let err = check(&RequestKind::ConsumerGroupHeartbeat(request)).unwrap_err();
            assert!(err.contains(field), "{field}: {err}");
        }
        let describe = ConsumerGroupDescribeRequest::default().with_group_ids(vec![
            GroupId(StrBytes::from_static_str("g")),
            GroupId(long()),
        ]);
        let err = check(&RequestKind::ConsumerGroupDescribe(describe)).unwrap_err();
        assert!(err.contains("groupIds"), "{err}");
    }

    #[test]
    fn strings_up_to_the_limit_pass_and_longer_ones_are_named() {
        let commit = |len: usize| {
            RequestKind::OffsetCommit(
                OffsetCommitRequest::default()
                    .with_group_id(GroupId(StrBytes::from_string("g".repeat(len)))),
            )
        };
        assert!(check(&commit(MAX_STRING_BYTES)).is_ok());
        let err = check(&commit(MAX_STRING_BYTES + 1)).unwrap_err();
        assert!(err.contains("groupId"), "{err}");
    }
}
