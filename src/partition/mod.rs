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
//! Compaction: [`Partition::clean`]: the cleaner (in `log/`) plans a pass under the lock,
//! writes cleaned segments from that snapshot without it, then swaps them in under it (the log
//! checks that nothing it cleaned changed underneath), refreshing and waking as every change
//! does. It never cleans at or past the first unstable offset. `cleaning.rs` schedules passes
//! over all compacted partitions (`log.cleaner.*`).
//!
//! Transactions: the log tracks open transactions and computes the last stable offset, cached
//! here beside the high watermark. The transaction coordinator appends markers through
//! [`Partition::append_marker`] and lets producers open transactions through
//! [`Partition::verify_transaction`]; like every change they go through `change()`, which
//! wakes fetches when the log end or the last stable offset moves. A read_committed fetch
//! passes [`Isolation::ReadCommitted`] in [`fetch::Limits`]: it reads only up to the last
//! stable offset, waits on the same wake-up when it is there, and gets the aborted
//! transactions of what it read.

mod background;
pub mod cleaning;
pub mod fetch;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::log::cleaner::{Dirtiness, LastPass, OffsetMap, PassReport, Throttle};
use crate::log::{
    AbortedTxn, AppendOutcome, LogConfig, LogError, Marker, PartitionLog, ProducerSnapshot,
    ReadPlan, TimestampLookup,
};

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
    /// A cleaner thread is working on this log (see `cleaning.rs`).
    cleaning: AtomicBool,
    /// Broker-clock time before which the cleaner leaves this log alone after a failure.
    cleaning_backoff_until: AtomicI64,
    stable_offset: AtomicI64,
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

/// Which records a reader may see (Kafka's isolation level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Everything appended, up to the high watermark.
    #[default]
    ReadUncommitted,
    /// Only up to the last stable offset: no record of a transaction still open.
    ReadCommitted,
}

