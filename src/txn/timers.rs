//! The coordinator's own work, on the broker clock: every
//! `transaction.abort.timed.out.transaction.cleanup.interval.ms` it aborts the transactions
//! that ran past their timeout (fencing their producer, as Kafka does) and retries markers
//! left to write; every `transaction.remove.expired.transaction.cleanup.interval.ms` it
//! forgets transactional ids unused for `transactional.id.expiration.ms`.

use super::coordinator::TxnCoordinator;
use super::machine;
use super::state::TxnState;
use super::store::Record;

impl TxnCoordinator {
    /// Runs the timers until the coordinator shuts down.
    pub(super) async fn run_timers(self) {
        let s = &self.shared;
        let mut stopped = s.stop.subscribe();
        let start = s.clock.now_ms();
        let mut next_abort = start.saturating_add(s.cfg.abort_interval_ms);
        let mut next_remove = start.saturating_add(s.cfg.remove_interval_ms);
        loop {
            tokio::select! {
                () = s.clock.sleep_until(next_abort.min(next_remove)) => {}
                _ = stopped.wait_for(|stop| *stop) => return,
            }
            let now = s.clock.now_ms();
            if now >= next_abort {
                self.abort_timed_out(now).await;
                next_abort = now.saturating_add(s.cfg.abort_interval_ms);
            }
            if now >= next_remove {
                self.remove_expired(now).await;
                next_remove = now.saturating_add(s.cfg.remove_interval_ms);
            }
        }
    }

    /// Aborts every transaction past its timeout, and finishes those whose markers are left.
    pub(super) async fn abort_timed_out(&self, now: i64) {
        let s = &self.shared;
        for listing in s.listings() {
            let due = match listing.state {
                TxnState::Ongoing => {
                    listing
                        .start_ms
                        .saturating_add(i64::from(listing.timeout_ms))
                        < now
                }
                TxnState::PrepareCommit | TxnState::PrepareAbort => true,
                _ => false,
            };
            if !due {
                continue;
            }
            let Ok(Some(mut slot)) = s.slot(&listing.transactional_id, false).await else {
                continue;
            };
            let Some(current) = slot.meta.clone() else {
                continue;
            };
            if current.state != TxnState::Ongoing {
                self.finish(&mut slot).await;
                continue;
            }
            if !machine::timed_out(&current, now) {
                continue;
            }
            match machine::fence_and_abort(&current, s.cfg.server_tv2(), now) {
                Ok(prepare) => {
                    tracing::info!(transactional_id = %current.transactional_id,
                        timeout_ms = current.timeout_ms, "aborting a transaction past its timeout");
                    match self.end(&mut slot, prepare).await {
                        Ok(()) => s.counters.timed_out(),
                        Err(e) => tracing::warn!(transactional_id = %current.transactional_id,
                            error = %e, "aborting a timed-out transaction failed; will retry"),
                    }
                }
                Err(e) => tracing::warn!(transactional_id = %current.transactional_id,
                    error = %e, "cannot fence the producer of a timed-out transaction"),
            }
        }
    }

    /// Forgets transactional ids that went unused for `transactional.id.expiration.ms`.
    pub(super) async fn remove_expired(&self, now: i64) {
        let s = &self.shared;
        for listing in s.listings() {
            if !listing.state.is_idle() {
                continue;
            }
            let id = listing.transactional_id;
            let Ok(Some(mut slot)) = s.slot(&id, false).await else {
                continue;
            };
            let Some(current) = &slot.meta else {
                continue;
            };
            if !machine::expired(current, now, s.cfg.id_expiration_ms) {
                continue;
            }
            match s
                .store
                .append(vec![Record::Tombstone(id.clone())], false)
                .await
            {
                Ok(()) => {
                    tracing::info!(transactional_id = %id, "transactional id expired");
                    s.remove(&id, &mut slot);
                }
                Err(e) => tracing::warn!(transactional_id = %id, error = %e,
                    "recording an expired transactional id failed; will retry"),
            }
        }
    }
}
