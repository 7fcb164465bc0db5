//! Ending a transaction: the Prepare state is made durable, then a marker is written to every
//! partition of the transaction and the groups' offsets are settled, then the Complete state
//! follows. A marker or group that cannot be reached now (an I/O error, a partition offline
//! after a failed fsync) leaves the transaction in its Prepare state with what is left; the
//! timers try again, and a restart that finds the Prepare state writes every marker again (a
//! second marker for a transaction already ended on a partition is harmless: it closes
//! nothing).

use std::collections::BTreeSet;

use super::api::PartitionLookup;
use super::coordinator::{SlotGuard, TxnCoordinator, COORDINATOR_EPOCH};
use super::error::TxnError;
use super::machine;
use super::metadata::{TxnMetadata, TxnPartition};
use super::state::TxnState;
use super::store::{Record, Store};
use crate::log::{Marker, Outcome};

impl TxnCoordinator {
    /// Persists `prepare` (PrepareCommit or PrepareAbort) as the id's state, then finishes it.
    /// In the common case (no group offsets) the Prepare state, the markers and the Complete
    /// state are written in one trip to the log's writer; whatever is left goes the long way
    /// ([`finish`](Self::finish)).
    pub(super) async fn end(
        &self,
        slot: &mut SlotGuard,
        prepare: TxnMetadata,
    ) -> Result<(), TxnError> {
        let s = &self.shared;
        let commit = prepare.state == TxnState::PrepareCommit;
        let complete = machine::complete(&prepare, s.clock.now_ms());
        let marker = marker_of(&prepare, commit);
        let (lookup, partitions, id) = (
            s.partitions.clone(),
            prepare.partitions.clone(),
            prepare.transactional_id.clone(),
        );
        let no_groups = prepare.groups.is_empty();
        let completed_record = Record::Txn(complete.clone());
        let ran = s
            .persist_then(&prepare, move |store: &mut Store| {
                let left = write_markers_now(&*lookup, partitions, &marker, &id);
                // Not fsynced: a restart that finds the Prepare state writes the markers again.
                let completed = (left.is_empty() && no_groups)
                    .then(|| store.append(&[completed_record], false));
                (left, completed)
            })
            .await?;
        s.publish(&prepare);
        let (left, completed) = ran.unwrap_or_else(|| (prepare.partitions.clone(), None));
        match completed {
            Some(Ok(())) => self.ended(slot, complete, commit),
            completed => {
                if let Some(Err(e)) = completed {
                    not_recorded(&prepare, &e);
                }
                let mut pending = prepare;
                let retry_now = left.is_empty();
                pending.partitions = left;
                slot.meta = Some(pending);
                if retry_now {
                    // Markers done: settle the groups' offsets and record the end.
                    self.finish(slot).await;
                }
            }
        }
        Ok(())
    }

    /// Writes the markers and settles the offsets of the id's Prepare state; once all are done,
    /// moves it to its Complete state. Does nothing for an id in any other state.
    pub(super) async fn finish(&self, slot: &mut SlotGuard) {
        let s = &self.shared;
        let Some(prepare) = slot.meta.clone() else {
            return;
        };
        let commit = match prepare.state {
            TxnState::PrepareCommit => true,
            TxnState::PrepareAbort => false,
            _ => return,
        };
        let left_partitions = self.write_markers(&prepare, commit).await;
        let mut left_groups = BTreeSet::new();
        for group in &prepare.groups {
            if let Err(e) = s.groups.complete(group, prepare.producer_id, commit).await {
                tracing::warn!(transactional_id = %prepare.transactional_id, %group, error = %e,
                    "settling the transaction's offsets failed; will retry");
                left_groups.insert(group.clone());
            }
        }
        if !left_partitions.is_empty() || !left_groups.is_empty() {
            // Stays in the Prepare state; only what is left is retried.
            let mut pending = prepare;
            pending.partitions = left_partitions;
            pending.groups = left_groups;
            slot.meta = Some(pending);
            return;
        }
        let now = s.clock.now_ms();
        let complete = machine::complete(&prepare, now);
        // Not fsynced: a restart that finds the Prepare state writes the markers again.
        if let Err(e) = s.persist(&complete, false).await {
            not_recorded(&prepare, &e);
            return;
        }
        self.ended(slot, complete, commit);
    }

    /// The transaction is over and `complete`, its Complete state, is written.
    fn ended(&self, slot: &mut SlotGuard, complete: TxnMetadata, commit: bool) {
        let s = &self.shared;
        s.counters.ended(commit);
        s.publish(&complete);
        tracing::debug!(transactional_id = %complete.transactional_id, state = %complete.state,
            "transaction ended");
        slot.meta = Some(complete);
    }

    /// Writes the marker of `prepare` to each of its partitions; returns those to retry.
    async fn write_markers(&self, prepare: &TxnMetadata, commit: bool) -> BTreeSet<TxnPartition> {
        if prepare.partitions.is_empty() {
            return BTreeSet::new();
        }
        let marker = marker_of(prepare, commit);
        let lookup = self.shared.partitions.clone();
        let partitions = prepare.partitions.clone();
        let id = prepare.transactional_id.clone();
        let written = tokio::task::spawn_blocking(move || {
            write_markers_now(&*lookup, partitions, &marker, &id)
        })
        .await;
        match written {
            Ok(left) => left,
            Err(e) => {
                tracing::error!(error = %e, "the marker task failed; will retry");
                prepare.partitions.clone()
            }
        }
    }
}

fn not_recorded(prepare: &TxnMetadata, error: &dyn std::fmt::Display) {
    tracing::warn!(transactional_id = %prepare.transactional_id, %error,
        "recording the end of the transaction failed; will retry");
}

fn marker_of(prepare: &TxnMetadata, commit: bool) -> Marker {
    Marker {
        producer_id: prepare.producer_id,
        producer_epoch: prepare.producer_epoch,
        outcome: if commit {
            Outcome::Commit
        } else {
            Outcome::Abort
        },
        coordinator_epoch: COORDINATOR_EPOCH,
    }
}

/// Writes `marker` to each of `partitions`; returns those to retry. Blocking.
fn write_markers_now(
    lookup: &dyn PartitionLookup,
    partitions: BTreeSet<TxnPartition>,
    marker: &Marker,
    id: &str,
) -> BTreeSet<TxnPartition> {
    partitions
        .into_iter()
        .filter(|p| {
            // A deleted partition needs no marker.
            let Some(partition) = lookup.partition(&p.topic, p.partition) else {
                return false;
            };
            match partition.append_marker(marker) {
                Ok(_) => false,
                // Kept for a retry, as Kafka retries KAFKA_STORAGE_ERROR: an offline
                // partition takes its marker after the restart, which finds the Prepare
                // state and writes every marker again.
                Err(e) if e.is_storage() => {
                    tracing::warn!(transactional_id = %id, topic = %p.topic,
                        partition = p.partition, error = %e,
                        "writing a transaction marker failed; will retry");
                    true
                }
                Err(e) => {
                    // Refused for good (a newer epoch or coordinator wrote since): retrying
                    // would never succeed.
                    tracing::error!(transactional_id = %id, topic = %p.topic,
                        partition = p.partition, error = %e,
                        "a partition refused the transaction marker");
                    false
                }
            }
        })
        .collect()
}
