//! Offsets on a group: OffsetCommit, OffsetFetch, OffsetDelete, retention and DeleteGroups,
//! as Kafka's classic coordinator.

use std::collections::BTreeSet;

use tracing::info;

use super::{Effects, Group};
use crate::coordinator::api::{CommitRequest, FetchedOffset, PartitionResult};
use crate::coordinator::codec::offset_frame_len;
use crate::coordinator::error::GroupError;
use crate::coordinator::offsets::CommittedOffset;
use crate::coordinator::record::Record;
use crate::coordinator::state::GroupState;
use crate::coordinator::subscription::subscribed_topics;

/// The protocol type of Kafka consumers; only their subscriptions are read by the broker.
const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

impl Group {
    /// Handles an OffsetCommit. Accepted commits are applied and their records pushed to
    /// `out` (the actor makes them durable before replying). A group-level error is reported
    /// on every partition.
    pub fn commit_offsets(
        &mut self,
        req: CommitRequest,
        now_ms: i64,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        let verdict = self.validate_commit(&req, now_ms);
        self.store_offsets(req, verdict, now_ms, out)
    }

    /// Applies a commit already judged by `verdict` (a consumer group judges its members' own).
    pub fn store_offsets(
        &mut self,
        req: CommitRequest,
        verdict: Result<(), GroupError>,
        now_ms: i64,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        let verdict = verdict.and_then(|()| self.check_commit_size(&req));
        let mut results = Vec::with_capacity(req.partitions.len());
        for p in req.partitions {
            let metadata = p.metadata.unwrap_or_default();
            let result = match &verdict {
                Err(e) => Err(e.clone()),
                Ok(()) if metadata.len() > self.cfg.offset_metadata_max_bytes => {
                    Err(GroupError::OffsetMetadataTooLarge)
                }
                Ok(()) => {
                    let value = CommittedOffset {
                        offset: p.offset,
                        leader_epoch: p.leader_epoch,
                        metadata,
                        commit_timestamp_ms: now_ms,
                    };
                    let old = self.offsets.put(&p.topic, p.partition, value.clone());
                    out.undo_offsets.push((p.topic.clone(), p.partition, old));
                    out.records.push(Record::Offset {
                        group_id: self.id.clone(),
                        topic: p.topic.clone(),
                        partition: p.partition,
                        value,
                    });
                    Ok(())
                }
            };
            results.push(PartitionResult {
                topic: p.topic,
                partition: p.partition,
                result,
            });
        }
        results
    }

    /// Kafka appends the offsets of one commit as one record batch of its offsets topic, which
    /// must not exceed the topic's `max.message.bytes`; weir's group log takes the same bound.
    /// Refused whole, before anything is applied: a small request naming a partition many
    /// times under a long group id would otherwise write megabytes.
    fn check_commit_size(&self, req: &CommitRequest) -> Result<(), GroupError> {
        let mut size = 0usize;
        for p in &req.partitions {
            let metadata = p.metadata.as_deref().unwrap_or_default();
            if metadata.len() > self.cfg.offset_metadata_max_bytes {
                continue; // answered OFFSET_METADATA_TOO_LARGE, not stored
            }
            size = size.saturating_add(offset_frame_len(&self.id, &p.topic, metadata));
        }
        if size > self.cfg.max_batch_bytes {
            return Err(GroupError::InvalidCommitOffsetSize);
        }
        Ok(())
    }

    /// Kafka's `validateOffsetCommit` for classic groups.
    fn validate_commit(&mut self, req: &CommitRequest, now_ms: i64) -> Result<(), GroupError> {
        if !self.exists {
            if req.generation_id < 0 {
                // A standalone consumer or admin client: a "simple" group is created.
                self.exists = true;
                return Ok(());
            }
            // OffsetCommit v9+ would say GROUP_ID_NOT_FOUND; ILLEGAL_GENERATION is what
            // older versions (and clients) expect.
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
        } else if self.state != GroupState::Empty {
            // No member id and no generation: only allowed while nobody consumes.
            return Err(GroupError::UnknownMemberId);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        self.refresh_heartbeat(&req.member_id, now_ms);
        Ok(())
    }

    /// Handles an OffsetFetch: the requested partitions (offset -1 when nothing is
    /// committed), or every committed partition when `topics` is `None`. With
    /// `require_stable`, a partition whose offset an open transaction is committing is
    /// answered as unstable (the client retries until the transaction ends).
    pub fn fetch_offsets(
        &self,
        topics: Option<Vec<(String, Vec<i32>)>>,
        require_stable: bool,
    ) -> Vec<FetchedOffset> {
        let fetched = |topic: &str, partition: i32, o: Option<&CommittedOffset>| {
            let unstable = require_stable && self.has_pending_txn_offset(topic, partition);
            let o = o.filter(|_| !unstable);
            FetchedOffset {
                topic: topic.to_string(),
                partition,
                offset: o.map_or(-1, |o| o.offset),
                leader_epoch: o.map_or(-1, |o| o.leader_epoch),
                metadata: o.map(|o| o.metadata.clone()).unwrap_or_default(),
                unstable,
            }
        };
        match topics {
            None => self
                .offsets
                .iter()
                .map(|(t, p, o)| fetched(t, p, Some(o)))
                .collect(),
            Some(topics) => topics
                .iter()
                .flat_map(|(t, parts)| parts.iter().map(move |p| (t, *p)))
                .map(|(t, p)| fetched(t, p, self.offsets.get(t, p)))
                .collect(),
        }
    }

    /// The topics the members subscribe to (consumer protocol), and whether every member's
    /// subscription could be read. An unreadable subscription contributes no topic.
    pub(super) fn subscriptions(&self) -> (BTreeSet<String>, bool) {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let mut topics = BTreeSet::new();
        let mut all_readable = true;
        for m in self.members.values() {
            let metadata = if m.supports(&protocol) {
                m.metadata(&protocol)
            } else {
                m.protocols
                    .first()
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default()
            };
            match subscribed_topics(&metadata) {
                Some(t) => topics.extend(t),
                None => all_readable = false,
            }
        }
        (topics, all_readable)
    }

    fn is_consumer_group(&self) -> bool {
        self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE)
    }

