//! Partitions in service. A [`Partition`] owns its log behind a lock and keeps its own rules:
//! each operation takes the lock, changes or reads the log, stamps it with the broker clock,
//! refreshes the cached offsets and wakes waiting fetches, all inside. Callers never see the
//! lock. `fetch.rs` is the long-poll fetch over several partitions (waiting for appends,
//! `min_bytes`/`max_wait`, the KIP-74 response budget).
//!
//! A layer of its own because it is neither of its neighbours: `log/` is storage (one
//! [`PartitionLog`], blocking file I/O, no locks, no runtime, no clock) and `metadata/` is the
//! registry of what exists (topics, ids, configs). Concurrency, time and the fetch engine sit
//! here, between them; handlers call it with domain values and convert to and from wire types.
//! It depends only on `log/` and `clock`.
//!
//! Operations are blocking (file I/O under the lock): call them from a blocking task. Reads are
//! planned under the lock and copied after it is released, so appends do not wait for copies.
//!
//! Where what comes next goes:
//!
//! - **Compaction.** The cleaner (in `log/`) writes cleaned segments from a snapshot without the
//!   lock, then a `Partition` operation shaped like [`Partition::apply_retention`] takes the
//!   lock, swaps them in (the log checks that nothing it cleaned changed underneath), refreshes
//!   and wakes.
//! - **Transactions.** The log tracks ongoing transactions and computes the last stable offset;
//!   [`Watermarks::last_stable`] (today the high watermark: nothing is ever uncommitted) reports
//!   it. The transaction coordinator appends control batches through an operation shaped like
//!   [`Partition::append`], which also wakes fetches when the last stable offset moves. A
//!   read_committed fetch passes its isolation level in [`fetch::Limits`]; the engine then
//!   plans reads only up to the last stable offset, waits on the same wake-up when it is
//!   there, and returns the aborted transactions in range. ListOffsets' latest offset at
//!   read_committed becomes another [`OffsetQuery`].

pub mod fetch;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::log::{AppendOutcome, LogConfig, LogError, PartitionLog, ReadPlan, TimestampLookup};

/// Kafka's "no timestamp", for offsets that are not found by time.
const NO_TIMESTAMP: i64 = -1;

pub struct Partition {
    pub index: i32,
    clock: Clock,
    log: Mutex<PartitionLog>,
    appended: Notify,
    // Cached so Metadata, ListOffsets and fetch wake-ups need not take the log lock.
    end_offset: AtomicI64,
    start_offset: AtomicI64,
    /// Why the partition is offline: set by the first failed fsync of its log. From then on
    /// it serves nothing (what it would read may never reach the disk) until the broker
    /// restarts and opening the log recovers what is really there, as Kafka takes a log
    /// directory offline.
    offline: OnceLock<String>,
}

/// A partition's offsets as a fetch reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    pub log_start: i64,
    /// With one replica, the log end offset.
    pub high: i64,
    /// Where read_committed consumers stop.
    pub last_stable: i64,
}

impl Watermarks {
    fn new(log_start: i64, high: i64) -> Watermarks {
        Watermarks {
            log_start,
            high,
            // No transactions yet: every record is stable.
            last_stable: high,
        }
    }
}

/// Where DeleteRecords moves the log start offset to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteBefore {
    Offset(i64),
    /// Everything appended so far.
    HighWatermark,
}

/// What ListOffsets looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetQuery {
    Earliest,
    Latest,
    /// The record with the largest timestamp.
    MaxTimestamp,
    /// The first record with a timestamp at or after this one.
    Timestamp(i64),
}

impl Partition {
    pub fn new(index: i32, log: PartitionLog, clock: Clock) -> Partition {
        let end = log.log_end_offset();
        let start = log.log_start_offset();
        Partition {
            index,
            clock,
            log: Mutex::new(log),
            appended: Notify::new(),
            end_offset: AtomicI64::new(end),
            start_offset: AtomicI64::new(start),
            offline: OnceLock::new(),
        }
    }

    /// Validates and appends the records of one produce partition, stamped with the broker
    /// clock (LogAppendTime, segment age, producer state). Blocking.
    pub fn append(&self, records: Bytes) -> Result<AppendOutcome, LogError> {
        self.change(|log, now_ms| log.append(records, now_ms))
    }

    /// DeleteRecords: moves the log start offset up to `before` and deletes the segments wholly
    /// below it. Returns the log start offset afterwards. Blocking.
    pub fn delete_records(&self, before: DeleteBefore) -> Result<i64, LogError> {
        self.change(|log, _| {
            let offset = match before {
                DeleteBefore::Offset(offset) => offset,
                DeleteBefore::HighWatermark => log.log_end_offset(),
            };
            log.delete_records_before(offset)
        })
    }

    /// Applies time and size retention at the broker clock's time; returns the number of
    /// segments deleted. Blocking.
    pub fn apply_retention(&self) -> Result<usize, LogError> {
        self.change(|log, now_ms| log.enforce_retention(now_ms))
    }

    /// Writes pending index entries and fsyncs the active segment. Blocking.
    pub fn flush(&self) -> Result<(), LogError> {
        self.serving()?;
        let mut log = self.lock();
        let flushed = log.flush();
        self.check_sync(&log, flushed)
    }

