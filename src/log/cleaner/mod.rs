//! Log compaction (`cleanup.policy=compact`): the cleaner keeps the latest record of each key.
//!
//! A pass over one log, as Kafka's `Cleaner` does it, in three steps:
//!
//! 1. **Plan** ([`PartitionLog::plan_cleaning`], under the partition's lock, quick): the dirty
//!    section runs from the checkpointed clean offset (`state.rs`) to the first uncleanable
//!    offset: the lowest of the active segment's base, the last stable offset (the first
//!    offset of the earliest open transaction), and the first segment younger than
//!    `min.compaction.lag.ms`. The plan also takes the aborted transactions below that offset
//!    from the `.txnindex` files, which `retain.rs` uses to drop their records. The plan holds the
//!    open files of the sealed segments below it, which never change once sealed.
//! 2. **Prepare** ([`CleaningPlan::prepare`], no lock, blocking, `pass.rs`): the dirty section
//!    is read into the key map (`offset_map.rs`) until the map is as full as its budget allows;
//!    the map covers the log up to its last mapped offset, the end of this pass. Every sealed
//!    segment below that end, clean and dirty alike, is then copied in groups of at most
//!    `segment.bytes` into new segments, keeping what `retain.rs` decides; a batch that lost
//!    records is re-encoded (same codec, CRC recomputed), others are copied byte for byte;
//!    offsets and timestamps are kept; indexes are built as the copy is written. A group whose
//!    single segment would come out unchanged is left alone.
//! 3. **Commit** ([`PartitionLog::commit_cleaning`], under the lock): if none of the segments
//!    it read changed meanwhile (retention, DeleteRecords, a deleted topic), the new segments
//!    are swapped in crash-safely (`swap.rs`) and the checkpoint moves to the pass's end. If
//!    something changed the pass is dropped and its files removed.
//!
//! A log whose dirty keys do not fit the map is cleaned in several passes, each moving the
//! clean offset up. `state.rs` also keeps when each pass ended, which times tombstone removal.
//! Scheduling (which log, how many threads, backoff) belongs to the caller: the log knows
//! nothing of other logs, requests or clocks; times are passed in.

mod offset_map;
mod pass;
mod retain;
mod state;
mod swap;
mod throttle;

pub use offset_map::OffsetMap;
pub use pass::{CleaningPlan, Prepared};
pub use state::LastPass;
pub use throttle::Throttle;

pub(super) use state::{read as read_checkpoint, Checkpoint};
pub(super) use swap::{cleaned_path, recover as recover_swap, Group};

/// `log.cleaner.*` broker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanerConfig {
    /// `log.cleaner.enable`.
    pub enable: bool,
    /// `log.cleaner.threads`.
    pub threads: usize,
    /// `log.cleaner.dedupe.buffer.size`: shared by all threads.
    pub dedupe_buffer_size: u64,
    /// `log.cleaner.io.buffer.load.factor`.
    pub load_factor: f64,
    /// `log.cleaner.io.max.bytes.per.second`.
    pub io_max_bytes_per_second: f64,
    /// `log.cleaner.backoff.ms`.
    pub backoff_ms: i64,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            enable: true,
            threads: 1,
            dedupe_buffer_size: 128 << 20,
            load_factor: 0.9,
            io_max_bytes_per_second: f64::MAX,
            backoff_ms: 15_000,
        }
    }
}

impl CleanerConfig {
    /// One thread's key map budget.
    pub fn map_budget(&self) -> u64 {
        self.dedupe_buffer_size / self.threads.max(1) as u64
    }
}

/// How dirty a compacted log is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dirtiness {
    /// Dirty bytes / all bytes from the log start to the first uncleanable offset.
    pub ratio: f64,
    /// Bytes of the segments a pass could clean.
    pub cleanable_bytes: u64,
    /// Dirty records are older than `max.compaction.lag.ms`, or tombstones are due to go.
    pub overdue: bool,
    /// Tombstones left by the last pass have been clean for `delete.retention.ms`.
    pub tombstones_due: bool,
    pub first_dirty: i64,
    pub first_uncleanable: i64,
}

impl Dirtiness {
    /// Whether a pass is due: the ratio passes `min.cleanable.dirty.ratio`, or dirty records
    /// are overdue.
    pub fn wants_cleaning(&self, min_ratio: f64) -> bool {
        self.tombstones_due
            || (self.cleanable_bytes > 0 && (self.ratio > min_ratio || self.overdue))
    }
}

/// What a committed pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PassReport {
    /// The pass was dropped because the log changed under it.
    pub aborted: bool,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_removed: u64,
    /// Segments replaced, and written in their place.
    pub segments_replaced: usize,
    pub segments_written: usize,
    /// The new clean offset.
    pub cleaned_to: i64,
}
