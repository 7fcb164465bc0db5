//! A consumer group's timers: a member whose session expires is removed; a member that does not
//! revoke within its rebalance timeout is fenced (removed). Either bumps the group epoch and
//! hands its partitions to the others.

use tracing::info;

use super::ConsumerGroup;
use crate::coordinator::group::Effects;

impl ConsumerGroup {
    /// The earliest time at which [`ConsumerGroup::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        self.deadlines
            .values()
            .flat_map(|d| [d.session, d.revocation])
            .flatten()
            .min()
    }

    /// Removes members whose session or revocation deadline passed at `now_ms`.
    pub fn tick(&mut self, now_ms: i64, out: &mut Effects) {
        let due: Vec<(String, bool)> = self
            .deadlines
            .iter()
            .filter_map(|(id, d)| {
                let session = d.session.is_some_and(|t| t <= now_ms);
                let revocation = d.revocation.is_some_and(|t| t <= now_ms);
                (session || revocation).then(|| (id.clone(), session))
            })
            .collect();
        for (id, session) in due {
            if session {
                info!(group = %self.id, member = %id, "member session expired");
            } else {
                info!(group = %self.id, member = %id, "member did not revoke its partitions within the rebalance timeout; fenced");
            }
            self.remove_member(&id);
        }
        self.flush(out);
    }
}