    /// Whether a failed fsync took the partition offline (until the broker restarts).
    pub fn is_offline(&self) -> bool {
        self.offline.get().is_some()
    }

    /// Runs `f` while no operation on the log is under way (its lock held): a deleted topic's
    /// folder is removed this way, so no append is half way through it. Blocking.
    pub fn while_idle<R>(&self, f: impl FnOnce() -> R) -> R {
        let _log = self.lock();
        f()
    }

    /// Replaces the log settings; they apply from the next operation on.
    pub fn set_config(&self, config: LogConfig) {
        self.lock().set_config(config);
    }

    /// The log settings in force.
    pub fn config(&self) -> LogConfig {
        self.lock().config().clone()
    }

    /// Bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.lock().size_bytes()
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.lock().segment_count()
    }

    /// The high watermark: with one replica, the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.end_offset.load(Ordering::Acquire)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.start_offset.load(Ordering::Acquire)
    }

    /// The cached offsets, without the lock.
    pub fn watermarks(&self) -> Watermarks {
        Watermarks::new(self.log_start_offset(), self.high_watermark())
    }

    /// ListOffsets: the offset (and, when found by time, the timestamp) `query` names; `None`
    /// when no record matches. Blocking (lookups by time read segment files).
    pub fn offset_for(&self, query: OffsetQuery) -> Result<Option<TimestampLookup>, LogError> {
        let at = |offset| {
            Ok(Some(TimestampLookup {
                offset,
                timestamp: NO_TIMESTAMP,
            }))
        };
        self.serving()?;
        match query {
            OffsetQuery::Earliest => at(self.log_start_offset()),
            OffsetQuery::Latest => at(self.high_watermark()),
            OffsetQuery::MaxTimestamp => self.lock().max_timestamp(),
            OffsetQuery::Timestamp(ts) => self.lock().lookup_timestamp(ts),
        }
    }

    /// The offsets and where a read of up to `max_bytes` from `offset` would copy from, found
    /// under the lock; [`ReadPlan::read`] copies after it is released. With `whole_first` the
    /// first batch is planned whole even if larger (KIP-74), else nothing beyond `max_bytes`
    /// is. Blocking.
    fn plan_read(
        &self,
        offset: i64,
        max_bytes: usize,
        whole_first: bool,
    ) -> (Watermarks, Result<ReadPlan, LogError>) {
        let log = self.lock();
        let watermarks = Watermarks::new(log.log_start_offset(), log.log_end_offset());
        if let Err(e) = self.serving() {
            return (watermarks, Err(e));
        }
        let plan = if whole_first {
            log.plan_read(offset, max_bytes)
        } else {
            log.plan_read_within(offset, max_bytes)
        };
        (watermarks, plan)
    }

    /// Whether a fetch at `offset` has something to return now (records, or an error because
    /// the offset is out of range), so waiting for an append is pointless.
    fn fetch_ready(&self, offset: i64) -> bool {
        offset != self.high_watermark() || offset < self.log_start_offset() || self.is_offline()
    }

    /// Resolves after the next append. Call `enable()` on the future before checking for data,
    /// so an append between the check and the await is not missed.
    fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.appended.notified()
    }

    /// Runs `change` on the log under the lock with the broker clock's time, then refreshes
    /// the cached offsets and wakes waiting fetches. Every change to the log goes through here;
    /// none runs on an offline partition, and one whose fsync fails takes it offline.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut PartitionLog, i64) -> Result<T, LogError>,
    ) -> Result<T, LogError> {
        self.serving()?;
        let mut log = self.lock();
        let out = change(&mut log, self.clock.now_ms());
        self.refresh(&log);
        self.check_sync(&log, out)
    }

    /// `Err(Offline)` once the partition is offline.
    fn serving(&self) -> Result<(), LogError> {
        match self.offline.get() {
            Some(why) => Err(LogError::Offline(why.clone())),
            None => Ok(()),
        }
    }

    /// Takes the partition offline if `result` is a failed fsync (with the lock held), and
    /// wakes waiting fetches so they answer the error now.
    fn check_sync<T>(
        &self,
        log: &PartitionLog,
        result: Result<T, LogError>,
    ) -> Result<T, LogError> {
        if let Err(e @ LogError::SyncFailed { .. }) = &result {
            if self.offline.set(e.to_string()).is_ok() {
                tracing::error!(dir = %log.dir().display(), error = %e,
                    "partition offline until the broker restarts (KAFKA_STORAGE_ERROR)");
            }
            self.appended.notify_waiters();
        }
        result
    }

    /// Locks the log. Blocking: never held across `.await`.
    fn lock(&self) -> MutexGuard<'_, PartitionLog> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refreshes the cached offsets from `log` (with the lock held) and wakes fetches waiting
    /// for an append if the log end moved.
    fn refresh(&self, log: &PartitionLog) {
        self.start_offset
            .store(log.log_start_offset(), Ordering::Release);
        let end = log.log_end_offset();
        if self.end_offset.swap(end, Ordering::AcqRel) != end {
            self.appended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
