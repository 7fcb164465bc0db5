//! The group state machine: membership, join rounds, generations and timers. Pure: every
//! operation takes `now_ms` and writes its replies and durable records into an [`Outbox`];
//! no I/O, no runtime. The per-request operations live in join.rs, membership.rs (sync,
//! heartbeat, leave) and commit.rs (offsets); this file holds the shared machinery, modelled on
//! Apache Kafka's classic group coordinator.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use tracing::{error, info};

use super::api::{
    GroupDescription, GroupListing, JoinResponse, JoinedMember, MemberDescription, SyncResponse,
};
use super::config::GroupConfig;
use super::error::GroupError;
use super::member::{Member, Ticket};
use super::offsets::{CommittedOffset, Offsets};
use super::record::{GroupMetadataRecord, LoadedGroup, Record};
use super::state::GroupState;

/// What an operation produced: replies to parked or immediate JoinGroup/SyncGroup requests,
/// and records that must be durable before any of these replies is sent.
#[derive(Debug, Default)]
pub struct Outbox {
    pub joins: Vec<(Ticket, Result<JoinResponse, GroupError>)>,
    pub syncs: Vec<(Ticket, Result<SyncResponse, GroupError>)>,
    pub records: Vec<Record>,
    /// Previous values of offsets changed by `records`, to restore if the write fails.
    pub undo_offsets: Vec<(String, i32, Option<CommittedOffset>)>,
}

impl Outbox {
    pub(crate) fn join_reply(&mut self, ticket: Ticket, r: Result<JoinResponse, GroupError>) {
        self.joins.push((ticket, r));
    }

    pub(crate) fn sync_reply(&mut self, ticket: Ticket, r: Result<SyncResponse, GroupError>) {
        self.syncs.push((ticket, r));
    }

    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.syncs.is_empty() && self.records.is_empty()
    }
}

/// How the open join round ends when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinTimer {
    /// The first round of an empty group: `group.initial.rebalance.delay.ms`, extended while
    /// new members keep arriving, for at most `remaining_ms` more.
    Initial { delay_ms: i64, remaining_ms: i64 },
    /// Any other round: the rebalance timeout; it may also complete as soon as every member
    /// has rejoined.
    Rebalance,
}

/// One classic group.
#[derive(Debug)]
pub struct Group {
    pub(crate) id: String,
    pub(crate) cfg: GroupConfig,
    /// False for a group nobody created yet (a request addressed an unknown group id).
    pub(crate) exists: bool,
    pub(crate) state: GroupState,
    pub(crate) previous_state: GroupState,
    pub(crate) state_timestamp_ms: i64,
    pub(crate) generation: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// group.instance.id -> member id.
    pub(crate) static_members: BTreeMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, awaiting the rejoin -> expiry deadline.
    pub(crate) pending_members: BTreeMap<String, i64>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pub(crate) pending_sync: BTreeSet<String>,
    pub(crate) sync_deadline: Option<i64>,
    pub(crate) join_deadline: Option<i64>,
    pub(crate) join_timer: JoinTimer,
    /// A member joined during the initial delay: extend it once more.
    pub(crate) new_member_added: bool,
    next_seq: u64,
    pub(crate) offsets: Offsets,
    pub(crate) next_expiry_check_ms: i64,
}

impl Group {
    /// A group that does not exist yet. Requests that create groups (a JoinGroup from a new
    /// member, a standalone commit) make it exist; others answer as Kafka does for unknown
    /// groups.
    pub fn absent(id: &str, cfg: GroupConfig, now_ms: i64) -> Group {
        Group {
            id: id.to_string(),
            next_expiry_check_ms: now_ms + cfg.offsets_retention_check_interval_ms,
            cfg,
            exists: false,
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            sync_deadline: None,
            join_deadline: None,
            join_timer: JoinTimer::Rebalance,
            new_member_added: false,
            next_seq: 0,
            offsets: Offsets::default(),
        }
    }

