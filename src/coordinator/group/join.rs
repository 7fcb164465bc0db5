//! JoinGroup: new members, rejoining members, MEMBER_ID_REQUIRED, `group.max.size` and
//! static membership (KIP-345), as Kafka's classic coordinator.

use bytes::Bytes;
use tracing::{debug, info};

use super::{Effects, Group};
use crate::coordinator::api::{JoinRequest, JoinResponse};
use crate::coordinator::error::GroupError;
use crate::coordinator::member::{Member, Ticket};
use crate::coordinator::state::GroupState;

impl Group {
    /// Handles a JoinGroup. The reply is written to `out` under `ticket`: at once, or when
    /// the join round completes. `fresh_member_id` becomes the id of a new member.
    pub fn join(
        &mut self,
        req: JoinRequest,
        ticket: Ticket,
        fresh_member_id: String,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let session = i64::from(req.session_timeout_ms);
        if session < self.cfg.min_session_timeout_ms || session > self.cfg.max_session_timeout_ms {
            return out.join_reply(ticket, Err(GroupError::InvalidSessionTimeout));
        }
        let is_new = req.member_id.is_empty();
        debug!(
            group = %self.id,
            member = %req.member_id,
            instance = req.group_instance_id.as_deref().unwrap_or(""),
            reason = req.reason.as_deref().unwrap_or(""),
            state = %self.state,
            "join"
        );
        if !self.exists {
            if !is_new {
                return out.join_reply(ticket, Err(GroupError::UnknownMemberId));
            }
            self.exists = true;
        }
        if !self.accept_joining_member(&req.member_id) {
            info!(group = %self.id, member = %req.member_id, "group.max.size reached");
            if self.remove_member(&req.member_id, out).is_some() {
                self.maybe_complete_join(now_ms, out);
            }
            return out.join_reply(ticket, Err(GroupError::GroupMaxSizeReached));
        }
        if is_new {
            self.join_new_member(req, ticket, fresh_member_id, now_ms, out);
        } else {
            self.join_existing_member(req, ticket, now_ms, out);
        }
    }

    /// Kafka's `acceptJoiningMember`: known members are always accepted; new ones up to
    /// `group.max.size` (counting only members that rejoined while a round is open).
    fn accept_joining_member(&self, member_id: &str) -> bool {
        let max = i64::from(self.cfg.max_size);
        let known = self.members.get(member_id);
        match self.state {
            GroupState::Empty | GroupState::Dead => true,
            GroupState::PreparingRebalance => {
                known.is_some_and(|m| m.awaiting_join.is_some())
                    || (self
                        .members
                        .values()
                        .filter(|m| m.awaiting_join.is_some())
                        .count() as i64)
                        < max
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                known.is_some() || (self.members.len() as i64) < max
            }
        }
    }

    fn join_new_member(
        &mut self,
        req: JoinRequest,
        ticket: Ticket,
        new_id: String,
        now_ms: i64,
        out: &mut Effects,
    ) {
        if self.state == GroupState::Dead {
            return out.join_reply(ticket, Err(GroupError::CoordinatorNotAvailable));
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            return out.join_reply(ticket, Err(GroupError::InconsistentGroupProtocol));
        }
        match req.group_instance_id.clone() {
            Some(instance) => match self.static_members.get(&instance).cloned() {
                Some(old_id) => {
                    info!(group = %self.id, %instance, old = %old_id, new = %new_id, "static member rejoins; replacing its member id");
                    self.update_static_member(&old_id, new_id, req, ticket, now_ms, out);
                }
                None => self.add_member_and_rebalance(new_id, req, ticket, now_ms, out),
            },
            None if req.require_known_member_id => {
                let deadline = now_ms + i64::from(req.session_timeout_ms);
                self.pending_members.insert(new_id.clone(), deadline);
                out.join_reply(
                    ticket,
                    Err(GroupError::MemberIdRequired { member_id: new_id }),
                );
            }
            None => self.add_member_and_rebalance(new_id, req, ticket, now_ms, out),
        }
    }

