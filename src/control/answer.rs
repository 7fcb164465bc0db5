//! The wire side of fault injection: an API's answer carrying an injected error code, the
//! throttle time set on any answer, and the error codes an answer carries (for capture).
//!
//! An injected error answers the whole request without handling it: nothing is written,
//! committed or changed. Where the code goes follows the API's own error fields:
//!
//! | scope | where |
//! |---|---|
//! | `partitions` | every partition of the request (Produce, Fetch, ListOffsets, OffsetCommit, OffsetFetch, OffsetDelete, DeleteRecords, OffsetForLeaderEpoch), or every topic (Metadata, CreateTopics, DeleteTopics, CreatePartitions), group (DescribeGroups, DeleteGroups, ConsumerGroupDescribe) or resource (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs) |
//! | `top_level` | the response's own error field (Fetch v7+, OffsetFetch v2+, OffsetDelete, FindCoordinator (each key at v4+), JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ConsumerGroupHeartbeat, InitProducerId, ListGroups, DescribeCluster, DescribeLogDirs v3+, ApiVersions) |
//! | `auto` | `partitions` where the API has them, else `top_level` |
//!
//! A version without the chosen field gets the code in the other place. Metadata is the one
//! API whose answer is the real one with the error set on topics (on the rule's topic when it
//! names one, or on the rule's partition when it names one), so that clients still learn the
//! brokers. An API not listed here (added after this table) takes no error rules.

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::rules::Scope;
use crate::protocol::Request;

/// Which error places an API has: (top-level, per entity).
fn places(api: ApiKey) -> Option<(bool, bool)> {
    use ApiKey as A;
    Some(match api {
        A::Produce
        | A::ListOffsets
        | A::Metadata
        | A::OffsetCommit
        | A::CreateTopics
        | A::DeleteTopics
        | A::DescribeGroups
        | A::DeleteGroups
        | A::CreatePartitions
        | A::DescribeConfigs
        | A::AlterConfigs
        | A::IncrementalAlterConfigs
        | A::DeleteRecords
        | A::OffsetForLeaderEpoch
        | A::ConsumerGroupDescribe => (false, true),
        A::Fetch | A::OffsetFetch | A::OffsetDelete => (true, true),
        A::FindCoordinator
        | A::JoinGroup
        | A::SyncGroup
        | A::Heartbeat
        | A::LeaveGroup
        | A::InitProducerId
        | A::ListGroups
        | A::DescribeCluster
        | A::DescribeLogDirs
        | A::ApiVersions
        | A::ConsumerGroupHeartbeat => (true, false),
        _ => return None,
    })
}

/// Whether an error rule with `scope` can answer `api`.
pub fn check_scope(api: ApiKey, scope: Scope) -> Result<(), String> {
    let Some((top, entities)) = places(api) else {
        return Err(format!(
            "{api:?} takes no error rules (use latency_ms, close or swallow)"
        ));
    };
    match scope {
        Scope::TopLevel if !top => Err(format!(
            "{api:?} has no top-level error field: use scope partitions (or auto)"
        )),
        Scope::Partitions if !entities => Err(format!(
            "{api:?} has no per-partition errors: use scope top_level (or auto)"
        )),
        _ => Ok(()),
    }
}