    /// A group replayed from the store: Stable with its members if it had any (their session
    /// timers start now), otherwise Empty. Like Kafka, a group over `group.max.size` is
    /// rebalanced at once (see [`Group::on_loaded`]).
    pub fn restore(id: &str, cfg: GroupConfig, loaded: LoadedGroup, now_ms: i64) -> Group {
        let mut g = Group::absent(id, cfg, now_ms);
        g.exists = true;
        for (topic, partition, value) in loaded.offsets {
            g.offsets.put(&topic, partition, value);
        }
        if let Some(meta) = loaded.metadata {
            g.generation = meta.generation_id;
            g.protocol_type = meta.protocol_type;
            g.state_timestamp_ms = meta.state_timestamp_ms;
            if meta.protocol_name.is_some() && !meta.members.is_empty() {
                g.protocol_name = meta.protocol_name;
                for r in meta.members {
                    let seq = g.take_seq();
                    let m = Member::from_record(r, seq, now_ms);
                    if let Some(inst) = &m.group_instance_id {
                        g.static_members.insert(inst.clone(), m.member_id.clone());
                    }
                    g.members.insert(m.member_id.clone(), m);
                }
                g.leader = meta
                    .leader
                    .filter(|l| g.members.contains_key(l))
                    .or_else(|| g.first_member_id());
                g.state = GroupState::Stable;
                g.previous_state = GroupState::Stable;
            }
        }
        g
    }

    /// Called once after [`Group::restore`].
    pub fn on_loaded(&mut self, now_ms: i64, out: &mut Outbox) {
        if self.state == GroupState::Stable && self.members.len() as i64 > self.cfg.max_size as i64
        {
            info!(group = %self.id, "loaded group is over group.max.size; rebalancing");
            self.prepare_rebalance(now_ms, out);
        }
    }

    // ----- accessors -----------------------------------------------------------------------

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn exists(&self) -> bool {
        self.exists
    }

    pub fn generation(&self) -> i32 {
        self.generation
    }

    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    pub fn offsets(&self) -> &Offsets {
        &self.offsets
    }

    /// Member ids in join order.
    pub fn member_ids(&self) -> Vec<String> {
        self.members_in_order()
            .iter()
            .map(|m| m.member_id.clone())
            .collect()
    }

    /// The member's current assignment.
    pub fn assignment(&self, member_id: &str) -> Option<Bytes> {
        self.members.get(member_id).map(|m| m.assignment.clone())
    }

    /// Whether the actor can forget this group: it never existed or it is Dead.
    pub fn is_gone(&self) -> bool {
        !self.exists || self.state == GroupState::Dead
    }

    // ----- descriptions --------------------------------------------------------------------

