//! Consumer groups of the next-generation protocol (KIP-848): the broker assigns partitions and
//! members reconcile towards their target assignment one heartbeat at a time, without stopping
//! the group. Modelled on Apache Kafka 4.x's `ConsumerGroup`. Pure like the classic machine:
//! every operation takes `now` and writes its durable records into an `Effects`.
//!
//! Epochs: the *group epoch* is bumped whenever membership, a subscription or the subscribed
//! topics change; the target assignment is then recomputed by the assignor and stamped with the
//! group epoch (the *assignment epoch*). Each member has a *member epoch*: the epoch of the
//! assignment it has reconciled to. A member joins with epoch 0, leaves with -1, and a static
//! member leaving for a while sends -2.
//!
//! Group states (Kafka's names), derived from the members:
//! - `Empty`: no members.
//! - `Assigning`: the group epoch is ahead of the assignment epoch (never observed here: the
//!   target is recomputed in the same step as the bump).
//! - `Reconciling`: some member has not reached the assignment epoch, or still revokes or waits
//!   for partitions.
//! - `Stable`: every member holds its target at the assignment epoch.
//! - (`Dead`: once deleted the group id is gone; DescribeGroups shows it Dead like any
//!   unknown group.)
//!
//! Files: `member.rs` (a member and its reconciliation states), `reconcile.rs` (one member's
//! step towards its target), `assignor.rs` (`uniform`, `range`), `heartbeat.rs` (the
//! ConsumerGroupHeartbeat operation), `timers.rs` (sessions, revocation timeouts), `offsets.rs`
//! (OffsetCommit/OffsetFetch member checks), `describe.rs` (the describe and list views),
//! `topics.rs` (the topic image the handler provides).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use regex::Regex;
use tracing::info;
use uuid::Uuid;

use super::config::GroupConfig;
use super::group::Effects;
use super::record::{LoadedConsumerGroup, Record};

pub mod api;
pub mod assignor;
mod describe;
mod heartbeat;
pub mod member;
mod offsets;
mod reconcile;
mod timers;
pub mod topics;

#[cfg(test)]
mod tests;

use assignor::{Assignment, Assignor};
use member::{ConsumerMember, Deadlines, MemberState};
use topics::{TopicImage, TopicMeta};

/// The state of a consumer group, as ConsumerGroupDescribe and ListGroups name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// One consumer group.
#[derive(Debug)]
pub struct ConsumerGroup {
    id: String,
    cfg: GroupConfig,
    epoch: i32,
    assignment_epoch: i32,
    members: BTreeMap<String, ConsumerMember>,
    deadlines: BTreeMap<String, Deadlines>,
    /// group.instance.id -> member id.
    static_members: BTreeMap<String, String>,
    /// Each member's target assignment at `assignment_epoch`.
    targets: BTreeMap<String, Assignment>,
    /// The subscribed topics as last assigned; a change bumps the group epoch.
    subscribed: BTreeMap<String, TopicMeta>,
    /// The topics as the last request saw them.
    topics: Arc<TopicImage>,
    regexes: HashMap<String, Regex>,
    /// Members and the group whose durable form changed in this step.
    dirty_members: BTreeSet<String>,
    removed_members: BTreeSet<String>,
    dirty_group: bool,
}

impl ConsumerGroup {
    pub fn new(id: &str, cfg: GroupConfig) -> ConsumerGroup {
        ConsumerGroup {
            id: id.to_string(),
            cfg,
            epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            deadlines: BTreeMap::new(),
            static_members: BTreeMap::new(),
            targets: BTreeMap::new(),
            subscribed: BTreeMap::new(),
            topics: Arc::new(TopicImage::default()),
            regexes: HashMap::new(),
            dirty_members: BTreeSet::new(),
            removed_members: BTreeSet::new(),
            dirty_group: true,
        }
    }

    /// A group replayed from the store. Members keep their epochs and assignments; their
    /// sessions start at `now_ms`, so live clients continue without a rebalance.
    pub fn restore(id: &str, cfg: GroupConfig, loaded: LoadedConsumerGroup, now_ms: i64) -> Self {
        let mut g = ConsumerGroup::new(id, cfg);
        g.epoch = loaded.epoch;
        g.assignment_epoch = loaded.assignment_epoch;
        g.dirty_group = false;
        g.subscribed = loaded
            .topics
            .into_iter()
            .map(|(name, id, partitions)| (name, TopicMeta { id, partitions }))
            .collect();
        for (m, target) in loaded.members {
            if let Some(i) = &m.instance_id {
                g.static_members.insert(i.clone(), m.member_id.clone());
            }
            g.deadlines.insert(
                m.member_id.clone(),
                Deadlines {
                    session: Some(now_ms + g.cfg.consumer_session_timeout_ms),
                    revocation: (m.state == MemberState::UnrevokedPartitions)
                        .then(|| now_ms + i64::from(m.rebalance_timeout_ms.max(0))),
                },
            );
            g.targets.insert(m.member_id.clone(), target);
            g.members.insert(m.member_id.clone(), m);
        }
        g
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    #[cfg(test)]
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.assignment_epoch < self.epoch {
            ConsumerGroupState::Assigning
        } else if self.members.values().all(|m| {
            m.state == MemberState::Stable && m.epoch == self.assignment_epoch
                || m.epoch == LEFT_TEMPORARILY
        }) {
            ConsumerGroupState::Stable
        } else {
            ConsumerGroupState::Reconciling
        }
    }