/// Whether `scope` means the top-level field for this request.
fn top_level(api: ApiKey, version: i16, scope: Scope) -> bool {
    let Some((top, entities)) = places(api) else {
        return false;
    };
    let top = top
        && match api {
            ApiKey::Fetch => version >= 7,
            ApiKey::OffsetFetch => version >= 2,
            ApiKey::DescribeLogDirs => version >= 3,
            _ => true,
        };
    match scope {
        Scope::TopLevel => top || !entities,
        Scope::Partitions | Scope::Auto => !entities,
    }
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

/// The answer to `request` carrying `code`, or `None` for an API with no error table (and
/// for Metadata, which [`metadata_errors`] answers).
pub fn error_response(request: &Request, code: i16, scope: Scope) -> Option<ResponseKind> {
    if request.api_key == ApiKey::Produce && request.version < 3 {
        // Message formats v0/v1 are refused by the handler, which answers them itself.
        return None;
    }
    let top = top_level(request.api_key, request.version, scope);
    let top_code = if top { code } else { 0 };
    let part_code = if top { 0 } else { code };
    Some(match &request.body {
        RequestKind::Produce(r) => ResponseKind::Produce(ProduceResponse::default().with_responses(
            r.topic_data
                .iter()
                .map(|t| {
                    produce_response::TopicProduceResponse::default()
                        .with_name(t.name.clone())
                        .with_topic_id(t.topic_id)
                        .with_partition_responses(
                            t.partition_data
                                .iter()
                                .map(|p| {
                                    produce_response::PartitionProduceResponse::default()
                                        .with_index(p.index)
                                        .with_error_code(code)
                                        .with_base_offset(-1)
                                        .with_log_append_time_ms(-1)
                                        .with_log_start_offset(-1)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )),
        RequestKind::Fetch(r) => ResponseKind::Fetch(
            FetchResponse::default()
                .with_error_code(top_code)
                .with_responses(if top {
                    Vec::new()
                } else {
                    r.topics
                        .iter()
                        .map(|t| {
                            fetch_response::FetchableTopicResponse::default()
                                .with_topic(t.topic.clone())
                                .with_topic_id(t.topic_id)
                                .with_partitions(
                                    t.partitions
                                        .iter()
                                        .map(|p| {
                                            fetch_response::PartitionData::default()
                                                .with_partition_index(p.partition)
                                                .with_error_code(part_code)
                                                .with_high_watermark(-1)
                                                .with_last_stable_offset(-1)
                                                .with_log_start_offset(-1)
                                                .with_preferred_read_replica(BrokerId(-1))
                                                .with_records(Some(Bytes::new()))
                                        })
                                        .collect(),
                                )
                        })
                        .collect()
                }),
        ),
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(
            ListOffsetsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        list_offsets_response::ListOffsetsTopicResponse::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        list_offsets_response::ListOffsetsPartitionResponse::default()
                                            .with_partition_index(p.partition_index)
                                            .with_error_code(code)
                                            .with_timestamp(-1)
                                            .with_offset(-1)
                                            .with_leader_epoch(-1)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(
            OffsetCommitResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        offset_commit_response::OffsetCommitResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        offset_commit_response::OffsetCommitResponsePartition::default()
                                            .with_partition_index(p.partition_index)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offset_fetch(r, request.version, top_code, part_code)),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(if request.version < 4 {
                FindCoordinatorResponse::default()
                    .with_error_code(code)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
            } else {
                FindCoordinatorResponse::default().with_coordinators(
                    r.coordinator_keys
                        .iter()
                        .map(|key| {
                            find_coordinator_response::Coordinator::default()
                                .with_key(key.clone())
                                .with_error_code(code)
                                .with_node_id(BrokerId(-1))
                                .with_port(-1)
                        })
                        .collect(),
                )
            })
        }
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(
            JoinGroupResponse::default()
                .with_error_code(code)
                .with_generation_id(-1)
                .with_member_id(r.member_id.clone()),
        ),
        RequestKind::SyncGroup(_) => {
            ResponseKind::SyncGroup(SyncGroupResponse::default().with_error_code(code))
        }
        RequestKind::Heartbeat(_) => {
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(code))
        }
        RequestKind::LeaveGroup(_) => {
            ResponseKind::LeaveGroup(LeaveGroupResponse::default().with_error_code(code))
        }
        RequestKind::ConsumerGroupHeartbeat(r) => ResponseKind::ConsumerGroupHeartbeat(
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(code)
                .with_member_id(Some(r.member_id.clone()))
                .with_member_epoch(r.member_epoch),
        ),
        RequestKind::ConsumerGroupDescribe(r) => ResponseKind::ConsumerGroupDescribe(
            ConsumerGroupDescribeResponse::default().with_groups(
                r.group_ids
                    .iter()
                    .map(|g| {
                        consumer_group_describe_response::DescribedGroup::default()
                            .with_group_id(g.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        RequestKind::InitProducerId(_) => ResponseKind::InitProducerId(
            InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ),
        RequestKind::ListGroups(_) => {
            ResponseKind::ListGroups(ListGroupsResponse::default().with_error_code(code))
        }
        RequestKind::DescribeCluster(_) => ResponseKind::DescribeCluster(
            DescribeClusterResponse::default()
                .with_error_code(code)
                .with_controller_id(BrokerId(-1)),
        ),
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(
            ApiVersionsResponse::default()
                .with_error_code(code)
                .with_api_keys(crate::protocol::supported_api_versions()),
        ),
        RequestKind::DescribeLogDirs(_) => ResponseKind::DescribeLogDirs(if request.version >= 3 {
            DescribeLogDirsResponse::default().with_error_code(code)
        } else {
            DescribeLogDirsResponse::default().with_results(vec![
                describe_log_dirs_response::DescribeLogDirsResult::default()
                    .with_error_code(code)
                    .with_total_bytes(-1)
                    .with_usable_bytes(-1),
            ])
        }),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(
            CreateTopicsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        create_topics_response::CreatableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code)
                            .with_num_partitions(-1)
                            .with_replication_factor(-1)
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(
            DeleteTopicsResponse::default().with_responses(if request.version >= 6 {
                r.topics
                    .iter()
                    .map(|t| {
                        delete_topics_response::DeletableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_error_code(code)
                    })
                    .collect()
            } else {
                r.topic_names
                    .iter()
                    .map(|name| {
                        delete_topics_response::DeletableTopicResult::default()
                            .with_name(Some(name.clone()))
                            .with_error_code(code)
                    })
                    .collect()
            }),
        ),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(
            DescribeGroupsResponse::default().with_groups(
                r.groups
                    .iter()
                    .map(|g| {
                        describe_groups_response::DescribedGroup::default()
                            .with_group_id(g.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteGroups(r) => ResponseKind::DeleteGroups(
            DeleteGroupsResponse::default().with_results(
                r.groups_names
                    .iter()
                    .map(|g| {
                        delete_groups_response::DeletableGroupResult::default()
                            .with_group_id(g.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        RequestKind::OffsetDelete(r) => ResponseKind::OffsetDelete(
            OffsetDeleteResponse::default()
                .with_error_code(top_code)
                .with_topics(if top {
                    Vec::new()
                } else {
                    r.topics
                        .iter()
                        .map(|t| {
                            offset_delete_response::OffsetDeleteResponseTopic::default()
                                .with_name(t.name.clone())
                                .with_partitions(
                                    t.partitions
                                        .iter()
                                        .map(|p| {
                                            offset_delete_response::OffsetDeleteResponsePartition::default()
                                                .with_partition_index(p.partition_index)
                                                .with_error_code(part_code)
                                        })
                                        .collect(),
                                )
                        })
                        .collect()
                }),
        ),
        RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(
            CreatePartitionsResponse::default().with_results(
                r.topics
                    .iter()
                    .map(|t| {
                        create_partitions_response::CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(
            DescribeConfigsResponse::default().with_results(
                r.resources
                    .iter()
                    .map(|res| {
                        describe_configs_response::DescribeConfigsResult::default()
                            .with_error_code(code)
                            .with_resource_type(res.resource_type)
                            .with_resource_name(res.resource_name.clone())
                    })
                    .collect(),
            ),
        ),
        RequestKind::AlterConfigs(r) => ResponseKind::AlterConfigs(
            AlterConfigsResponse::default().with_responses(
                r.resources
                    .iter()
                    .map(|res| {
                        alter_configs_response::AlterConfigsResourceResponse::default()
                            .with_error_code(code)
                            .with_resource_type(res.resource_type)
                            .with_resource_name(res.resource_name.clone())
                    })
                    .collect(),
            ),
        ),
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            IncrementalAlterConfigsResponse::default().with_responses(
                r.resources
                    .iter()
                    .map(|res| {
                        incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                            .with_error_code(code)
                            .with_resource_type(res.resource_type)
                            .with_resource_name(res.resource_name.clone())
                    })
                    .collect(),
            ),
        ),
        RequestKind::DeleteRecords(r) => ResponseKind::DeleteRecords(
            DeleteRecordsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        delete_records_response::DeleteRecordsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        delete_records_response::DeleteRecordsPartitionResult::default()
                                            .with_partition_index(p.partition_index)
                                            .with_low_watermark(-1)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        RequestKind::OffsetForLeaderEpoch(r) => ResponseKind::OffsetForLeaderEpoch(
            OffsetForLeaderEpochResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                            .with_topic(t.topic.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        offset_for_leader_epoch_response::EpochEndOffset::default()
                                            .with_partition(p.partition)
                                            .with_error_code(code)
                                            .with_leader_epoch(-1)
                                            .with_end_offset(-1)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        _ => return None,
    })
}

fn offset_fetch(r: &OffsetFetchRequest, version: i16, top: i16, part: i16) -> OffsetFetchResponse {
    let partition = |p: i32| {
        offset_fetch_response::OffsetFetchResponsePartition::default()
            .with_partition_index(p)
            .with_committed_offset(-1)
            .with_committed_leader_epoch(-1)
            .with_metadata(Some(s("")))
            .with_error_code(part)
    };
    if version >= 8 {
        let groups = r
            .groups
            .iter()
            .map(|g| {
                let topics = g
                    .topics
                    .iter()
                    .flatten()
                    .filter(|_| part != 0)
                    .map(|t| {
                        offset_fetch_response::OffsetFetchResponseTopics::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_partitions(
                                t.partition_indexes
                                    .iter()
                                    .map(|p| {
                                        offset_fetch_response::OffsetFetchResponsePartitions::default()
                                            .with_partition_index(*p)
                                            .with_committed_offset(-1)
                                            .with_committed_leader_epoch(-1)
                                            .with_metadata(Some(s("")))
                                            .with_error_code(part)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                offset_fetch_response::OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(top)
                    .with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let topics = r
        .topics
        .iter()
        .flatten()
        .filter(|_| part != 0)
        .map(|t| {
            offset_fetch_response::OffsetFetchResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(t.partition_indexes.iter().map(|p| partition(*p)).collect())
        })
        .collect();
    OffsetFetchResponse::default()
        .with_error_code(top)
        .with_topics(topics)
}

/// Sets `code` on Metadata's topics: on `partition` of the matching topics when given (the
/// partition's leader then unknown), otherwise on the matching topics themselves (their
/// partitions then not listed, as Kafka lists none for a topic in error).
pub fn metadata_errors(
    response: &mut MetadataResponse,
    code: i16,
    topic: Option<&str>,
    partition: Option<i32>,
) {
    for t in &mut response.topics {
        let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
        if topic.is_some_and(|wanted| wanted != name) {
            continue;
        }
        match partition {
            Some(index) => {
                for p in t
                    .partitions
                    .iter_mut()
                    .filter(|p| p.partition_index == index)
                {
                    p.error_code = code;
                    p.leader_id = BrokerId(-1);
                }
            }
            None => {
                t.error_code = code;
                t.partitions.clear();
            }
        }
    }
}

/// Sets throttle_time_ms on any answer that has it (every API weir serves; Produce and Fetch
/// from v1).
pub fn set_throttle(response: &mut ResponseKind, ms: i32) {
    let field = match response {
        ResponseKind::Produce(r) => &mut r.throttle_time_ms,
        ResponseKind::Fetch(r) => &mut r.throttle_time_ms,
        ResponseKind::ListOffsets(r) => &mut r.throttle_time_ms,
        ResponseKind::Metadata(r) => &mut r.throttle_time_ms,
        ResponseKind::OffsetCommit(r) => &mut r.throttle_time_ms,
        ResponseKind::OffsetFetch(r) => &mut r.throttle_time_ms,
        ResponseKind::FindCoordinator(r) => &mut r.throttle_time_ms,
        ResponseKind::JoinGroup(r) => &mut r.throttle_time_ms,
        ResponseKind::SyncGroup(r) => &mut r.throttle_time_ms,
        ResponseKind::Heartbeat(r) => &mut r.throttle_time_ms,
        ResponseKind::LeaveGroup(r) => &mut r.throttle_time_ms,
        ResponseKind::ConsumerGroupHeartbeat(r) => &mut r.throttle_time_ms,
        ResponseKind::ConsumerGroupDescribe(r) => &mut r.throttle_time_ms,
        ResponseKind::InitProducerId(r) => &mut r.throttle_time_ms,
        ResponseKind::ListGroups(r) => &mut r.throttle_time_ms,
        ResponseKind::DescribeCluster(r) => &mut r.throttle_time_ms,
        ResponseKind::ApiVersions(r) => &mut r.throttle_time_ms,
        ResponseKind::DescribeLogDirs(r) => &mut r.throttle_time_ms,
        ResponseKind::CreateTopics(r) => &mut r.throttle_time_ms,
        ResponseKind::DeleteTopics(r) => &mut r.throttle_time_ms,
        ResponseKind::DescribeGroups(r) => &mut r.throttle_time_ms,
        ResponseKind::DeleteGroups(r) => &mut r.throttle_time_ms,
        ResponseKind::OffsetDelete(r) => &mut r.throttle_time_ms,
        ResponseKind::CreatePartitions(r) => &mut r.throttle_time_ms,
        ResponseKind::DescribeConfigs(r) => &mut r.throttle_time_ms,
        ResponseKind::AlterConfigs(r) => &mut r.throttle_time_ms,
        ResponseKind::IncrementalAlterConfigs(r) => &mut r.throttle_time_ms,
        ResponseKind::DeleteRecords(r) => &mut r.throttle_time_ms,
        ResponseKind::OffsetForLeaderEpoch(r) => &mut r.throttle_time_ms,
        _ => return,
    };
    *field = (*field).max(ms);
}

/// The error codes an answer carries: its top-level code and each non-zero per-partition
/// (topic, partition) code; topic- or group-level codes are listed with partition -1.
pub fn errors(response: &ResponseKind) -> (i16, Vec<(String, i32, i16)>) {
    let mut parts = Vec::new();
    let mut add = |topic: &str, partition: i32, code: i16| {
        if code != 0 {
            parts.push((topic.to_string(), partition, code));
        }
    };
    let top = match response {
        ResponseKind::Produce(r) => {
            for t in &r.responses {
                for p in &t.partition_responses {
                    add(&t.name, p.index, p.error_code);
                }
            }
            0
        }
        ResponseKind::Fetch(r) => {
            for t in &r.responses {
                for p in &t.partitions {
                    add(&t.topic, p.partition_index, p.error_code);
                }
            }
            r.error_code
        }
        ResponseKind::ListOffsets(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.name, p.partition_index, p.error_code);
                }
            }
            0
        }
        ResponseKind::Metadata(r) => {
            for t in &r.topics {
                let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
                add(name, -1, t.error_code);
                for p in &t.partitions {
                    add(name, p.partition_index, p.error_code);
                }
            }
            0
        }
        ResponseKind::OffsetCommit(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.name, p.partition_index, p.error_code);
                }
            }
            0
        }
        ResponseKind::OffsetFetch(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.name, p.partition_index, p.error_code);
                }
            }
            let mut top = r.error_code;
            for g in &r.groups {
                if top == 0 {
                    top = g.error_code;
                }
                for t in &g.topics {
                    for p in &t.partitions {
                        add(&t.name, p.partition_index, p.error_code);
                    }
                }
            }
            top
        }
        ResponseKind::FindCoordinator(r) => r
            .coordinators
            .iter()
            .map(|c| c.error_code)
            .find(|c| *c != 0)
            .unwrap_or(r.error_code),
        ResponseKind::JoinGroup(r) => r.error_code,
        ResponseKind::SyncGroup(r) => r.error_code,
        ResponseKind::Heartbeat(r) => r.error_code,
        ResponseKind::LeaveGroup(r) => r.error_code,
        ResponseKind::ConsumerGroupHeartbeat(r) => r.error_code,
        ResponseKind::ConsumerGroupDescribe(r) => r
            .groups
            .iter()
            .map(|g| g.error_code)
            .find(|c| *c != 0)
            .unwrap_or(0),
        ResponseKind::InitProducerId(r) => r.error_code,
        ResponseKind::ListGroups(r) => r.error_code,
        ResponseKind::DescribeCluster(r) => r.error_code,
        ResponseKind::ApiVersions(r) => r.error_code,
        ResponseKind::DescribeLogDirs(r) => r.error_code,
        ResponseKind::CreateTopics(r) => {
            for t in &r.topics {
                add(&t.name, -1, t.error_code);
            }
            0
        }
        ResponseKind::DeleteTopics(r) => {
            for t in &r.responses {
                let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or_default();
                add(name, -1, t.error_code);
            }
            0
        }
        ResponseKind::DescribeGroups(r) => r
            .groups
            .iter()
            .map(|g| g.error_code)
            .find(|c| *c != 0)
            .unwrap_or(0),
        ResponseKind::DeleteGroups(r) => r
            .results
            .iter()
            .map(|g| g.error_code)
            .find(|c| *c != 0)
            .unwrap_or(0),
        ResponseKind::OffsetDelete(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.name, p.partition_index, p.error_code);
                }
            }
            r.error_code
        }
        ResponseKind::CreatePartitions(r) => {
            for t in &r.results {
                add(&t.name, -1, t.error_code);
            }
            0
        }
        ResponseKind::DeleteRecords(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.name, p.partition_index, p.error_code);
                }
            }
            0
        }
        ResponseKind::OffsetForLeaderEpoch(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    add(&t.topic, p.partition, p.error_code);
                }
            }
            0
        }
        _ => 0,
    };
    (top, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{encode_response, versions, ResponseBuffer};
    use kafka_protocol::messages::RequestHeader;

    fn request(api: ApiKey, version: i16, body: RequestKind) -> Request {
        Request {
            header: RequestHeader::default(),
            api_key: api,
            version,
            body,
        }
    }

    fn produce() -> RequestKind {
        RequestKind::Produce(ProduceRequest::default().with_topic_data(vec![
            produce_request::TopicProduceData::default()
                .with_name(TopicName(s("t")))
                .with_partition_data(vec![
                    produce_request::PartitionProduceData::default().with_index(0),
                    produce_request::PartitionProduceData::default().with_index(1),
                ]),
        ]))
    }

    #[test]
    fn produce_errors_go_to_every_partition() {
        let r = request(ApiKey::Produce, 9, produce());
        let answer = error_response(&r, 6, Scope::Auto).unwrap();
        let (top, parts) = errors(&answer);
        assert_eq!(top, 0);
        assert_eq!(parts, vec![("t".into(), 0, 6), ("t".into(), 1, 6)]);
    }

    #[test]
    fn fetch_errors_go_top_level_or_per_partition() {
        let body = || {
            RequestKind::Fetch(FetchRequest::default().with_topics(vec![
                fetch_request::FetchTopic::default()
                    .with_topic(TopicName(s("t")))
                    .with_partitions(vec![fetch_request::FetchPartition::default()]),
            ]))
        };
        let top = error_response(&request(ApiKey::Fetch, 12, body()), 70, Scope::TopLevel).unwrap();
        assert_eq!(errors(&top), (70, vec![]));
        let old = error_response(&request(ApiKey::Fetch, 4, body()), 6, Scope::TopLevel).unwrap();
        assert_eq!(
            errors(&old),
            (0, vec![("t".into(), 0, 6)]),
            "v4 has no top-level field"
        );
        let parts = error_response(&request(ApiKey::Fetch, 12, body()), 6, Scope::Auto).unwrap();
        assert_eq!(errors(&parts), (0, vec![("t".into(), 0, 6)]));
    }

    /// Every API with an error table gets an answer that encodes at every served version.
    #[test]
    fn error_answers_encode_at_every_served_version() {
        for (api, min, max) in versions::SUPPORTED {
            if places(*api).is_none() || *api == ApiKey::Metadata {
                continue;
            }
            for version in *min..=*max {
                let body = match api {
                    ApiKey::Produce => produce(),
                    _ => default_request(*api),
                };
                let r = request(*api, version, body);
                for scope in [Scope::Auto, Scope::TopLevel, Scope::Partitions] {
                    if check_scope(*api, scope).is_err() {
                        continue;
                    }
                    let Some(answer) = error_response(&r, 15, scope) else {
                        assert!(*api == ApiKey::Produce && version < 3, "{api:?} v{version}");
                        continue;
                    };
                    let mut out = ResponseBuffer::default();
                    encode_response(&mut out, *api, version, 1, &answer)
                        .unwrap_or_else(|e| panic!("{api:?} v{version} {scope:?}: {e}"));
                }
            }
        }
    }

    fn default_request(api: ApiKey) -> RequestKind {
        use ApiKey as A;
        match api {
            A::Fetch => RequestKind::Fetch(Default::default()),
            A::ListOffsets => RequestKind::ListOffsets(Default::default()),
            A::OffsetCommit => RequestKind::OffsetCommit(Default::default()),
            A::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
            A::FindCoordinator => RequestKind::FindCoordinator(
                FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")]),
            ),
            A::JoinGroup => RequestKind::JoinGroup(Default::default()),
            A::SyncGroup => RequestKind::SyncGroup(Default::default()),
            A::Heartbeat => RequestKind::Heartbeat(Default::default()),
            A::LeaveGroup => RequestKind::LeaveGroup(Default::default()),
            A::InitProducerId => RequestKind::InitProducerId(Default::default()),
            A::ListGroups => RequestKind::ListGroups(Default::default()),
            A::DescribeCluster => RequestKind::DescribeCluster(Default::default()),
            A::ApiVersions => RequestKind::ApiVersions(Default::default()),
            A::DescribeLogDirs => RequestKind::DescribeLogDirs(Default::default()),
            A::CreateTopics => RequestKind::CreateTopics(Default::default()),
            A::DeleteTopics => RequestKind::DeleteTopics(Default::default()),
            A::DescribeGroups => RequestKind::DescribeGroups(Default::default()),
            A::DeleteGroups => RequestKind::DeleteGroups(Default::default()),
            A::OffsetDelete => RequestKind::OffsetDelete(Default::default()),
            A::CreatePartitions => RequestKind::CreatePartitions(Default::default()),
            A::DescribeConfigs => RequestKind::DescribeConfigs(Default::default()),
            A::AlterConfigs => RequestKind::AlterConfigs(Default::default()),
            A::IncrementalAlterConfigs => RequestKind::IncrementalAlterConfigs(Default::default()),
            A::DeleteRecords => RequestKind::DeleteRecords(Default::default()),
            A::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(Default::default()),
            A::ConsumerGroupHeartbeat => RequestKind::ConsumerGroupHeartbeat(Default::default()),
            A::ConsumerGroupDescribe => RequestKind::ConsumerGroupDescribe(
                ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
            ),
            other => panic!("no request for {other:?}"),
        }
    }
}