    /// Handles an OffsetDelete. `Err` is a group-level error.
    pub fn delete_offsets(
        &mut self,
        topics: Vec<(String, Vec<i32>)>,
        out: &mut Effects,
    ) -> Result<Vec<PartitionResult>, GroupError> {
        if self.is_gone() {
            return Err(GroupError::GroupIdNotFound);
        }
        let subscribed = match self.state {
            GroupState::Empty => BTreeSet::new(),
            GroupState::PreparingRebalance
            | GroupState::CompletingRebalance
            | GroupState::Stable
                if self.is_consumer_group() =>
            {
                self.subscriptions().0
            }
            _ => return Err(GroupError::NonEmptyGroup),
        };
        Ok(self.delete_offsets_except(topics, &subscribed, out))
    }

    /// Deletes the offsets of `topics` except those of topics in `subscribed`.
    pub fn delete_offsets_except(
        &mut self,
        topics: Vec<(String, Vec<i32>)>,
        subscribed: &BTreeSet<String>,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        let mut results = Vec::new();
        for (topic, partitions) in topics {
            for partition in partitions {
                let result = if subscribed.contains(&topic) {
                    Err(GroupError::GroupSubscribedToTopic)
                } else {
                    self.remove_offset(&topic, partition, out);
                    Ok(())
                };
                results.push(PartitionResult {
                    topic: topic.clone(),
                    partition,
                    result,
                });
            }
        }
        results
    }

    fn remove_offset(&mut self, topic: &str, partition: i32, out: &mut Effects) {
        if let Some(old) = self.offsets.remove(topic, partition) {
            out.undo_offsets
                .push((topic.to_string(), partition, Some(old)));
            out.records.push(Record::OffsetTombstone {
                group_id: self.id.clone(),
                topic: topic.to_string(),
                partition,
            });
        }
    }

    /// Handles DeleteGroups for this group: only an Empty group can be deleted.
    pub fn delete_group(&mut self, now_ms: i64, out: &mut Effects) -> Result<(), GroupError> {
        if self.is_gone() {
            return Err(GroupError::GroupIdNotFound);
        }
        if self.state != GroupState::Empty {
            return Err(GroupError::NonEmptyGroup);
        }
        self.make_dead(now_ms, out);
        info!(group = %self.id, "group deleted");
        Ok(())
    }

    fn make_dead(&mut self, now_ms: i64, out: &mut Effects) {
        self.transition(GroupState::Dead, now_ms);
        self.offsets.clear();
        self.pending_members.clear();
        self.join_deadline = None;
        self.sync_deadline = None;
        out.records.push(Record::GroupTombstone {
            group_id: self.id.clone(),
        });
    }

    /// Expires offsets past `offsets.retention.minutes` (Kafka's rules): in an Empty group,
    /// all of them once the group has been empty that long; in a simple group (no protocol
    /// type), each one that long after its commit; in a Stable consumer group whose
    /// subscriptions are all readable, those of topics nobody subscribes to any more. An Empty
    /// group left without offsets dies.
    pub fn expire_offsets(&mut self, now_ms: i64, out: &mut Effects) {
        if self.is_gone() {
            return;
        }
        let retention = self.cfg.offsets_retention_ms;
        let expired = match (&self.protocol_type, self.state) {
            (Some(_), GroupState::Empty) => {
                let since = self.state_timestamp_ms;
                self.offsets.expired(now_ms, retention, |_| since, |_| true)
            }
            (None, _) => {
                self.offsets
                    .expired(now_ms, retention, |o| o.commit_timestamp_ms, |_| true)
            }
            (Some(_), GroupState::Stable) if self.is_consumer_group() => {
                // Like Kafka, expire nothing while a subscription cannot be read.
                match self.subscriptions() {
                    (subscribed, true) => self.offsets.expired(
                        now_ms,
                        retention,
                        |o| o.commit_timestamp_ms,
                        |t| !subscribed.contains(t),
                    ),
                    (_, false) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        if !expired.is_empty() {
            info!(group = %self.id, count = expired.len(), "expired committed offsets");
        }
        for (topic, partition) in expired {
            self.remove_offset(&topic, partition, out);
        }
        if self.state == GroupState::Empty
            && self.offsets.is_empty()
            && self.pending_members.is_empty()
            && !self.has_pending_txn_offsets()
        {
            info!(group = %self.id, "empty group without offsets removed");
            self.make_dead(now_ms, out);
        }
    }
}
