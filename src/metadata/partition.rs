//! One partition: its log behind a lock, and a notification for long-polling fetches.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::log::PartitionLog;

pub struct Partition {
    pub index: i32,
    log: Mutex<PartitionLog>,
    appended: Notify,
    // Cached so Metadata, ListOffsets and fetch wake-ups need not take the log lock.
    end_offset: AtomicI64,
    start_offset: AtomicI64,
}

impl Partition {
    pub fn new(index: i32, log: PartitionLog) -> Partition {
        let end = log.log_end_offset();
        let start = log.log_start_offset();
        Partition {
            index,
            log: Mutex::new(log),
            appended: Notify::new(),
            end_offset: AtomicI64::new(end),
            start_offset: AtomicI64::new(start),
        }
    }

    /// Locks the log. Blocking: call from a blocking task, never hold it across `.await`.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Refreshes the cached offsets from `log` (call with the lock held, after a change).
    pub fn refresh(&self, log: &PartitionLog) {
        self.start_offset
            .store(log.log_start_offset(), Ordering::Release);
        let end = log.log_end_offset();
        if self.end_offset.swap(end, Ordering::AcqRel) != end {
            self.appended.notify_waiters();
        }
    }

    /// The high watermark: with one replica, the log end offset.
    pub fn high_watermark(&self) -> i64 {
        self.end_offset.load(Ordering::Acquire)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.start_offset.load(Ordering::Acquire)
    }

    /// Resolves after the next append. Call `enable()` on the future before checking for data,
    /// so an append between the check and the await is not missed.
    pub fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.appended.notified()
    }
}
