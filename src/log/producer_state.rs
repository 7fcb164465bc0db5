//! Producer state: per producer id, the current epoch and the last five batches appended (Kafka
//! keeps five, the most a client has in flight), so a retried batch is answered with its
//! original offsets instead of being written twice; and the producer's open transaction on
//! this partition, if any.
//!
//! Transactions: a transactional batch opens a transaction at its base offset unless its
//! producer already has one open here; the producer's next marker (commit or abort) closes it.
//! The first offset of the earliest open transaction is where the last stable offset stands.
//! A transactional batch may open a transaction only if the transaction coordinator first
//! [`ProducerStates::verify`]d the producer for this partition at that epoch (it added the
//! partition to the producer's transaction), so a batch that arrives after its transaction was
//! ended cannot leave a transaction open that nothing will close. A marker clears that.
//!
//! Not persisted: it is rebuilt on open by replaying every batch header of the log in order.
//! Producers that were idle longer than [`PRODUCER_ID_EXPIRATION_MS`] and have no open
//! transaction are forgotten (Kafka's `producer.id.expiration.ms`); an unknown producer may
//! start at any sequence. Verifications are not kept across restarts: the coordinator makes
//! them again for the transactions it still has open.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::batch::{increment_sequence, BatchHeader};
use super::error::LogError;

/// Batches remembered per producer for duplicate detection.
pub const MAX_TRACKED_BATCHES: usize = 5;
/// Kafka's default `producer.id.expiration.ms` (one day).
pub const PRODUCER_ID_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// What the log remembers of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
    last_update_ms: i64,
    /// Max timestamp of the last batch (or marker) appended.
    last_timestamp: i64,
    /// Epoch of the coordinator that wrote this producer's last marker (-1: none).
    coordinator_epoch: i32,
    /// First offset of the producer's open transaction here.
    txn_first_offset: Option<i64>,
    /// The epoch was set by a marker: the first batch at it must start at sequence 0.
    epoch_from_marker: bool,
    /// Offset of the producer's last marker here.
    last_marker_offset: Option<i64>,
}

impl ProducerEntry {
    fn new(epoch: i16, now_ms: i64) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: VecDeque::with_capacity(MAX_TRACKED_BATCHES),
            last_update_ms: now_ms,
            last_timestamp: -1,
            coordinator_epoch: -1,
            txn_first_offset: None,
            epoch_from_marker: false,
            last_marker_offset: None,
        }
    }
}

/// The verdict on one incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Not idempotent (producer id -1) or acceptable: write it.
    Append,
    /// A retry of this already written batch.
    Duplicate(BatchMeta),
}

/// A transaction a marker closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClosedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
}

/// One producer as DescribeProducers reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerSnapshot {
    pub producer_id: i64,
    pub epoch: i16,
    /// -1 when no batch of this epoch is remembered.
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// -1 when no transaction is open.
    pub current_txn_start_offset: i64,
}

#[derive(Debug, Default)]
pub(super) struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// (first offset, producer id) of every open transaction.
    open: BTreeSet<(i64, i64)>,
    /// Producers the coordinator allowed to open a transaction here, with their epoch.
    verified: HashMap<i64, i16>,
}

impl ProducerStates {
    /// Checks the batches of one append in order; later batches are checked as if the earlier
    /// ones had been appended. Nothing is changed.
    pub(super) fn check(&self, headers: &[BatchHeader]) -> Result<Vec<Check>, LogError> {
        // (producer id, epoch, last sequence, in a transaction) of earlier new batches.
        let mut pending: Vec<(i64, i16, i32, bool)> = Vec::new();
        let mut out = Vec::with_capacity(headers.len());
        for h in headers {
            if h.producer_id < 0 {
                out.push(Check::Append);
                continue;
            }
            let entry = self.producers.get(&h.producer_id);
            let earlier = pending.iter().rev().find(|p| p.0 == h.producer_id);
            let in_txn =
                earlier.is_some_and(|p| p.3) || entry.is_some_and(|e| e.txn_first_offset.is_some());
            if let Some(e) = entry.filter(|e| h.producer_epoch < e.epoch) {
                // A fenced producer hears so first, whatever else is wrong with its batch.
                return Err(LogError::InvalidProducerEpoch(format!(
                    "producer {} epoch {} is older than the current epoch {}",
                    h.producer_id, h.producer_epoch, e.epoch
                )));
            }
            self.check_transaction(h, entry, in_txn)?;
            let known = match earlier {
                Some(&(_, epoch, last_seq, _)) => Some((epoch, Some(last_seq), None)),
                None => entry.map(|e| (e.epoch, e.batches.back().map(|b| b.last_seq), Some(e))),
            };
            let verdict = match known {
                None => Check::Append,
                Some((epoch, last_seq, entry)) => check_one(h, epoch, last_seq, entry)?,
            };
            if verdict == Check::Append {
                let txn = in_txn || h.is_transactional();
                pending.push((h.producer_id, h.producer_epoch, h.last_sequence(), txn));
            }
            out.push(verdict);
        }
        Ok(out)
    }

