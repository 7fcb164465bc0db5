//! What one group id holds: its committed offsets and classic membership ([`Group`]) and, when
//! the id names a consumer group of the KIP-848 protocol, that [`ConsumerGroup`]. A group id is
//! one kind at a time, as in Kafka 4.x:
//!
//! - a ConsumerGroupHeartbeat on an unknown or empty classic group makes it a consumer group
//!   (its offsets stay); on a classic group with members it fails with GROUP_ID_NOT_FOUND ("not
//!   a consumer group"), as Kafka does when online upgrade is not possible;
//! - a JoinGroup on an empty consumer group makes it a classic group again (offsets stay); on a
//!   consumer group with members it fails with INCONSISTENT_GROUP_PROTOCOL (Kafka 4.x would
//!   take the classic member into the consumer group);
//! - offsets, DescribeGroups, ListGroups, DeleteGroups and OffsetDelete work for both kinds.

use tracing::info;

use super::api::{
    CommitRequest, FetchedOffset, GroupDescription, GroupListing, PartitionResult, TxnCommitRequest,
};
use super::config::GroupConfig;
use super::consumer::api::{
    ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResponse,
};
use super::consumer::ConsumerGroup;
use super::error::GroupError;
use super::group::{Effects, Group};
use super::record::LoadedGroup;

pub(super) struct Slot {
    pub classic: Group,
    pub consumer: Option<ConsumerGroup>,
}

impl Slot {
    pub fn absent(id: &str, cfg: GroupConfig, now_ms: i64) -> Slot {
        Slot {
            classic: Group::absent(id, cfg, now_ms),
            consumer: None,
        }
    }

    pub fn restore(id: &str, cfg: GroupConfig, mut loaded: LoadedGroup, now_ms: i64) -> Slot {
        let consumer = loaded
            .consumer
            .take()
            .map(|c| ConsumerGroup::restore(id, cfg.clone(), c, now_ms));
        let mut classic = Group::restore(id, cfg, loaded, now_ms);
        if consumer.is_some() {
            classic.ensure_exists();
        }
        Slot { classic, consumer }
    }

    pub fn id(&self) -> &str {
        self.classic.id()
    }

    /// The consumer group, if this id names one with members.
    fn active_consumer(&self) -> Option<&ConsumerGroup> {
        self.consumer.as_ref().filter(|c| !c.is_empty())
    }

    pub fn next_deadline(&self) -> Option<i64> {
        let consumer = self
            .consumer
            .as_ref()
            .and_then(ConsumerGroup::next_deadline);
        [self.classic.next_deadline(), consumer]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn tick(&mut self, now_ms: i64, out: &mut Effects) {
        if let Some(c) = &mut self.consumer {
            c.tick(now_ms, out);
            if !c.is_empty() {
                self.classic.postpone_expiry(now_ms);
                return;
            }
        }
        self.classic.tick(now_ms, out);
        if self.classic.is_gone() {
            self.consumer = None;
        }
    }

    pub fn is_gone(&self) -> bool {
        self.consumer.is_none() && self.classic.is_gone()
    }

    pub fn listing(&self) -> Option<GroupListing> {
        match &self.consumer {
            Some(c) => Some(c.listing()),
            None => self.classic.listing(),
        }
    }

    pub fn consumer_heartbeat(
        &mut self,
        req: ConsumerHeartbeat,
        fresh_member_id: String,
        now_ms: i64,
        out: &mut Effects,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        if self.consumer.is_none() {
            if self.classic.has_members() {
                return Err(GroupError::NotConsumerGroup(self.id().to_string()));
            }
            if req.member_epoch != 0 {
                return Err(GroupError::UnknownMemberId);
            }
            info!(group = %self.id(), "new consumer group");
            self.classic.ensure_exists();
            self.consumer = Some(ConsumerGroup::new(
                self.classic.id(),
                self.classic.config().clone(),
            ));
        }
        let Some(c) = &mut self.consumer else {
            return Err(GroupError::CoordinatorNotAvailable);
        };
        c.heartbeat(req, fresh_member_id, now_ms, out)
    }

    pub fn consumer_describe(&self) -> Result<ConsumerGroupDescription, GroupError> {
        match &self.consumer {
            Some(c) => Ok(c.describe()),
            None if self.classic.is_gone() => Err(GroupError::GroupIdNotFound),
            None => Err(GroupError::NotConsumerGroup(self.id().to_string())),
        }
    }

    /// Before a classic JoinGroup: an empty consumer group becomes classic again.
    pub fn before_classic_join(&mut self, out: &mut Effects) -> Result<(), GroupError> {
        match &self.consumer {
            Some(c) if !c.is_empty() => Err(GroupError::InconsistentGroupProtocol),
            Some(c) => {
                info!(group = %self.id(), "empty consumer group becomes a classic group");
                out.records.push(c.tombstone());
                self.consumer = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    pub fn commit(
        &mut self,
        req: CommitRequest,
        now_ms: i64,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        match &self.consumer {
            Some(c) => {
                let verdict = c.validate_commit(&req.member_id, req.generation_id);
                self.classic.store_offsets(req, verdict, now_ms, out)
            }
            None => self.classic.commit_offsets(req, now_ms, out),
        }
    }

    /// TxnOffsetCommit: a consumer group checks its member's epoch (a stale one is
    /// ILLEGAL_GENERATION, as Kafka answers transactional commits), a classic group as Kafka's
    /// classic coordinator does.
    pub fn commit_txn(
        &mut self,
        req: TxnCommitRequest,
        now_ms: i64,
        out: &mut Effects,
    ) -> Vec<PartitionResult> {
        let verdict = match &self.consumer {
            Some(c) => c
                .validate_commit(&req.member_id, req.generation_id)
                .map_err(|e| match e {
                    GroupError::StaleMemberEpoch => GroupError::IllegalGeneration,
                    e => e,
                }),
            None => self.classic.validate_txn_commit(&req),
        };
        self.classic.commit_txn_offsets(req, verdict, now_ms, out)
    }

    /// The transaction of `producer_id` ended: its pending offsets are applied or dropped.
    pub fn complete_txn(&mut self, producer_id: i64, commit: bool, out: &mut Effects) {
        self.classic.complete_txn(producer_id, commit, out);
    }

    pub fn fetch(
        &self,
        topics: Option<Vec<(String, Vec<i32>)>>,
        member: Option<(&str, i32)>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, GroupError> {
        if let (Some(c), Some((member_id, epoch))) = (&self.consumer, member) {
            c.validate_fetch(Some(member_id), epoch)?;
        }
        Ok(self.classic.fetch_offsets(topics, require_stable))
    }

    pub fn describe(&self) -> GroupDescription {
        match &self.consumer {
            Some(c) => c.describe_classic(),
            None => self.classic.describe(),
        }
    }

    pub fn delete(&mut self, now_ms: i64, out: &mut Effects) -> Result<(), GroupError> {
        if self.active_consumer().is_some() {
            return Err(GroupError::NonEmptyGroup);
        }
        self.classic.delete_group(now_ms, out)?;
        self.consumer = None;
        Ok(())
    }

    pub fn delete_offsets(
        &mut self,
        topics: Vec<(String, Vec<i32>)>,
        out: &mut Effects,
    ) -> Result<Vec<PartitionResult>, GroupError> {
        match self.active_consumer() {
            Some(c) => {
                let subscribed = c.subscribed_topic_names();
                Ok(self.classic.delete_offsets_except(topics, &subscribed, out))
            }
            None => self.classic.delete_offsets(topics, out),
        }
    }
}