    /// The DescribeGroups view (Kafka shows metadata and assignments only when Stable).
    pub fn describe(&self) -> GroupDescription {
        if self.is_gone() {
            return GroupDescription {
                group_id: self.id.clone(),
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
            };
        }
        let stable = self.state == GroupState::Stable;
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            group_id: self.id.clone(),
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_data: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: self
                .members_in_order()
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    /// The ListGroups view; `None` for a group that does not exist.
    pub fn listing(&self) -> Option<GroupListing> {
        (!self.is_gone()).then(|| GroupListing {
            group_id: self.id.clone(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            state: self.state,
        })
    }

    /// The durable form of the group's membership.
    pub(crate) fn metadata_record(&self) -> Record {
        Record::Group {
            group_id: self.id.clone(),
            metadata: GroupMetadataRecord {
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol_name.clone(),
                generation_id: self.generation,
                leader: self.leader.clone(),
                state_timestamp_ms: self.state_timestamp_ms,
                members: self
                    .members_in_order()
                    .iter()
                    .map(|m| m.to_record())
                    .collect(),
            },
        }
    }

    // ----- timers --------------------------------------------------------------------------

    /// The earliest time at which [`Group::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        let members = self.members.values().filter_map(|m| m.heartbeat_deadline);
        let pending = self.pending_members.values().copied();
        let expiry =
            (self.exists && self.state != GroupState::Dead).then_some(self.next_expiry_check_ms);
        [self.join_deadline, self.sync_deadline, expiry]
            .into_iter()
            .flatten()
            .chain(members)
            .chain(pending)
            .min()
    }

    /// Fires every timer due at `now_ms`: pending member ids and sessions expire, the join
    /// round or the sync wait times out, offsets expire.
    pub fn tick(&mut self, now_ms: i64, out: &mut Outbox) {
        let expired: Vec<String> = self
            .pending_members
            .iter()
            .filter(|(_, d)| **d <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            info!(group = %self.id, member = %id, "pending member expired before rejoining");
            self.pending_members.remove(&id);
            if self.state == GroupState::PreparingRebalance {
                self.maybe_complete_join(now_ms, out);
            }
        }

        let due: Vec<String> = self
            .members
            .values()
            .filter(|m| m.heartbeat_deadline.is_some_and(|d| d <= now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        for id in due {
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if m.heartbeat_deadline.is_none_or(|d| d > now_ms) {
                continue; // rescheduled by an earlier expiry in this tick
            }
            if m.has_satisfied_heartbeat() {
                // Check again later (never at `now`, so a timer cannot spin).
                m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms.max(1));
            } else {
                info!(group = %self.id, member = %id, "member session expired");
                self.remove_member_and_update(&id, now_ms, out);
            }
        }

        if self.join_deadline.is_some_and(|d| d <= now_ms) {
            self.on_join_timer(now_ms, out);
        }
        if self.sync_deadline.is_some_and(|d| d <= now_ms) {
            self.on_sync_timeout(now_ms, out);
        }
        if self.exists && self.state != GroupState::Dead && self.next_expiry_check_ms <= now_ms {
            self.next_expiry_check_ms =
                now_ms + self.cfg.offsets_retention_check_interval_ms.max(1);
            self.expire_offsets(now_ms, out);
        }
    }

    fn on_join_timer(&mut self, now_ms: i64, out: &mut Outbox) {
        self.join_deadline = None;
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        match self.join_timer {
            JoinTimer::Initial {
                delay_ms,
                remaining_ms,
            } if self.new_member_added && remaining_ms > 0 => {
                self.new_member_added = false;
                let next_delay = self.cfg.initial_rebalance_delay_ms.min(remaining_ms);
                let next_remaining = (remaining_ms - delay_ms).max(0);
                self.join_timer = JoinTimer::Initial {
                    delay_ms: next_delay,
                    remaining_ms: next_remaining,
                };
                self.join_deadline = Some(now_ms + next_delay);
            }
            _ => self.complete_join(now_ms, out),
        }
    }

    /// Members that did not send SyncGroup within the rebalance timeout after the round
    /// completed are removed and the group rebalances.
    fn on_sync_timeout(&mut self, now_ms: i64, out: &mut Outbox) {
        self.sync_deadline = None;
        if !matches!(
            self.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) || self.pending_sync.is_empty()
        {
            return;
        }
        let pending: Vec<String> = self.pending_sync.iter().cloned().collect();
        info!(group = %self.id, members = ?pending, "members did not sync in time; removing them");
        for id in pending {
            self.remove_member(&id, out);
        }
        self.prepare_rebalance(now_ms, out);
    }

    // ----- transitions and rounds ------------------------------------------------------------

    pub(crate) fn transition(&mut self, to: GroupState, now_ms: i64) {
        if !to.can_enter_from(self.state) {
            error!(group = %self.id, from = %self.state, to = %to, "invalid group state transition");
            #[cfg(test)]
            panic!("invalid transition {} -> {}", self.state, to);
        }
        self.previous_state = self.state;
        self.state = to;
        self.state_timestamp_ms = now_ms;
    }

    fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    /// The largest rebalance timeout of the members (bounds a join round).
    pub(crate) fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn maybe_prepare_rebalance_or_complete_join(
        &mut self,
        now_ms: i64,
        out: &mut Outbox,
    ) {
        if self.can_rebalance() {
            self.prepare_rebalance(now_ms, out);
        } else {
            self.maybe_complete_join(now_ms, out);
        }
    }

    /// Opens a join round: parked syncs are told to rejoin, the join timer is armed.
    pub(crate) fn prepare_rebalance(&mut self, now_ms: i64, out: &mut Outbox) {
        if self.state == GroupState::CompletingRebalance {
            self.reset_and_propagate_assignment_error(GroupError::RebalanceInProgress, out);
        }
        self.sync_deadline = None;
        self.pending_sync.clear();
        let initial = self.state == GroupState::Empty;
        self.transition(GroupState::PreparingRebalance, now_ms);
        if initial {
            let delay_ms = self.cfg.initial_rebalance_delay_ms;
            let remaining_ms = (self.rebalance_timeout_ms() - delay_ms).max(0);
            self.join_timer = JoinTimer::Initial {
                delay_ms,
                remaining_ms,
            };
            self.join_deadline = Some(now_ms + delay_ms);
            self.new_member_added = false;
        } else {
            self.join_timer = JoinTimer::Rebalance;
            self.join_deadline = Some(now_ms + self.rebalance_timeout_ms());
            self.maybe_complete_join(now_ms, out);
        }
    }

    /// Every member has rejoined and no member is pending its id.
    fn has_all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Completes a (non-initial) round early once everyone has rejoined.
    pub(crate) fn maybe_complete_join(&mut self, now_ms: i64, out: &mut Outbox) {
        if self.state == GroupState::PreparingRebalance
            && self.join_timer == JoinTimer::Rebalance
            && self.has_all_members_joined()
        {
            self.complete_join(now_ms, out);
        }
    }

    /// Ends the join round: dynamic members that did not rejoin are removed, a new generation
    /// starts with a selected protocol and a leader, and every parked JoinGroup is answered.
    fn complete_join(&mut self, now_ms: i64, out: &mut Outbox) {
        let not_rejoined: Vec<String> = self
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in not_rejoined {
            info!(group = %self.id, member = %id, "member did not rejoin in time; removing it");
            self.remove_member(&id, out);
        }

        if !self.maybe_elect_new_joined_leader() && !self.members.is_empty() {
            // Only static members that have not rejoined are left: wait for them (or for
            // their sessions to expire) for another rebalance timeout.
            self.join_timer = JoinTimer::Rebalance;
            self.join_deadline = Some(now_ms + self.rebalance_timeout_ms().max(1));
            return;
        }
        self.join_deadline = None;
        self.generation += 1;

        if self.members.is_empty() {
            self.protocol_name = None;
            self.transition(GroupState::Empty, now_ms);
            info!(group = %self.id, generation = self.generation, "group is now empty");
            out.records.push(self.metadata_record());
            return;
        }

        self.protocol_name = Some(self.select_protocol());
        self.transition(GroupState::CompletingRebalance, now_ms);
        info!(
            group = %self.id,
            generation = self.generation,
            protocol = self.protocol_name.as_deref().unwrap_or(""),
            members = self.members.len(),
            "join round complete"
        );
        let leader_members = self.current_members();
        let leader = self.leader.clone().unwrap_or_default();
        let ids = self.member_ids();
        for id in ids {
            let response = self.join_response(&id, id == leader, &leader_members);
            let Some(m) = self.members.get_mut(&id) else {
                continue;
            };
            if let Some(ticket) = m.awaiting_join.take() {
                out.join_reply(ticket, Ok(response));
            }
            m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms);
            m.is_new = false;
            self.pending_sync.insert(id);
        }
        self.sync_deadline = Some(now_ms + self.rebalance_timeout_ms());
    }

    fn join_response(
        &self,
        member_id: &str,
        is_leader: bool,
        leader_members: &[JoinedMember],
    ) -> JoinResponse {
        JoinResponse {
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members: if is_leader {
                leader_members.to_vec()
            } else {
                Vec::new()
            },
        }
    }

    /// The current generation as a JoinGroup response (for a rejoin that changes nothing).
    pub(crate) fn current_join_response(
        &self,
        member_id: &str,
        include_members: bool,
    ) -> JoinResponse {
        let members = if include_members {
            self.current_members()
        } else {
            Vec::new()
        };
        self.join_response(member_id, include_members, &members)
    }

    /// Keeps the leader if it rejoined, else promotes a member that did. False when the
    /// leader and nobody else rejoined.
    fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.clone() else {
            return false;
        };
        if self
            .members
            .get(&leader)
            .is_some_and(|m| m.awaiting_join.is_some())
        {
            return true;
        }
        match self
            .members_in_order()
            .into_iter()
            .find(|m| m.awaiting_join.is_some())
        {
            Some(m) => {
                let id = m.member_id.clone();
                info!(group = %self.id, old = %leader, new = %id, "leader did not rejoin; new leader elected");
                self.leader = Some(id);
                true
            }
            None => false,
        }
    }