    /// The topic names a member subscribes to: its names and the topics its regex matches.
    fn subscribed_names(&self, m: &ConsumerMember) -> BTreeSet<String> {
        let mut names = m.subscribed_topic_names.clone();
        if let Some(re) = m
            .subscribed_topic_regex
            .as_ref()
            .and_then(|p| self.regexes.get(p))
        {
            names.extend(
                self.topics
                    .names()
                    .filter(|n| re.is_match(n))
                    .map(str::to_string),
            );
        }
        names
    }

    /// Every topic some member subscribes to (and that exists), as the image has it.
    fn subscribed_topics(&self) -> BTreeMap<String, TopicMeta> {
        let mut out = BTreeMap::new();
        for m in self.members.values() {
            for name in self.subscribed_names(m) {
                if let Some(meta) = self.topics.get(&name) {
                    out.insert(name, meta);
                }
            }
        }
        out
    }

    /// Compiles a subscription regex (Kafka matches whole topic names, RE2/J syntax).
    fn compile(&mut self, pattern: &str) -> Result<(), regex::Error> {
        if !self.regexes.contains_key(pattern) {
            let re = Regex::new(&format!("^(?:{pattern})$"))?;
            self.regexes.insert(pattern.to_string(), re);
        }
        Ok(())
    }

    /// The assignor the members prefer most (ties: the configured order), else the default.
    fn assignor(&self) -> Assignor {
        let mut votes: BTreeMap<usize, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(name) = &m.server_assignor {
                if let Some(i) = self
                    .cfg
                    .consumer_assignors
                    .iter()
                    .position(|a| a.name() == name.as_str())
                {
                    *votes.entry(i).or_default() += 1;
                }
            }
        }
        let best = votes
            .iter()
            .max_by_key(|(i, n)| (**n, std::cmp::Reverse(**i)))
            .map(|(i, _)| *i)
            .unwrap_or(0);
        self.cfg
            .consumer_assignors
            .get(best)
            .copied()
            .unwrap_or(Assignor::Uniform)
    }

    /// Bumps the group epoch and recomputes the target assignment.
    fn bump_epoch(&mut self) {
        self.epoch += 1;
        self.dirty_group = true;
        self.assign();
    }

    /// Bumps the epoch if the subscribed topics changed (created, deleted, grown, matched).
    fn bump_if_topics_changed(&mut self) {
        let subscribed = self.subscribed_topics();
        if subscribed != self.subscribed {
            info!(group = %self.id, topics = subscribed.len(), "subscribed topics changed");
            self.bump_epoch();
        }
    }

    fn assign(&mut self) {
        self.subscribed = self.subscribed_topics();
        let subscriptions: BTreeMap<String, BTreeSet<String>> = self
            .members
            .values()
            .map(|m| (m.member_id.clone(), self.subscribed_names(m)))
            .collect();
        let next = self
            .assignor()
            .assign(&subscriptions, &self.topics, &self.targets);
        for (member, target) in &next {
            if self.targets.get(member) != Some(target) {
                self.dirty_members.insert(member.clone());
            }
        }
        self.targets = next;
        self.assignment_epoch = self.epoch;
        self.dirty_group = true;
        info!(group = %self.id, epoch = self.epoch, members = self.members.len(), "target assignment computed");
    }

    /// Whether no member other than `except` owns the partition (assigned or revoking).
    fn is_free(&self, except: &str, topic: Uuid, partition: i32) -> bool {
        self.members.values().all(|m| {
            m.member_id == except
                || !(m
                    .assigned
                    .get(&topic)
                    .is_some_and(|p| p.contains(&partition))
                    || m.pending_revocation
                        .get(&topic)
                        .is_some_and(|p| p.contains(&partition)))
        })
    }

    /// Removes a member and reassigns its partitions.
    fn remove_member(&mut self, member_id: &str) {
        let Some(m) = self.members.remove(member_id) else {
            return;
        };
        if let Some(i) = &m.instance_id {
            if self.static_members.get(i).is_some_and(|id| id == member_id) {
                self.static_members.remove(i);
            }
        }
        self.deadlines.remove(member_id);
        self.targets.remove(member_id);
        self.dirty_members.remove(member_id);
        self.removed_members.insert(member_id.to_string());
        self.bump_epoch();
    }

    /// Writes the durable form of what changed in this step.
    fn flush(&mut self, out: &mut Effects) {
        for id in std::mem::take(&mut self.removed_members) {
            if !self.members.contains_key(&id) {
                out.records.push(Record::ConsumerMemberTombstone {
                    group_id: self.id.clone(),
                    member_id: id,
                });
            }
        }
        if std::mem::take(&mut self.dirty_group) {
            out.records.push(Record::ConsumerGroup {
                group_id: self.id.clone(),
                epoch: self.epoch,
                assignment_epoch: self.assignment_epoch,
                topics: self
                    .subscribed
                    .iter()
                    .map(|(name, t)| (name.clone(), t.id, t.partitions))
                    .collect(),
            });
        }
        for id in std::mem::take(&mut self.dirty_members) {
            if let Some(m) = self.members.get(&id) {
                out.records.push(Record::ConsumerMember {
                    group_id: self.id.clone(),
                    member: Box::new(m.clone()),
                    target: self.targets.get(&id).cloned().unwrap_or_default(),
                });
            }
        }
    }

    /// The topics any member subscribes to (OffsetDelete refuses them while members exist).
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.subscribed_topics().into_keys().collect()
    }

    /// Removes every member (DeleteGroups on an empty group leaves nothing to remove; this is
    /// for converting an empty group to a classic one).
    pub fn tombstone(&self) -> Record {
        Record::ConsumerGroupTombstone {
            group_id: self.id.clone(),
        }
    }
}

/// The member epoch of a static member that left for a while (KIP-848).
pub const LEFT_TEMPORARILY: i32 = -2;
/// The member epoch of a member leaving for good.
pub const LEAVING: i32 = -1;
