//! ConsumerGroupHeartbeat, as Kafka 4.x's `GroupMetadataManager.consumerGroupHeartbeat`:
//! validate, join/leave/update the member, bump the group epoch on a change (recomputing the
//! target), reconcile the member one step, answer its epoch and (when it changed) assignment.

use std::collections::BTreeSet;

use tracing::info;

use super::api::{ConsumerHeartbeat, ConsumerHeartbeatResponse, TopicPartitions};
use super::assignor::{Assignment, Assignor};
use super::member::{ConsumerMember, Deadlines, MemberState};
use super::reconcile::{reconcile, Target};
use super::{ConsumerGroup, LEAVING, LEFT_TEMPORARILY};
use crate::coordinator::error::GroupError;
use crate::coordinator::group::Effects;

fn invalid(msg: &str) -> GroupError {
    GroupError::InvalidRequest(msg.to_string())
}

/// Checks what Kafka checks before touching the group.
pub fn validate(req: &ConsumerHeartbeat, assignors: &[Assignor]) -> Result<(), GroupError> {
    if req.group_id.is_empty() {
        return Err(invalid("GroupId can't be empty."));
    }
    if req.rack_id.as_deref() == Some("") {
        return Err(invalid("RackId can't be empty."));
    }
    if req.instance_id.as_deref() == Some("") {
        return Err(invalid("InstanceId can't be empty."));
    }
    if req.member_id.is_empty() && (req.version >= 1 || req.member_epoch != 0) {
        return Err(invalid("MemberId can't be empty."));
    }
    match req.member_epoch {
        0 => {
            if req.rebalance_timeout_ms == -1 {
                return Err(invalid(
                    "RebalanceTimeoutMs must be provided in first request.",
                ));
            }
            if req.owned.as_ref().is_none_or(|o| !o.is_empty()) {
                return Err(invalid("TopicPartitions must be empty when (re-)joining."));
            }
            if req.subscribed_topic_names.is_none() && req.subscribed_topic_regex.is_none() {
                return Err(invalid(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                ));
            }
        }
        LEFT_TEMPORARILY if req.instance_id.is_none() => {
            return Err(invalid("InstanceId can't be null."));
        }
        e if e < LEFT_TEMPORARILY => {
            return Err(invalid(&format!("MemberEpoch {e} is invalid.")));
        }
        _ => {}
    }
    if let Some(name) = &req.server_assignor {
        if !assignors.iter().any(|a| a.name() == name.as_str()) {
            return Err(GroupError::UnsupportedAssignor(name.clone()));
        }
    }
    Ok(())
}

fn to_assignment(parts: &TopicPartitions) -> Assignment {
    let mut out = Assignment::new();
    for (topic, ps) in parts {
        if !ps.is_empty() {
            out.entry(*topic).or_default().extend(ps.iter().copied());
        }
    }
    out
}

fn to_wire(a: &Assignment) -> TopicPartitions {
    a.iter()
        .map(|(t, ps)| (*t, ps.iter().copied().collect()))
        .collect()
}

impl ConsumerGroup {
    /// Handles a ConsumerGroupHeartbeat. `fresh_member_id` names a v0 member joining without
    /// an id.
    pub fn heartbeat(
        &mut self,
        req: ConsumerHeartbeat,
        fresh_member_id: String,
        now_ms: i64,
        out: &mut Effects,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        validate(&req, &self.cfg.consumer_assignors)?;
        if let Some(pattern) = &req.subscribed_topic_regex {
            self.compile(pattern)
                .map_err(|e| GroupError::InvalidRegularExpression(e.to_string()))?;
        }
        let result = match req.member_epoch {
            LEAVING | LEFT_TEMPORARILY => self.leave(&req),
            _ => self.join_or_update(req, fresh_member_id, now_ms),
        };
        self.flush(out);
        result
    }

