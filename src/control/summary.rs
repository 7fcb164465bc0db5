//! What a request says, in brief: the names the fault rules match on and what request capture
//! records. Bodies are summarised, never kept: record batches become counts, assignor bytes
//! and record values are not looked at, and no credential is ever read.

use kafka_protocol::messages::{RequestKind, TopicName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::Facts;
use crate::metadata::Topics;

/// One partition (or topic, with partition -1) a request names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionSummary {
    pub topic: String,
    pub partition: i32,
    /// The offset the request names: committed (OffsetCommit), fetched from (Fetch), deleted
    /// before (DeleteRecords), or the timestamp asked for (ListOffsets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// OffsetCommit's metadata string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Produce: records in the partition's batches, and their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// The error the answer gave this partition (Kafka's name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The request-level names of a request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<PartitionSummary>,
    /// Groups named (one for most group APIs; several for DescribeGroups, DeleteGroups,
    /// ConsumerGroupDescribe, OffsetFetch v8+ and FindCoordinator v4+).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// The generation (classic groups) or member epoch (ConsumerGroupHeartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// Produce's acks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acks: Option<i16>,
    /// FindCoordinator's key type (0 group, 1 transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<i8>,
}

impl Summary {
    /// The names the fault rules match on.
    pub fn facts(&self) -> Facts {
        let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
        for p in &self.partitions {
            match topics.iter_mut().find(|(t, _)| *t == p.topic) {
                Some((_, parts)) if p.partition >= 0 => parts.push(p.partition),
                Some(_) => {}
                None => topics.push((
                    p.topic.clone(),
                    if p.partition >= 0 {
                        vec![p.partition]
                    } else {
                        Vec::new()
                    },
                )),
            }
        }
        Facts {
            topics,
            group_ids: self.group_ids.clone(),
            transactional_id: self.transactional_id.clone(),
        }
    }
}

/// Summarises `body`. Topics named by id are looked up in `topics` (an unknown id shows as
/// the id).
pub fn summarize(body: &RequestKind, topics: &Topics) -> Summary {
    let mut s = Summary::default();
    let name = |n: &TopicName, id: &Uuid| -> String {
        if !n.is_empty() || id.is_nil() {
            return n.to_string();
        }
        topics
            .get_by_id(id)
            .map_or_else(|| id.to_string(), |t| t.name.clone())
    };
    let part = |topic: String, partition: i32| PartitionSummary {
        topic,
        partition,
        ..PartitionSummary::default()
    };
    match body {
        RequestKind::Produce(r) => {
            s.acks = Some(r.acks);
            s.transactional_id = r.transactional_id.as_ref().map(|t| t.to_string());
            for t in &r.topic_data {
                let topic = name(&t.name, &t.topic_id);
                for p in &t.partition_data {
                    let (records, bytes) = p
                        .records
                        .as_deref()
                        .map_or((0, 0), |b| (record_count(b), b.len()));
                    s.partitions.push(PartitionSummary {
                        records: Some(records),
                        bytes: Some(bytes),
                        ..part(topic.clone(), p.index)
                    });
                }
            }
        }
        RequestKind::Fetch(r) => {
            for t in &r.topics {
                let topic = name(&t.topic, &t.topic_id);
                for p in &t.partitions {
                    s.partitions.push(PartitionSummary {
                        offset: Some(p.fetch_offset),
                        ..part(topic.clone(), p.partition)
                    });
                }
            }
        }
        RequestKind::ListOffsets(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    s.partitions.push(PartitionSummary {
                        offset: Some(p.timestamp),
                        ..part(t.name.to_string(), p.partition_index)
                    });
                }
            }
        }
        RequestKind::Metadata(r) => {
            for t in r.topics.iter().flatten() {
                let topic = match &t.name {
                    Some(n) => n.to_string(),
                    None => name(&TopicName::default(), &t.topic_id),
                };
                s.partitions.push(part(topic, -1));
            }
        }
        RequestKind::OffsetCommit(r) => {
            s.group_ids.push(r.group_id.to_string());
            s.member_id = Some(r.member_id.to_string());
            s.generation_id = Some(r.generation_id_or_member_epoch);
            for t in &r.topics {
                let topic = name(&t.name, &t.topic_id);
                for p in &t.partitions {
                    s.partitions.push(PartitionSummary {
                        offset: Some(p.committed_offset),
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                        ..part(topic.clone(), p.partition_index)
                    });
                }
            }
        }
        RequestKind::OffsetFetch(r) => {
            if r.groups.is_empty() {
                s.group_ids.push(r.group_id.to_string());
                for t in r.topics.iter().flatten() {
                    for p in &t.partition_indexes {
                        s.partitions.push(part(t.name.to_string(), *p));
                    }
                }
            }
            for g in &r.groups {
                s.group_ids.push(g.group_id.to_string());
                for t in g.topics.iter().flatten() {
                    for p in &t.partition_indexes {
                        s.partitions.push(part(name(&t.name, &t.topic_id), *p));
                    }
                }
            }
        }
        RequestKind::FindCoordinator(r) => {
            s.key_type = Some(r.key_type);
            let keys: Vec<String> = if r.coordinator_keys.is_empty() {
                vec![r.key.to_string()]
            } else {
                r.coordinator_keys.iter().map(|k| k.to_string()).collect()
            };
            if r.key_type == 1 {
                s.transactional_id = keys.into_iter().next();
            } else {
                s.group_ids = keys;
            }
        }
        RequestKind::JoinGroup(r) => {
            s.group_ids.push(r.group_id.to_string());
            s.member_id = Some(r.member_id.to_string());
        }
        RequestKind::SyncGroup(r) => {
            s.group_ids.push(r.group_id.to_string());
            s.member_id = Some(r.member_id.to_string());
            s.generation_id = Some(r.generation_id);
        }
        RequestKind::Heartbeat(r) => {
            s.group_ids.push(r.group_id.to_string());
            s.member_id = Some(r.member_id.to_string());
            s.generation_id = Some(r.generation_id);
        }
        RequestKind::LeaveGroup(r) => {
            s.group_ids.push(r.group_id.to_string());
            let member = r.members.first().map_or(&r.member_id, |m| &m.member_id);
            s.member_id = Some(member.to_string());
        }
        RequestKind::ConsumerGroupHeartbeat(r) => {
            s.group_ids.push(r.group_id.to_string());
            s.member_id = Some(r.member_id.to_string());
            s.generation_id = Some(r.member_epoch);
            for t in r.subscribed_topic_names.iter().flatten() {
                s.partitions.push(part(t.to_string(), -1));
            }
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            s.group_ids = r.group_ids.iter().map(|g| g.to_string()).collect();
        }
        RequestKind::InitProducerId(r) => {
            s.transactional_id = r.transactional_id.as_ref().map(|t| t.to_string());
        }
        RequestKind::DescribeGroups(r) => {
            s.group_ids = r.groups.iter().map(|g| g.to_string()).collect();
        }
        RequestKind::DeleteGroups(r) => {
            s.group_ids = r.groups_names.iter().map(|g| g.to_string()).collect();
        }
        RequestKind::OffsetDelete(r) => {
            s.group_ids.push(r.group_id.to_string());
            for t in &r.topics {
                for p in &t.partitions {
                    s.partitions
                        .push(part(t.name.to_string(), p.partition_index));
                }
            }
        }
        RequestKind::CreateTopics(r) => {
            for t in &r.topics {
                s.partitions.push(part(t.name.to_string(), -1));
            }
        }
        RequestKind::DeleteTopics(r) => {
            for n in &r.topic_names {
                s.partitions.push(part(n.to_string(), -1));
            }
            for t in &r.topics {
                let topic = match &t.name {
                    Some(n) => n.to_string(),
                    None => name(&TopicName::default(), &t.topic_id),
                };
                s.partitions.push(part(topic, -1));
            }
        }
        RequestKind::CreatePartitions(r) => {
            for t in &r.topics {
                s.partitions.push(part(t.name.to_string(), -1));
            }
        }
        RequestKind::DeleteRecords(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    s.partitions.push(PartitionSummary {
                        offset: Some(p.offset),
                        ..part(t.name.to_string(), p.partition_index)
                    });
                }
            }
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            for t in &r.topics {
                for p in &t.partitions {
                    s.partitions.push(part(t.topic.to_string(), p.partition));
                }
            }
        }
        _ => {}
    }
    s
}