impl Isolation {
    /// Kafka's `isolation_level` field: 1 is read_committed.
    pub fn from_wire(level: i8) -> Isolation {
        if level == 1 {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
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
        let stable = log.last_stable_offset();
        Partition {
            index,
            clock,
            log: Mutex::new(log),
            appended: Notify::new(),
            end_offset: AtomicI64::new(end),
            start_offset: AtomicI64::new(start),
            cleaning: AtomicBool::new(false),
            cleaning_backoff_until: AtomicI64::new(i64::MIN),
            stable_offset: AtomicI64::new(stable),
            offline: OnceLock::new(),
        }
    }

    /// Validates and appends the records of one produce partition, stamped with the broker
    /// clock (LogAppendTime, segment age, producer state). Blocking.
    pub fn append(&self, records: Bytes) -> Result<AppendOutcome, LogError> {
        self.change(|log, now_ms| log.append(records, now_ms))
    }

    /// Appends a transaction marker (see [`PartitionLog::append_marker`]). Blocking.
    pub fn append_marker(&self, marker: &Marker) -> Result<AppendOutcome, LogError> {
        self.change(|log, now_ms| log.append_marker(marker, now_ms))
    }

    /// Lets producer `pid` at `epoch` open a transaction here (the coordinator added this
    /// partition to its transaction). Blocking (takes the lock).
    pub fn verify_transaction(&self, pid: i64, epoch: i16) {
        self.lock().verify_transaction(pid, epoch);
    }

    /// Whether producer `pid` has a transaction open here. Blocking (takes the lock).
    pub fn has_open_transaction(&self, pid: i64) -> bool {
        self.lock().has_open_transaction(pid)
    }

    /// The producers the log knows (DescribeProducers). Blocking (takes the lock).
    pub fn producers(&self) -> Vec<ProducerSnapshot> {
        self.lock().producers()
    }

    /// The transactions aborted here that overlap `[from, upper)`. Blocking (takes the lock).
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<AbortedTxn> {
        self.lock().aborted_transactions(from, upper)
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

    /// How dirty the log is (`None` unless its policy includes compact). Blocking.
    pub fn dirtiness(&self) -> Option<Dirtiness> {
        let last_stable = self.watermarks().last_stable;
        self.lock().dirtiness(self.clock.now_ms(), last_stable)
    }

    /// The last cleaning pass of this log, if any.
    pub fn last_cleaning(&self) -> Option<LastPass> {
        self.lock().last_cleaning()
    }

    /// One cleaning pass if the log wants one (any cleanable data with `force`): planned
    /// under the lock, prepared without it (appends and fetches go on), swapped in under it.
    /// Never cleans at or beyond the last stable offset or in the active segment, nor an
    /// offline partition. Blocking.
    pub fn clean(
        &self,
        map: &mut OffsetMap,
        throttle: &Throttle,
        force: bool,
    ) -> Result<Option<PassReport>, LogError> {
        self.serving()?;
        let last_stable = self.watermarks().last_stable;
        let plan = self
            .lock()
            .plan_cleaning(self.clock.now_ms(), last_stable, force)?;
        let Some(plan) = plan else {
            return Ok(None);
        };
        let prepared = plan.prepare(map, throttle)?;
        self.change(|log, now_ms| log.commit_cleaning(prepared, now_ms))
            .map(Some)
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

    /// Where read_committed consumers stop (cached, without the lock).
    pub fn last_stable_offset(&self) -> i64 {
        self.stable_offset.load(Ordering::Acquire)
    }

    /// The cached offsets, without the lock.
    pub fn watermarks(&self) -> Watermarks {
        Watermarks {
            log_start: self.log_start_offset(),
            high: self.high_watermark(),
            last_stable: self.last_stable_offset(),
        }
    }

    /// ListOffsets: the offset (and, when found by time, the timestamp) `query` names; `None`
    /// when no record matches. At read_committed the latest offset is the last stable offset
    /// and a record found by time must lie below it, as in Kafka. Blocking (lookups by time
    /// read segment files).
    pub fn offset_for(
        &self,
        query: OffsetQuery,
        isolation: Isolation,
    ) -> Result<Option<TimestampLookup>, LogError> {
        let at = |offset| {
            Ok(Some(TimestampLookup {
                offset,
                timestamp: NO_TIMESTAMP,
            }))
        };
        self.serving()?;
        let limit = match isolation {
            Isolation::ReadUncommitted => self.high_watermark(),
            Isolation::ReadCommitted => self.last_stable_offset(),
        };
        let found = match query {
            OffsetQuery::Earliest => return at(self.log_start_offset()),
            OffsetQuery::Latest => return at(limit),
            OffsetQuery::MaxTimestamp => self.lock().max_timestamp()?,
            OffsetQuery::Timestamp(ts) => self.lock().lookup_timestamp(ts)?,
        };
        Ok(found.filter(|hit| hit.offset < limit))
    }

    /// The offsets and where a read of up to `max_bytes` from `offset` would copy from, found
    /// under the lock; [`ReadPlan::read`] copies after it is released. With `whole_first` the
    /// first batch is planned whole even if larger (KIP-74), else nothing beyond `max_bytes`
    /// is. Blocking.
    fn plan_read(
        &self,
        offset: i64,
        max_bytes: usize,
        isolation: Isolation,
        whole_first: bool,
    ) -> (Watermarks, Result<ReadPlan, LogError>) {
        let log = self.lock();
        let watermarks = Watermarks {
            log_start: log.log_start_offset(),
            high: log.log_end_offset(),
            last_stable: log.last_stable_offset(),
        };
        if let Err(e) = self.serving() {
            return (watermarks, Err(e));
        }
        let upper = match isolation {
            Isolation::ReadUncommitted => watermarks.high,
            Isolation::ReadCommitted => watermarks.last_stable,
        };
        let plan = if whole_first {
            log.plan_read(offset, max_bytes, upper)
        } else {
            log.plan_read_within(offset, max_bytes, upper)
        };
        (watermarks, plan)
    }

    /// Whether a fetch at `offset` has something to return now (records, or an error because
    /// the offset is out of range or the partition offline), so waiting for an append is
    /// pointless. A read_committed fetch at the last stable offset (below the high watermark)
    /// waits for it to move.
    fn fetch_ready(&self, offset: i64, isolation: Isolation) -> bool {
        let high = self.high_watermark();
        if offset < self.log_start_offset() || offset > high || self.is_offline() {
            return true;
        }
        match isolation {
            Isolation::ReadUncommitted => offset != high,
            Isolation::ReadCommitted => offset < self.last_stable_offset(),
        }
    }

    /// Resolves after the next append, move of the last stable offset or failed fsync. Call
    /// `enable()` on the future before checking for data, so a change between the check and
    /// the await is not missed.
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

    /// Refreshes the cached offsets from `log` (with the lock held) and wakes waiting fetches
    /// if the log end or the last stable offset moved.
    fn refresh(&self, log: &PartitionLog) {
        self.start_offset
            .store(log.log_start_offset(), Ordering::Release);
        let end = log.log_end_offset();
        let stable = log.last_stable_offset();
        let end_moved = self.end_offset.swap(end, Ordering::AcqRel) != end;
        let stable_moved = self.stable_offset.swap(stable, Ordering::AcqRel) != stable;
        if end_moved || stable_moved {
            self.appended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
