//! Offsets committed in transactions (TxnOffsetCommit, KIP-98/KIP-447): pending per producer
//! until the transaction coordinator ends the transaction, then applied (commit) or dropped
//! (abort), as Kafka's group coordinator does on the markers in its offsets topic.

use super::{Effects, Group};
use crate::coordinator::api::{PartitionResult, TxnCommitRequest};
use crate::coordinator::error::GroupError;
use crate::coordinator::offsets::CommittedOffset;
use crate::coordinator::record::Record;
use crate::coordinator::state::GroupState;

impl Group {
    /// Kafka's `validateOffsetCommit` for transactional commits: a simple group (generation -1)
    /// is created; members and generations are checked when given; the group state is not
    /// enforced (a commit during a rebalance is accepted).
    pub fn validate_txn_commit(&mut self, req: &TxnCommitRequest) -> Result<(), GroupError> {
        if !self.exists {
            if req.generation_id < 0 {
                self.exists = true;
                return Ok(());
            }
            return Err(GroupError::IllegalGeneration);
        }
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.generation_id < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if req.generation_id >= 0 || !req.member_id.is_empty() || req.group_instance_id.is_some() {
            self.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
            if req.generation_id != self.generation {
                return Err(GroupError::IllegalGeneration);
            }
        }
        Ok(())
    }

    /// Stores the offsets of a TxnOffsetCommit already judged by `verdict` as pending for its
    /// producer; their records go to `out`.
    pub fn commit_txn_offsets(
        &mut self,
        req: TxnCommitRequest,
        verdict: Result<(), GroupError>,
        now_ms: i64,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        let pid = req.producer_id;
        let max_metadata = self.cfg.offset_metadata_max_bytes;
        req.partitions
            .into_iter()
            .map(|p| {
                let metadata = p.metadata.unwrap_or_default();
                let result = match &verdict {
                    Err(e) => Err(e.clone()),
                    Ok(()) if metadata.len() > max_metadata => {
                        Err(GroupError::OffsetMetadataTooLarge)
                    }
                    Ok(()) => {
                        let value = CommittedOffset {
                            offset: p.offset,
                            leader_epoch: p.leader_epoch,
                            metadata,
                            commit_timestamp_ms: now_ms,
                        };
                        let old = self.pending_txn.entry(pid).or_default().put(
                            &p.topic,
                            p.partition,
                            value.clone(),
                        );
                        out.undo_pending
                            .push((pid, p.topic.clone(), p.partition, old));
                        out.records.push(Record::TxnOffset {
                            group_id: self.id.clone(),
                            producer_id: pid,
                            topic: p.topic.clone(),
                            partition: p.partition,
                            value,
                        });
                        Ok(())
                    }
                };
                PartitionResult {
                    topic: p.topic,
                    partition: p.partition,
                    result,
                }
            })
            .collect()
    }

    /// The transaction of `producer_id` ended: its pending offsets become the group's
    /// committed offsets (commit) or are dropped (abort). Nothing to do when it has none here.
    pub fn complete_txn(&mut self, producer_id: i64, commit: bool, out: &mut Effects) {
        let Some(pending) = self.pending_txn.remove(&producer_id) else {
            return;
        };
        for (topic, partition, value) in pending.iter() {
            out.undo_pending.push((
                producer_id,
                topic.to_string(),
                partition,
                Some(value.clone()),
            ));
            if commit {
                let old = self.offsets.put(topic, partition, value.clone());
                out.undo_offsets.push((topic.to_string(), partition, old));
                out.records.push(Record::Offset {
                    group_id: self.id.clone(),
                    topic: topic.to_string(),
                    partition,
                    value: value.clone(),
                });
            }
        }
        if commit {
            // A group committed to only in transactions exists from its first commit.
            self.exists = true;
        }
        out.records.push(Record::TxnOffsetsEnd {
            group_id: self.id.clone(),
            producer_id,
            commit,
        });
    }

    /// Whether an open transaction is committing this partition's offset.
    pub fn has_pending_txn_offset(&self, topic: &str, partition: i32) -> bool {
        self.pending_txn
            .values()
            .any(|o| o.get(topic, partition).is_some())
    }

    /// Whether open transactions hold offsets of this group.
    pub fn has_pending_txn_offsets(&self) -> bool {
        !self.pending_txn.is_empty()
    }

    /// Restores pending offsets changed by a failed write.
    pub fn undo_pending(&mut self, undo: Vec<(i64, String, i32, Option<CommittedOffset>)>) {
        for (pid, topic, partition, old) in undo.into_iter().rev() {
            let pending = self.pending_txn.entry(pid).or_default();
            match old {
                Some(v) => {
                    pending.put(&topic, partition, v);
                }
                None => {
                    pending.remove(&topic, partition);
                }
            }
            if pending.is_empty() {
                self.pending_txn.remove(&pid);
            }
        }
    }
}