    /// The protocol every member supports that most members prefer (ties go to the earliest
    /// joined member's vote), as Kafka's `selectProtocol`.
    pub(crate) fn select_protocol(&self) -> String {
        let members = self.members_in_order();
        let candidates: Vec<&str> = match members.first() {
            Some(first) => first
                .protocols
                .iter()
                .map(|(n, _)| n.as_str())
                .filter(|n| members.iter().all(|m| m.supports(n)))
                .collect(),
            None => Vec::new(),
        };
        let mut votes: Vec<(&str, usize)> = Vec::new();
        for m in &members {
            if let Some(choice) = m.vote(&candidates) {
                match votes.iter_mut().find(|(n, _)| *n == choice) {
                    Some((_, c)) => *c += 1,
                    None => votes.push((choice, 1)),
                }
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for (name, count) in votes {
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((name, count));
            }
        }
        match best {
            Some((name, _)) => name.to_string(),
            // Unreachable while joins are checked with supports_protocols; never panic.
            None => members
                .first()
                .and_then(|m| m.protocols.first())
                .map(|(n, _)| n.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether a member with these protocols may be in the group (Kafka's `supportsProtocols`).
    pub(crate) fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members.values().filter(|m| m.supports(name)).count() == self.members.len()
            })
    }

    /// The members as listed to the leader.
    pub(crate) fn current_members(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members_in_order()
            .into_iter()
            .map(|m| JoinedMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(&protocol),
            })
            .collect()
    }

    // ----- membership ----------------------------------------------------------------------

    pub(crate) fn members_in_order(&self) -> Vec<&Member> {
        let mut v: Vec<&Member> = self.members.values().collect();
        v.sort_by_key(|m| m.seq);
        v
    }

    fn first_member_id(&self) -> Option<String> {
        self.members_in_order().first().map(|m| m.member_id.clone())
    }

    pub(crate) fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Adds a member (the first one sets the group's protocol type and becomes leader).
    pub(crate) fn add_member(&mut self, member: Member, protocol_type: &str) {
        if self.members.is_empty() {
            self.protocol_type = Some(protocol_type.to_string());
        }
        if self.leader.is_none() {
            self.leader = Some(member.member_id.clone());
        }
        if let Some(inst) = &member.group_instance_id {
            self.static_members
                .insert(inst.clone(), member.member_id.clone());
        }
        self.pending_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member, answering its parked requests with UNKNOWN_MEMBER_ID (Kafka answers
    /// a parked join this way so that a live client rejoins). The leader passes on.
    pub(crate) fn remove_member(&mut self, member_id: &str, out: &mut Outbox) -> Option<Member> {
        let mut m = self.members.remove(member_id)?;
        if let Some(t) = m.awaiting_join.take() {
            out.join_reply(t, Err(GroupError::UnknownMemberId));
        }
        if let Some(t) = m.awaiting_sync.take() {
            out.sync_reply(t, Err(GroupError::UnknownMemberId));
        }
        if let Some(inst) = &m.group_instance_id {
            if self
                .static_members
                .get(inst)
                .is_some_and(|id| id == member_id)
            {
                self.static_members.remove(inst);
            }
        }
        self.pending_sync.remove(member_id);
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.first_member_id();
        }
        Some(m)
    }

    /// Removes a member and lets the group react: a rebalance if it was Stable or
    /// CompletingRebalance, a possible end of the join round if one is open.
    pub(crate) fn remove_member_and_update(
        &mut self,
        member_id: &str,
        now_ms: i64,
        out: &mut Outbox,
    ) {
        if self.remove_member(member_id, out).is_none() {
            return;
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance_or_complete_join(now_ms, out)
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(now_ms, out),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Answers every parked SyncGroup with `error` and clears the assignments.
    fn reset_and_propagate_assignment_error(&mut self, error: GroupError, out: &mut Outbox) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(t) = m.awaiting_sync.take() {
                out.sync_reply(t, Err(error.clone()));
            }
        }
    }

    /// Installs the leader's assignment (members it left out get an empty one) and answers
    /// every parked SyncGroup.
    pub(crate) fn set_and_propagate_assignment(
        &mut self,
        assignments: BTreeMap<String, Bytes>,
        now_ms: i64,
        out: &mut Outbox,
    ) {
        let response = |assignment: Bytes| SyncResponse {
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        };
        let mut replies = Vec::new();
        for m in self.members.values_mut() {
            m.assignment = assignments.get(&m.member_id).cloned().unwrap_or_default();
            if let Some(t) = m.awaiting_sync.take() {
                m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms);
                replies.push((t, m.assignment.clone()));
            }
        }
        for (t, a) in replies {
            out.sync_reply(t, Ok(response(a)));
        }
    }

    /// After the store failed to persist this step: rebalance, as Kafka does when storing an
    /// assignment fails (members are told to rejoin; nothing half-written is kept).
    pub fn on_store_failure(&mut self, now_ms: i64, out: &mut Outbox) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance
        ) {
            self.prepare_rebalance(now_ms, out);
        }
    }

    /// Restores offsets changed by a failed write.
    pub fn undo_offsets(&mut self, undo: Vec<(String, i32, Option<CommittedOffset>)>) {
        for (topic, partition, old) in undo.into_iter().rev() {
            match old {
                Some(v) => {
                    self.offsets.put(&topic, partition, v);
                }
                None => {
                    self.offsets.remove(&topic, partition);
                }
            }
        }
    }

    /// Validates a request's member and instance ids (Kafka's `validateMember`).
    pub(crate) fn validate_member(
        &self,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(inst) = instance {
            match self.static_members.get(inst) {
                None => return Err(GroupError::UnknownMemberId),
                Some(id) if id != member_id => return Err(GroupError::FencedInstanceId),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        Ok(())
    }

    pub(crate) fn refresh_heartbeat(&mut self, member_id: &str, now_ms: i64) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms);
        }
    }
}