    /// A transactional batch continues its producer's open transaction or opens one the
    /// coordinator verified; a producer with an open transaction writes only transactional
    /// batches.
    fn check_transaction(
        &self,
        h: &BatchHeader,
        entry: Option<&ProducerEntry>,
        in_txn: bool,
    ) -> Result<(), LogError> {
        let pid = h.producer_id;
        if !h.is_transactional() {
            if in_txn {
                return Err(LogError::InvalidTxnState(format!(
                    "producer {pid} has an open transaction here and must write transactional batches"
                )));
            }
            return Ok(());
        }
        if in_txn {
            return match entry {
                Some(e) if h.producer_epoch > e.epoch => Err(LogError::InvalidTxnState(format!(
                    "producer {pid} epoch {} writes into a transaction of epoch {}",
                    h.producer_epoch, e.epoch
                ))),
                _ => Ok(()),
            };
        }
        match self.verified.get(&pid) {
            Some(&epoch) if epoch == h.producer_epoch => Ok(()),
            Some(&epoch) if epoch > h.producer_epoch => {
                Err(LogError::InvalidProducerEpoch(format!(
                    "producer {pid} epoch {} is older than its transaction's epoch {epoch}",
                    h.producer_epoch
                )))
            }
            _ => Err(LogError::InvalidTxnState(format!(
                "producer {pid} epoch {} has no ongoing transaction on this partition",
                h.producer_epoch
            ))),
        }
    }

    /// Checks a marker for producer `pid` before it is written: not from an older producer
    /// epoch, nor from an older coordinator than the producer's last marker.
    pub(super) fn check_marker(
        &self,
        pid: i64,
        epoch: i16,
        coordinator_epoch: i32,
    ) -> Result<(), LogError> {
        let Some(e) = self.producers.get(&pid) else {
            return Ok(());
        };
        if epoch < e.epoch {
            return Err(LogError::InvalidProducerEpoch(format!(
                "marker for producer {pid} at epoch {epoch}, older than its epoch {}",
                e.epoch
            )));
        }
        if coordinator_epoch < e.coordinator_epoch {
            return Err(LogError::CoordinatorFenced(format!(
                "marker for producer {pid} from coordinator epoch {coordinator_epoch}, older than {}",
                e.coordinator_epoch
            )));
        }
        Ok(())
    }

