//! Partitions and offsets: leaders from Metadata, log offsets from ListOffsets, committed
//! offsets from OffsetFetch/OffsetCommit. Shared by topic, group and consume.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    GroupId, ListOffsetsRequest, MetadataResponse, OffsetCommitRequest, OffsetFetchRequest,
};

use super::error::{check, check_msg, CliError};
use crate::client::{s, topic_name, Client};

/// (topic, partition)
pub type Tp = (String, i32);

/// ListOffsets timestamps with a special meaning.
pub const EARLIEST: i64 = -2;
pub const LATEST: i64 = -1;

/// One partition as Metadata describes it.
#[derive(Clone, Debug)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Partitions per topic, in partition order. Unknown topics are an error naming the broker.
pub async fn partitions(
    client: &mut Client,
    topics: &[String],
) -> Result<BTreeMap<String, Vec<PartitionInfo>>, CliError> {
    let metadata = client.metadata(Some(topics)).await?;
    topic_partitions(client.addr(), &metadata)
}

/// The partitions of every topic in `metadata`; an error for a topic the broker does not know.
pub fn topic_partitions(
    addr: &str,
    metadata: &MetadataResponse,
) -> Result<BTreeMap<String, Vec<PartitionInfo>>, CliError> {
    let mut out = BTreeMap::new();
    for topic in &metadata.topics {
        let name = topic.name.as_ref().map_or("", |n| n.0.as_str()).to_string();
        if topic.error_code == 3 {
            return Err(CliError::UnknownTopic {
                topic: name,
                addr: addr.to_string(),
            });
        }
        check(topic.error_code, || {
            format!("cannot describe topic {name:?}")
        })?;
        let mut parts: Vec<PartitionInfo> = topic
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition: p.partition_index,
                leader: p.leader_id.0,
                replicas: p.replica_nodes.iter().map(|n| n.0).collect(),
                isr: p.isr_nodes.iter().map(|n| n.0).collect(),
            })
            .collect();
        parts.sort_by_key(|p| p.partition);
        out.insert(name, parts);
    }
    Ok(out)
}

/// The leader of each partition.
pub fn leaders(topics: &BTreeMap<String, Vec<PartitionInfo>>) -> BTreeMap<Tp, i32> {
    topics
        .iter()
        .flat_map(|(topic, parts)| {
            parts
                .iter()
                .map(move |p| ((topic.clone(), p.partition), p.leader))
        })
        .collect()
}

/// The offset of each partition at `timestamp` ([`EARLIEST`], [`LATEST`] or milliseconds since
/// the epoch), asking each partition's leader. -1 where no record is that recent.
pub async fn list_offsets(
    client: &mut Client,
    leaders: &BTreeMap<Tp, i32>,
    timestamp: i64,
) -> Result<BTreeMap<Tp, i64>, CliError> {
    let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    for ((topic, partition), leader) in leaders {
        by_leader
            .entry(*leader)
            .or_default()
            .entry(topic.clone())
            .or_default()
            .push(*partition);
    }
    let mut out = BTreeMap::new();
    for (leader, topics) in by_leader {
        let response = client
            .call_node(leader, |_| {
                ListOffsetsRequest::default()
                    .with_replica_id((-1).into())
                    .with_topics(
                        topics
                            .iter()
                            .map(|(topic, parts)| {
                                ListOffsetsTopic::default()
                                    .with_name(topic_name(topic))
                                    .with_partitions(
                                        parts
                                            .iter()
                                            .map(|p| {
                                                ListOffsetsPartition::default()
                                                    .with_partition_index(*p)
                                                    .with_current_leader_epoch(-1)
                                                    .with_timestamp(timestamp)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .await?;
        for topic in response.topics {
            let name = topic.name.0.as_str().to_string();
            for p in topic.partitions {
                check(p.error_code, || {
                    format!("cannot list offsets of {name}-{}", p.partition_index)
                })?;
                out.insert((name.clone(), p.partition_index), p.offset);
            }
        }
    }
    Ok(out)
}

/// The committed offsets of `group` (every topic), from its coordinator.
pub async fn committed(
    client: &mut Client,
    coordinator: i32,
    group: &str,
) -> Result<BTreeMap<Tp, i64>, CliError> {
    let response = client
        .call_node(coordinator, |version| {
            if version >= 8 {
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s(group)))
                    .with_topics(None)])
            } else {
                // null topics: every committed offset (v2+).
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s(group)))
                    .with_topics(None)
            }
        })
        .await?;
    let context = || format!("cannot fetch the committed offsets of group {group:?}");
    check(response.error_code, context)?;
    let mut out = BTreeMap::new();
    let mut keep = |topic: &str, partition: i32, offset: i64, code: i16| {
        check(code, context)?;
        if offset >= 0 {
            out.insert((topic.to_string(), partition), offset);
        }
        Ok::<(), CliError>(())
    };
    for g in &response.groups {
        check(g.error_code, context)?;
        for t in &g.topics {
            for p in &t.partitions {
                keep(
                    t.name.0.as_str(),
                    p.partition_index,
                    p.committed_offset,
                    p.error_code,
                )?;
            }
        }
    }
    for t in &response.topics {
        for p in &t.partitions {
            keep(
                t.name.0.as_str(),
                p.partition_index,
                p.committed_offset,
                p.error_code,
            )?;
        }
    }
    Ok(out)
}

/// Commits `offsets` for `group` as an admin (no member id, generation -1), as
/// kafka-consumer-groups does; the group must have no active members.
pub async fn commit(
    client: &mut Client,
    coordinator: i32,
    group: &str,
    offsets: &BTreeMap<Tp, i64>,
) -> Result<(), CliError> {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((topic, partition), offset) in offsets {
        topics.entry(topic).or_default().push(
            OffsetCommitRequestPartition::default()
                .with_partition_index(*partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1),
        );
    }
    let response = client
        .call_node(coordinator, |_| {
            OffsetCommitRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_generation_id_or_member_epoch(-1)
                .with_retention_time_ms(-1)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, partitions)| {
                            OffsetCommitRequestTopic::default()
                                .with_name(topic_name(name))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .await?;
    for t in response.topics {
        for p in t.partitions {
            check_msg(p.error_code, None, || {
                format!(
                    "cannot commit the offset of {}-{} for group {group:?}",
                    t.name.0.as_str(),
                    p.partition_index
                )
            })?;
        }
    }
    Ok(())
}