/// Records in a partition's record batches (magic 2), read from each batch header; what does
/// not parse as a batch counts nothing.
fn record_count(mut bytes: &[u8]) -> i64 {
    const LENGTH_END: usize = 12;
    const COUNT_AT: usize = 57;
    let mut total = 0i64;
    while bytes.len() >= COUNT_AT + 4 {
        let length = i32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let Ok(length) = usize::try_from(length) else {
            break;
        };
        let count = i32::from_be_bytes([
            bytes[COUNT_AT],
            bytes[COUNT_AT + 1],
            bytes[COUNT_AT + 2],
            bytes[COUNT_AT + 3],
        ]);
        total += i64::from(count.max(0));
        let Some(rest) = bytes.get(LENGTH_END + length..) else {
            break;
        };
        bytes = rest;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_come_from_batch_headers() {
        let mut batch = vec![0u8; 61];
        batch[8..12].copy_from_slice(&49i32.to_be_bytes());
        batch[57..61].copy_from_slice(&3i32.to_be_bytes());
        let mut two = batch.clone();
        two.extend_from_slice(&batch);
        assert_eq!(record_count(&batch), 3);
        assert_eq!(record_count(&two), 6);
        assert_eq!(record_count(&batch[..40]), 0);
        assert_eq!(record_count(&[]), 0);
    }

    #[test]
    fn facts_group_partitions_by_topic() {
        let s = Summary {
            partitions: vec![
                PartitionSummary {
                    topic: "a".into(),
                    partition: 0,
                    ..Default::default()
                },
                PartitionSummary {
                    topic: "a".into(),
                    partition: 2,
                    ..Default::default()
                },
                PartitionSummary {
                    topic: "b".into(),
                    partition: -1,
                    ..Default::default()
                },
            ],
            group_ids: vec!["g".into()],
            ..Default::default()
        };
        let f = s.facts();
        assert_eq!(
            f.topics,
            vec![("a".into(), vec![0, 2]), ("b".into(), vec![])]
        );
        assert_eq!(f.group_ids, vec!["g".to_string()]);
    }
}
