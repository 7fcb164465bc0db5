//! The group's timers: pending member ids and sessions expiring, the join round's timer, the
//! sync wait, offset retention. [`Group::next_deadline`] says when [`Group::tick`] is due.

use tracing::info;

use super::{Effects, Group, JoinTimer};
use crate::coordinator::state::GroupState;

impl Group {
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
    pub fn tick(&mut self, now_ms: i64, out: &mut Effects) {
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

    fn on_join_timer(&mut self, now_ms: i64, out: &mut Effects) {
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
    fn on_sync_timeout(&mut self, now_ms: i64, out: &mut Effects) {
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

    /// Keeps the offset expiry timer from firing while a consumer group (which keeps its own
    /// members) owns this group id: its offsets expire only once it is empty.
    pub fn postpone_expiry(&mut self, now_ms: i64) {
        self.next_expiry_check_ms = now_ms + self.cfg.offsets_retention_check_interval_ms.max(1);
    }

    /// The group id is in use (by a consumer group); its offsets live here.
    pub fn ensure_exists(&mut self) {
        self.exists = true;
    }
}
