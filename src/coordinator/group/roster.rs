//! A group's members: adding, removing (and the group's reaction), validating request ids,
//! heartbeats, and installing or clearing their assignments.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Effects, Group};
use crate::coordinator::api::SyncResponse;
use crate::coordinator::error::GroupError;
use crate::coordinator::member::Member;
use crate::coordinator::state::GroupState;

impl Group {
    /// Adds a member (the first one sets the group's protocol type and becomes leader).
    pub(super) fn add_member(&mut self, member: Member, protocol_type: &str) {
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
    pub(super) fn remove_member(&mut self, member_id: &str, out: &mut Effects) -> Option<Member> {
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
    pub(super) fn remove_member_and_update(
        &mut self,
        member_id: &str,
        now_ms: i64,
        out: &mut Effects,
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
    pub(super) fn reset_and_propagate_assignment_error(
        &mut self,
        error: GroupError,
        out: &mut Effects,
    ) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(t) = m.awaiting_sync.take() {
                out.sync_reply(t, Err(error.clone()));
            }
        }
    }

    /// Installs the leader's assignment (members it left out get an empty one) and answers
    /// every parked SyncGroup.
    pub(super) fn set_and_propagate_assignment(
        &mut self,
        assignments: BTreeMap<String, Bytes>,
        now_ms: i64,
        out: &mut Effects,
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

    /// Validates a request's member and instance ids (Kafka's `validateMember`).
    pub(super) fn validate_member(
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

    pub(super) fn refresh_heartbeat(&mut self, member_id: &str, now_ms: i64) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.heartbeat_deadline = Some(now_ms + m.session_timeout_ms);
        }
    }
}