    /// Records an appended data batch (its final header). Also used to replay the log on
    /// open, with the batch's max timestamp as the clock.
    pub(super) fn record(&mut self, h: &BatchHeader, now_ms: i64) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch, now_ms));
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.epoch_from_marker = false;
        if entry.batches.len() >= MAX_TRACKED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            max_timestamp: h.max_timestamp,
        });
        entry.last_update_ms = entry.last_update_ms.max(now_ms);
        entry.last_timestamp = h.max_timestamp;
        if h.is_transactional() && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(h.base_offset);
            self.open.insert((h.base_offset, h.producer_id));
        }
    }

    /// Records an appended marker (its final header) and returns the transaction it closed
    /// (first offset = the marker's own when the producer wrote nothing here).
    /// `coordinator_epoch` is `None` when replaying a segment whose markers are not read.
    pub(super) fn record_marker(
        &mut self,
        h: &BatchHeader,
        coordinator_epoch: Option<i32>,
        now_ms: i64,
    ) -> ClosedTxn {
        let pid = h.producer_id;
        let entry = self
            .producers
            .entry(pid)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch, now_ms));
        if h.producer_epoch > entry.epoch {
            // Transactions v2 end every transaction with a new epoch; its first batch starts a
            // new sequence.
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
            entry.epoch_from_marker = true;
        }
        if let Some(c) = coordinator_epoch {
            entry.coordinator_epoch = c;
        }
        entry.last_update_ms = entry.last_update_ms.max(now_ms);
        entry.last_timestamp = h.max_timestamp;
        entry.last_marker_offset = Some(h.base_offset);
        let first = entry.txn_first_offset.take();
        if let Some(first) = first {
            self.open.remove(&(first, pid));
        }
        self.verified.remove(&pid);
        ClosedTxn {
            producer_id: pid,
            first_offset: first.unwrap_or(h.base_offset),
            last_offset: h.base_offset,
        }
    }

    /// Sets the coordinator epoch of producer `pid`'s last marker (read back by recovery).
    pub(super) fn set_coordinator_epoch(&mut self, pid: i64, coordinator_epoch: i32) {
        if let Some(e) = self.producers.get_mut(&pid) {
            e.coordinator_epoch = coordinator_epoch;
        }
    }

    /// The coordinator added this partition to the transaction of producer `pid` at `epoch`:
    /// its first transactional batch may open a transaction here.
    pub(super) fn verify(&mut self, pid: i64, epoch: i16) {
        let current = self.verified.entry(pid).or_insert(epoch);
        *current = (*current).max(epoch);
    }

    /// The first offset of the earliest open transaction.
    pub(super) fn first_unstable_offset(&self) -> Option<i64> {
        self.open.first().map(|(offset, _)| *offset)
    }

    /// Whether producer `pid` has a transaction open here.
    pub(super) fn has_open_transaction(&self, pid: i64) -> bool {
        self.producers
            .get(&pid)
            .is_some_and(|e| e.txn_first_offset.is_some())
    }

    /// Every producer, as DescribeProducers lists them.
    pub(super) fn snapshot(&self) -> Vec<ProducerSnapshot> {
        let mut out: Vec<ProducerSnapshot> = self
            .producers
            .iter()
            .map(|(&pid, e)| ProducerSnapshot {
                producer_id: pid,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: e.txn_first_offset.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// Per producer id, the last offset of its last batch: the batch whose header carries the
    /// producer's latest sequence numbers, which the cleaner must keep.
    pub(super) fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(&pid, e)| e.batches.back().map(|b| (pid, b.last_offset)))
            .collect()
    }

    /// The offset of producer `pid`'s last marker here, if any.
    pub(super) fn last_marker_offset(&self, pid: i64) -> Option<i64> {
        self.producers.get(&pid).and_then(|e| e.last_marker_offset)
    }

    /// Per producer id, the offset of its last marker: the cleaner keeps it, so the epoch and
    /// coordinator epoch it carries survive a restart.
    pub(super) fn last_marker_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(&pid, e)| e.last_marker_offset.map(|o| (pid, o)))
            .collect()
    }

    /// Forgets producers idle for longer than [`PRODUCER_ID_EXPIRATION_MS`], except those
    /// with an open transaction.
    pub(super) fn expire(&mut self, now_ms: i64) {
        self.producers.retain(|_, e| {
            e.txn_first_offset.is_some()
                || now_ms.saturating_sub(e.last_update_ms) < PRODUCER_ID_EXPIRATION_MS
        });
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.producers.len()
    }
}

fn check_one(
    h: &BatchHeader,
    epoch: i16,
    last_seq: Option<i32>,
    entry: Option<&ProducerEntry>,
) -> Result<Check, LogError> {
    let pid = h.producer_id;
    if h.producer_epoch < epoch {
        return Err(LogError::InvalidProducerEpoch(format!(
            "producer {pid} epoch {} is older than the current epoch {epoch}",
            h.producer_epoch
        )));
    }
    let fresh_epoch = h.producer_epoch > epoch
        || (entry.is_some_and(|e| e.epoch_from_marker) && last_seq.is_none());
    if fresh_epoch {
        if h.base_sequence != 0 {
            return Err(LogError::OutOfOrderSequence(format!(
                "producer {pid} new epoch {} must start at sequence 0, not {}",
                h.producer_epoch, h.base_sequence
            )));
        }
        return Ok(Check::Append);
    }
    let last_seq_of_batch = h.last_sequence();
    if let Some(dup) = entry.and_then(|e| {
        e.batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq_of_batch)
    }) {
        return Ok(Check::Duplicate(*dup));
    }
    match last_seq {
        Some(last) if increment_sequence(last, 1) != h.base_sequence => {
            Err(LogError::OutOfOrderSequence(format!(
                "producer {pid} epoch {epoch}: expected sequence {}, got {}",
                increment_sequence(last, 1),
                h.base_sequence
            )))
        }
        _ => Ok(Check::Append),
    }
}
