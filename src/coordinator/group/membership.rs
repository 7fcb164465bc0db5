//! SyncGroup, Heartbeat and LeaveGroup, as Kafka's classic coordinator.

use std::collections::BTreeMap;

use tracing::info;

use super::{Effects, Group};
use crate::coordinator::api::{
    HeartbeatRequest, LeaveMember, LeaveResult, SyncRequest, SyncResponse,
};
use crate::coordinator::error::GroupError;
use crate::coordinator::member::Ticket;
use crate::coordinator::state::GroupState;

impl Group {
    /// Handles a SyncGroup. The reply is written to `out` under `ticket`: at once, or (for a
    /// follower while CompletingRebalance) when the leader's assignment arrives.
    pub fn sync(&mut self, req: SyncRequest, ticket: Ticket, now_ms: i64, out: &mut Effects) {
        if let Err(e) = self.validate_sync(&req) {
            return out.sync_reply(ticket, Err(e));
        }
        let member_id = req.member_id.clone();
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                out.sync_reply(ticket, Err(GroupError::UnknownMemberId))
            }
            GroupState::PreparingRebalance => {
                out.sync_reply(ticket, Err(GroupError::RebalanceInProgress))
            }
            GroupState::CompletingRebalance => {
                self.pending_sync.remove(&member_id);
                // A SyncGroup is a sign of life too.
                self.refresh_heartbeat(&member_id, now_ms);
                if let Some(m) = self.members.get_mut(&member_id) {
                    if let Some(previous) = m.awaiting_sync.replace(ticket) {
                        out.sync_reply(previous, Err(GroupError::RebalanceInProgress));
                    }
                }
                if self.leader.as_deref() == Some(member_id.as_str()) {
                    info!(group = %self.id, generation = self.generation, "assignment received from the leader");
                    let assignments: BTreeMap<_, _> = req.assignments.into_iter().collect();
                    self.set_and_propagate_assignment(assignments, now_ms, out);
                    self.transition(GroupState::Stable, now_ms);
                    out.records.push(self.metadata_record());
                }
            }
            GroupState::Stable => {
                self.pending_sync.remove(&member_id);
                self.refresh_heartbeat(&member_id, now_ms);
                let assignment = self.assignment(&member_id).unwrap_or_default();
                out.sync_reply(
                    ticket,
                    Ok(SyncResponse {
                        protocol_type: self.protocol_type.clone(),
                        protocol_name: self.protocol_name.clone(),
                        assignment,
                    }),
                );
            }
        }
    }

    fn validate_sync(&self, req: &SyncRequest) -> Result<(), GroupError> {
        if !self.exists {
            return Err(GroupError::UnknownMemberId);
        }
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        self.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
        if req.generation_id != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        if req.protocol_type.is_some() && req.protocol_type != self.protocol_type {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        if req.protocol_name.is_some() && req.protocol_name != self.protocol_name {
            return Err(GroupError::InconsistentGroupProtocol);
        }
        Ok(())
    }

    /// Handles a Heartbeat: keeps the member's session alive and tells it whether to rejoin.
    pub fn heartbeat(&mut self, req: &HeartbeatRequest, now_ms: i64) -> Result<(), GroupError> {
        if !self.exists {
            return Err(GroupError::UnknownMemberId);
        }
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        self.validate_member(&req.member_id, req.group_instance_id.as_deref())?;
        if req.generation_id != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                self.refresh_heartbeat(&req.member_id, now_ms);
                Err(GroupError::RebalanceInProgress)
            }
            // Members may heartbeat between their JoinGroup response and SyncGroup.
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.refresh_heartbeat(&req.member_id, now_ms);
                Ok(())
            }
        }
    }

    /// Handles a LeaveGroup. `Err` is a group-level error; otherwise one result per member.
    pub fn leave(
        &mut self,
        members: Vec<LeaveMember>,
        now_ms: i64,
        out: &mut Effects,
    ) -> Result<Vec<LeaveResult>, GroupError> {
        if self.exists && self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let mut results = Vec::with_capacity(members.len());
        for leaving in members {
            let result = if !self.exists {
                Err(GroupError::UnknownMemberId)
            } else {
                self.leave_one(&leaving, now_ms, out)
            };
            if result.is_ok() {
                info!(
                    group = %self.id,
                    member = %leaving.member_id,
                    instance = leaving.group_instance_id.as_deref().unwrap_or(""),
                    reason = leaving.reason.as_deref().unwrap_or(""),
                    "member left the group"
                );
            }
            results.push(LeaveResult {
                member_id: leaving.member_id,
                group_instance_id: leaving.group_instance_id,
                result,
            });
        }
        Ok(results)
    }

    fn leave_one(
        &mut self,
        leaving: &LeaveMember,
        now_ms: i64,
        out: &mut Effects,
    ) -> Result<(), GroupError> {
        let instance = leaving.group_instance_id.as_deref();
        if leaving.member_id.is_empty() {
            // Administrative removal of a static member by its instance id.
            let Some(id) = instance.and_then(|i| self.static_members.get(i)).cloned() else {
                return Err(GroupError::UnknownMemberId);
            };
            self.remove_member_and_update(&id, now_ms, out);
            return Ok(());
        }
        if self.pending_members.remove(&leaving.member_id).is_some() {
            if self.state == GroupState::PreparingRebalance {
                self.maybe_complete_join(now_ms, out);
            }
            return Ok(());
        }
        if let Some(existing) = instance.and_then(|i| self.static_members.get(i)) {
            if *existing != leaving.member_id {
                return Err(GroupError::FencedInstanceId);
            }
        }
        if !self.members.contains_key(&leaving.member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        self.remove_member_and_update(&leaving.member_id, now_ms, out);
        Ok(())
    }
}
