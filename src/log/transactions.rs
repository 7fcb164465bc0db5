//! Transactions on a partition log: markers (the control batches that end a transaction), the
//! last stable offset and the aborted transactions a read_committed fetch returns.
//!
//! The last stable offset is the first offset of the earliest transaction still open here, or
//! the log end when none is (never below the log start): read_committed consumers read up to
//! it and no further. Each abort marker adds an entry to its segment's `.txnindex`
//! (`txn_index.rs`), which is what [`PartitionLog::aborted_transactions`] searches.

use bytes::Bytes;

use super::batch::BatchHeader;
use super::control::{self, Marker, Outcome};
use super::error::LogError;
use super::partition::{AppendOutcome, PartitionLog};
use super::producer_state::ProducerSnapshot;
use super::txn_index::{self, AbortedTxn};

impl PartitionLog {
    /// Appends `marker`, ending its producer's transaction on this partition (a marker for a
    /// producer with nothing written here is still written, as Kafka does). Refused when it
    /// comes from an older producer epoch or an older coordinator than the producer's last
    /// marker.
    pub fn append_marker(
        &mut self,
        marker: &Marker,
        now_ms: i64,
    ) -> Result<AppendOutcome, LogError> {
        self.producers.check_marker(
            marker.producer_id,
            marker.producer_epoch,
            marker.coordinator_epoch,
        )?;
        let bytes = Bytes::from(control::encode(marker, now_ms));
        let header = BatchHeader::parse(&bytes)?;
        let batches = [(header, 0..bytes.len())];
        self.write(&bytes, &batches, now_ms, Some(marker))
    }

    /// Records a marker just written (its final header): closes the producer's transaction
    /// and, for an abort, indexes it in the active segment.
    pub(super) fn record_marker(
        &mut self,
        fin: &BatchHeader,
        marker: &Marker,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let closed = self
            .producers
            .record_marker(fin, Some(marker.coordinator_epoch), now_ms);
        if marker.outcome == Outcome::Abort {
            let last_stable_offset = self
                .producers
                .first_unstable_offset()
                .unwrap_or(fin.next_offset());
            self.active_mut()?.push_aborted(AbortedTxn {
                producer_id: closed.producer_id,
                first_offset: closed.first_offset,
                last_offset: closed.last_offset,
                last_stable_offset,
            });
        }
        Ok(())
    }

    /// Lets producer `pid` at `epoch` open a transaction here: the coordinator added this
    /// partition to its transaction. Until then (and after the marker that ends it) its
    /// transactional batches get INVALID_TXN_STATE.
    pub fn verify_transaction(&mut self, pid: i64, epoch: i16) {
        self.producers.verify(pid, epoch);
    }

    /// Where read_committed consumers stop: the first offset of the earliest open transaction,
    /// else the log end.
    pub fn last_stable_offset(&self) -> i64 {
        let end = self.log_end_offset();
        self.producers
            .first_unstable_offset()
            .unwrap_or(end)
            .clamp(self.log_start_offset, end)
    }

    /// Whether producer `pid` has a transaction open on this partition.
    pub fn has_open_transaction(&self, pid: i64) -> bool {
        self.producers.has_open_transaction(pid)
    }

    /// The transactions aborted here that overlap `[from, upper)`: aborted at or after `from`
    /// and started before `upper`, in marker order. The search starts at the segment holding
    /// `from` and ends at the first entry that rules out later ones (see `txn_index.rs`), so
    /// it reads only the entries it returns, plus one, and the indexes of segments in between.
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<AbortedTxn> {
        let mut out = Vec::new();
        if upper <= from {
            return out;
        }
        for seg in self
            .segments
            .range(self.segment_key_for(from)..)
            .map(|(_, s)| s)
        {
            if txn_index::collect(seg.aborted(), from, upper, &mut out) {
                break;
            }
        }
        out
    }

    /// Every producer this partition knows, for DescribeProducers.
    pub fn producers(&self) -> Vec<ProducerSnapshot> {
        self.producers.snapshot()
    }
}