    fn join_existing_member(
        &mut self,
        req: JoinRequest,
        ticket: Ticket,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let member_id = req.member_id.clone();
        if self.state == GroupState::Dead {
            return out.join_reply(ticket, Err(GroupError::CoordinatorNotAvailable));
        }
        if !self.supports_protocols(&req.protocol_type, &req.protocols) {
            return out.join_reply(ticket, Err(GroupError::InconsistentGroupProtocol));
        }
        if self.pending_members.contains_key(&member_id) {
            // The rejoin after MEMBER_ID_REQUIRED. Pending members are always dynamic.
            if req.group_instance_id.is_some() {
                return out.join_reply(ticket, Err(GroupError::UnknownMemberId));
            }
            return self.add_member_and_rebalance(member_id, req, ticket, now_ms, out);
        }
        if let Err(e) = self.validate_member(&member_id, req.group_instance_id.as_deref()) {
            return out.join_reply(ticket, Err(e));
        }
        let is_leader = self.leader.as_deref() == Some(member_id.as_str());
        let unchanged = self
            .members
            .get(&member_id)
            .is_some_and(|m| m.matches(&req.protocols));
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(req, ticket, now_ms, out)
            }
            // Same metadata: the member probably lost the JoinGroup response; repeat it.
            GroupState::CompletingRebalance if unchanged => out.join_reply(
                ticket,
                Ok(self.current_join_response(&member_id, is_leader)),
            ),
            // A follower with nothing new gets the current generation and goes on to SyncGroup;
            // the leader rejoining always rebalances (it may have seen a topic change).
            GroupState::Stable if unchanged && !is_leader => {
                out.join_reply(ticket, Ok(self.current_join_response(&member_id, false)))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(req, ticket, now_ms, out)
            }
            GroupState::Empty | GroupState::Dead => {
                out.join_reply(ticket, Err(GroupError::UnknownMemberId))
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        req: JoinRequest,
        ticket: Ticket,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let seq = self.take_seq();
        let member = Member {
            member_id,
            group_instance_id: req.group_instance_id,
            client_id: req.client_id,
            client_host: req.client_host,
            session_timeout_ms: i64::from(req.session_timeout_ms),
            rebalance_timeout_ms: i64::from(req.rebalance_timeout_ms),
            protocols: req.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(ticket),
            awaiting_sync: None,
            // A new member cannot heartbeat while parked; bound its wait instead.
            heartbeat_deadline: Some(now_ms + self.cfg.new_member_join_timeout_ms),
            is_new: true,
            seq,
        };
        if self.state == GroupState::PreparingRebalance && self.previous_state == GroupState::Empty
        {
            self.new_member_added = true;
        }
        self.add_member(member, &req.protocol_type);
        self.maybe_prepare_rebalance_or_complete_join(now_ms, out);
    }

    fn update_member_and_rebalance(
        &mut self,
        req: JoinRequest,
        ticket: Ticket,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let Some(m) = self.members.get_mut(&req.member_id) else {
            return out.join_reply(ticket, Err(GroupError::UnknownMemberId));
        };
        m.protocols = req.protocols;
        m.rebalance_timeout_ms = i64::from(req.rebalance_timeout_ms);
        m.session_timeout_ms = i64::from(req.session_timeout_ms);
        if let Some(previous) = m.awaiting_join.replace(ticket) {
            // A repeated JoinGroup replaces the parked one.
            out.join_reply(previous, Err(GroupError::RebalanceInProgress));
        }
        self.maybe_prepare_rebalance_or_complete_join(now_ms, out);
    }

    /// A static member rejoined with an empty member id: the new id takes over the old
    /// member (its assignment included) and the old id is fenced. In a Stable group whose
    /// selected protocol stays the same there is no rebalance: the group is persisted and the
    /// member is answered with the current generation.
    fn update_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        req: JoinRequest,
        ticket: Ticket,
        now_ms: i64,
        out: &mut Effects,
    ) {
        let previous_leader = self.leader.clone().unwrap_or_default();
        let Some(mut m) = self.members.remove(old_id) else {
            return out.join_reply(ticket, Err(GroupError::UnknownMemberId));
        };
        if let Some(t) = m.awaiting_join.take() {
            out.join_reply(t, Err(GroupError::FencedInstanceId));
        }
        if let Some(t) = m.awaiting_sync.take() {
            out.sync_reply(t, Err(GroupError::FencedInstanceId));
        }
        m.member_id = new_id.clone();
        m.protocols = req.protocols;
        m.rebalance_timeout_ms = i64::from(req.rebalance_timeout_ms);
        m.session_timeout_ms = i64::from(req.session_timeout_ms);
        m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms);
        m.awaiting_join = Some(ticket);
        if let Some(instance) = &m.group_instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        self.members.insert(new_id.clone(), m);

        match self.state {
            GroupState::Stable => {
                let next_protocol = self.select_protocol();
                if self.protocol_name.as_deref() == Some(next_protocol.as_str()) {
                    if let Some(m) = self.members.get_mut(&new_id) {
                        m.awaiting_join = None;
                    }
                    let is_leader = self.leader.as_deref() == Some(new_id.as_str());
                    let response = if req.supports_skip_assignment {
                        // v9+: the leader learns it leads but must not reassign.
                        JoinResponse {
                            skip_assignment: is_leader,
                            ..self.current_join_response(&new_id, is_leader)
                        }
                    } else {
                        // Older clients are told the old leader id, so a replaced leader does
                        // not compute an assignment a Stable group would never hand out.
                        JoinResponse {
                            leader: previous_leader,
                            ..self.current_join_response(&new_id, false)
                        }
                    };
                    out.records.push(self.metadata_record());
                    out.join_reply(ticket, Ok(response));
                } else {
                    self.maybe_prepare_rebalance_or_complete_join(now_ms, out);
                }
            }
            // The leader may already be assigning to the old member id: rebalance.
            GroupState::CompletingRebalance => self.prepare_rebalance(now_ms, out),
            GroupState::PreparingRebalance => self.maybe_complete_join(now_ms, out),
            // Unreachable: a group with a static member is neither Empty nor Dead.
            GroupState::Empty | GroupState::Dead => {
                if let Some(t) = self
                    .members
                    .get_mut(&new_id)
                    .and_then(|m| m.awaiting_join.take())
                {
                    out.join_reply(t, Err(GroupError::CoordinatorNotAvailable));
                }
            }
        }
    }
}
