//! Idempotent producer state: per producer id, the current epoch and the last five batches
//! appended (Kafka keeps five, the most a client has in flight), so a retried batch is answered
//! with its original offsets instead of being written twice.
//!
//! Not persisted: it is rebuilt on open by replaying every batch header of the log in order.
//! Producers that were idle longer than [`PRODUCER_ID_EXPIRATION_MS`] are forgotten (Kafka's
//! `producer.id.expiration.ms`); an unknown producer may start at any sequence.

use std::collections::{HashMap, VecDeque};

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
}

/// The verdict on one incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Not idempotent (producer id -1) or acceptable: write it.
    Append,
    /// A retry of this already written batch.
    Duplicate(BatchMeta),
}

#[derive(Debug, Default)]
pub(super) struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Checks the batches of one append in order; later batches are checked as if the earlier
    /// ones had been appended. Nothing is changed.
    pub(super) fn check(&self, headers: &[BatchHeader]) -> Result<Vec<Check>, LogError> {
        // (producer id, epoch, last sequence) of earlier new batches of this append.
        let mut pending: Vec<(i64, i16, i32)> = Vec::new();
        let mut out = Vec::with_capacity(headers.len());
        for h in headers {
            if h.producer_id < 0 {
                out.push(Check::Append);
                continue;
            }
            let known = match pending.iter().rev().find(|p| p.0 == h.producer_id) {
                Some(&(_, epoch, last_seq)) => Some((epoch, Some(last_seq), None)),
                None => self
                    .producers
                    .get(&h.producer_id)
                    .map(|e| (e.epoch, e.batches.back().map(|b| b.last_seq), Some(e))),
            };
            let verdict = match known {
                None => Check::Append,
                Some((epoch, last_seq, entry)) => check_one(h, epoch, last_seq, entry)?,
            };
            if verdict == Check::Append {
                pending.push((h.producer_id, h.producer_epoch, h.last_sequence()));
            }
            out.push(verdict);
        }
        Ok(out)
    }

    /// Records an appended batch (its final header). Also used to replay the log on open,
    /// with the batch's max timestamp as the clock.
    pub(super) fn record(&mut self, h: &BatchHeader, now_ms: i64) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::with_capacity(MAX_TRACKED_BATCHES),
                last_update_ms: now_ms,
            });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
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
    }

    /// Per producer id, the last offset of its last batch: the batch whose header carries the
    /// producer's latest sequence numbers, which the cleaner must keep.
    pub(super) fn last_offsets(&self) -> HashMap<i64, i64> {
        self.producers
            .iter()
            .filter_map(|(&pid, e)| e.batches.back().map(|b| (pid, b.last_offset)))
            .collect()
    }

    /// Forgets producers idle for longer than [`PRODUCER_ID_EXPIRATION_MS`].
    pub(super) fn expire(&mut self, now_ms: i64) {
        self.producers
            .retain(|_, e| now_ms.saturating_sub(e.last_update_ms) < PRODUCER_ID_EXPIRATION_MS);
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
    if h.producer_epoch > epoch {
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