    fn leave(&mut self, req: &ConsumerHeartbeat) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let member_id = match &req.instance_id {
            Some(instance) => {
                let Some(id) = self.static_members.get(instance).cloned() else {
                    return Err(GroupError::UnknownMemberId);
                };
                if id != req.member_id {
                    return Err(GroupError::FencedInstanceId);
                }
                id
            }
            None => req.member_id.clone(),
        };
        if !self.members.contains_key(&member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if req.member_epoch == LEFT_TEMPORARILY {
            // The static member keeps its partitions until its session expires or it returns.
            info!(group = %self.id, member = %member_id, "static member left temporarily");
            if let Some(m) = self.members.get_mut(&member_id) {
                m.previous_epoch = m.epoch;
                m.epoch = LEFT_TEMPORARILY;
            }
            self.dirty_members.insert(member_id.clone());
        } else {
            info!(group = %self.id, member = %member_id, "member left the group");
            self.remove_member(&member_id);
        }
        Ok(ConsumerHeartbeatResponse {
            member_id,
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    fn join_or_update(
        &mut self,
        req: ConsumerHeartbeat,
        fresh_member_id: String,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let member_id = if req.member_id.is_empty() {
            fresh_member_id
        } else {
            req.member_id.clone()
        };
        let joining = req.member_epoch == 0;
        let mut member = self.member_for(&req, &member_id)?;
        let full = req.rebalance_timeout_ms != -1
            && (req.subscribed_topic_names.is_some() || req.subscribed_topic_regex.is_some())
            && req.owned.is_some();

        // Take what the request changes.
        let mut subscription_changed = !self.members.contains_key(&member_id);
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        if let Some(rack) = &req.rack_id {
            member.rack_id = Some(rack.clone());
        }
        if req.rebalance_timeout_ms != -1 {
            member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            subscription_changed |= names != member.subscribed_topic_names;
            member.subscribed_topic_names = names;
        }
        if let Some(regex) = &req.subscribed_topic_regex {
            let regex = (!regex.is_empty()).then(|| regex.clone());
            subscription_changed |= regex != member.subscribed_topic_regex;
            member.subscribed_topic_regex = regex;
        }
        if let Some(assignor) = &req.server_assignor {
            subscription_changed |= member.server_assignor.as_deref() != Some(assignor);
            member.server_assignor = Some(assignor.clone());
        }
        if joining && member.epoch == LEFT_TEMPORARILY {
            // A static member back: it continues with the assignment it left with.
            member.epoch = member.previous_epoch;
        }
        let before = self.members.get(&member_id).cloned();
        if before.as_ref() != Some(&member) {
            self.dirty_members.insert(member_id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member_id.clone());
        }
        self.members.insert(member_id.clone(), member);
        self.topics = req.topics.clone();
        if subscription_changed {
            info!(group = %self.id, member = %member_id, joining, "membership or subscription changed");
            self.bump_epoch();
        } else {
            self.bump_if_topics_changed();
        }

        // One reconciliation step.
        let owned = req.owned.as_ref().map(to_assignment);
        let current = self.members[&member_id].clone();
        let target = self.targets.get(&member_id).cloned().unwrap_or_default();
        let next = reconcile(
            &current,
            Target {
                epoch: self.assignment_epoch,
                assignment: &target,
            },
            owned.as_ref(),
            |t, p| self.is_free(&member_id, t, p),
        );
        let deadlines = self.deadlines.entry(member_id.clone()).or_default();
        deadlines.session = Some(now_ms + self.cfg.consumer_session_timeout_ms);
        if next.state == MemberState::UnrevokedPartitions {
            if current.state != MemberState::UnrevokedPartitions || deadlines.revocation.is_none() {
                deadlines.revocation = Some(now_ms + i64::from(next.rebalance_timeout_ms.max(0)));
            }
        } else {
            deadlines.revocation = None;
        }
        let changed = next.assigned != current.assigned;
        if next != current {
            self.dirty_members.insert(member_id.clone());
        }
        let response = ConsumerHeartbeatResponse {
            member_id: member_id.clone(),
            member_epoch: next.epoch,
            heartbeat_interval_ms: self.cfg.consumer_heartbeat_interval_ms as i32,
            assignment: (joining || full || changed).then(|| to_wire(&next.assigned)),
        };
        self.members.insert(member_id, next);
        Ok(response)
    }

    /// The member the request is about: an existing one (epochs checked), a static member
    /// replacing its previous incarnation, or a new one.
    fn member_for(
        &mut self,
        req: &ConsumerHeartbeat,
        member_id: &str,
    ) -> Result<ConsumerMember, GroupError> {
        if let Some(instance) = &req.instance_id {
            if let Some(previous_id) = self.static_members.get(instance).cloned() {
                if previous_id != member_id {
                    if req.member_epoch != 0 {
                        return Err(GroupError::FencedInstanceId);
                    }
                    let Some(previous) = self.members.get(&previous_id) else {
                        return Err(GroupError::UnknownMemberId);
                    };
                    if previous.epoch != LEFT_TEMPORARILY {
                        return Err(GroupError::UnreleasedInstanceId);
                    }
                    // The new incarnation takes over the old one's epoch and partitions.
                    info!(group = %self.id, %instance, old = %previous_id, new = %member_id, "static member replaced");
                    let mut m = previous.clone();
                    m.member_id = member_id.to_string();
                    m.epoch = m.previous_epoch;
                    let target = self.targets.remove(&previous_id).unwrap_or_default();
                    self.targets.insert(member_id.to_string(), target);
                    self.members.remove(&previous_id);
                    self.deadlines.remove(&previous_id);
                    self.dirty_members.remove(&previous_id);
                    self.removed_members.insert(previous_id);
                    self.members.insert(member_id.to_string(), m.clone());
                    self.dirty_members.insert(member_id.to_string());
                    return Ok(m);
                }
            }
        }
        match self.members.get(member_id) {
            Some(m) => {
                if req.member_epoch != 0 {
                    check_epoch(m, req)?;
                }
                Ok(m.clone())
            }
            None if req.member_epoch != 0 => Err(GroupError::UnknownMemberId),
            None => {
                let max = self.cfg.consumer_max_size;
                if self.members.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
                    return Err(GroupError::GroupMaxSizeReached);
                }
                let mut m = ConsumerMember::new(member_id.to_string());
                m.instance_id = req.instance_id.clone();
                self.deadlines
                    .insert(member_id.to_string(), Deadlines::default());
                Ok(m)
            }
        }
    }
}

/// Kafka's member epoch check: a newer epoch than the member's is fenced; an older one only
/// passes when it is the previous epoch and the member owns nothing it should not (the answer
/// carrying the new epoch was lost).
fn check_epoch(m: &ConsumerMember, req: &ConsumerHeartbeat) -> Result<(), GroupError> {
    let received = req.member_epoch;
    if received > m.epoch {
        return Err(GroupError::FencedMemberEpoch);
    }
    if received < m.epoch {
        let subset = req.owned.as_ref().is_some_and(|owned| {
            owned.iter().all(|(t, ps)| {
                ps.iter()
                    .all(|p| m.assigned.get(t).is_some_and(|a| a.contains(p)))
            })
        });
        if received != m.previous_epoch || !subset {
            return Err(GroupError::FencedMemberEpoch);
        }
    }
    Ok(())
}
