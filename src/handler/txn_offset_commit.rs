use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::txn_error::{txn_code, Knows};
use super::{opt_string, topic_name};
use crate::broker::Broker;
use crate::coordinator::{CommitPartition, TxnCommitRequest};
use crate::error::code_of;

/// Offsets committed in a transaction: the transaction coordinator checks the producer and
/// that the group is part of its transaction (v5+, transactions v2: the commit adds it), then
/// the group stores them as pending until the transaction ends. Member and generation are
/// checked from v3 on. Partitions the broker does not have get UNKNOWN_TOPIC_OR_PARTITION.
pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    // PRODUCER_FENCED is not among TxnOffsetCommit's codes: a fenced producer gets
    // INVALID_PRODUCER_EPOCH at every version.
    let knows = Knows {
        producer_fenced: false,
        transaction_abortable: version >= 4,
    };
    let group = request.group_id.to_string();
    let mut results: BTreeMap<(String, i32), i16> = BTreeMap::new();
    let mut order = Vec::new();
    let mut partitions = Vec::new();
    for topic in &request.topics {
        let known = broker.topics.get(topic.name.as_str());
        for p in &topic.partitions {
            let key = (topic.name.to_string(), p.partition_index);
            order.push(key.clone());
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
    let refused = if group.is_empty() {
        Some(ResponseError::InvalidGroupId.code())
    } else if partitions.is_empty() {
        None
    } else {
        broker
            .txns
            .check_offsets(
                request.transactional_id.as_str(),
                request.producer_id.0,
                request.producer_epoch,
                &group,
                version >= 5,
            )
            .await
            .err()
            .map(|e| txn_code(e, knows))
    };
    match refused {
        Some(code) => {
            for p in &partitions {
                results.insert((p.topic.clone(), p.partition), code);
            }
        }
        None if !partitions.is_empty() => {
            let (generation_id, member_id, group_instance_id) = if version >= 3 {
                (
                    request.generation_id,
                    request.member_id.to_string(),
                    opt_string(&request.group_instance_id),
                )
            } else {
                (-1, String::new(), None)
            };
            let commit = TxnCommitRequest {
                group_id: group,
                producer_id: request.producer_id.0,
                generation_id,
                member_id,
                group_instance_id,
                partitions,
            };
            for r in broker.groups.commit_txn_offsets(commit).await {
                results.insert(
                    (r.topic, r.partition),
                    r.result.err().map(code_of).unwrap_or(0),
                );
            }
        }
        None => {}
    }
    let mut topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new();
    for (topic, partition) in order {
        let code = results
            .get(&(topic.clone(), partition))
            .copied()
            .unwrap_or(0);
        let entry = TxnOffsetCommitResponsePartition::default()
            .with_partition_index(partition)
            .with_error_code(code);
        match topics.last_mut() {
            Some(t) if t.name.as_str() == topic => t.partitions.push(entry),
            _ => topics.push(
                TxnOffsetCommitResponseTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    TxnOffsetCommitResponse::default().with_topics(topics)
}
