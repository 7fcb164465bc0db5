//! Join rounds: opening a rebalance, completing the round (a new generation, its leader and
//! protocol, the JoinGroup replies) and protocol selection, as Kafka's classic coordinator.

use bytes::Bytes;
use tracing::info;

use super::{Effects, Group, JoinTimer};
use crate::coordinator::api::{JoinResponse, JoinedMember};
use crate::coordinator::error::GroupError;
use crate::coordinator::state::GroupState;

impl Group {
    fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        )
    }

    /// The largest rebalance timeout of the members (bounds a join round).
    pub(super) fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    pub(super) fn maybe_prepare_rebalance_or_complete_join(
        &mut self,
        now_ms: i64,
        out: &mut Effects,
    ) {
        if self.can_rebalance() {
            self.prepare_rebalance(now_ms, out);
        } else {
            self.maybe_complete_join(now_ms, out);
        }
    }

    /// Opens a join round: parked syncs are told to rejoin, the join timer is armed.
    pub(super) fn prepare_rebalance(&mut self, now_ms: i64, out: &mut Effects) {
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
    pub(super) fn maybe_complete_join(&mut self, now_ms: i64, out: &mut Effects) {
        if self.state == GroupState::PreparingRebalance
            && self.join_timer == JoinTimer::Rebalance
            && self.has_all_members_joined()
        {
            self.complete_join(now_ms, out);
        }
    }

    /// Ends the join round: dynamic members that did not rejoin are removed, a new generation
    /// starts with a selected protocol and a leader, and every parked JoinGroup is answered.
    pub(super) fn complete_join(&mut self, now_ms: i64, out: &mut Effects) {
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
    pub(super) fn current_join_response(
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
    pub(super) fn select_protocol(&self) -> String {
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
    pub(super) fn supports_protocols(
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
    pub(super) fn current_members(&self) -> Vec<JoinedMember> {
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
}
