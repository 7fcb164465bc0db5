//! The cleaner threads (`log.cleaner.threads`): which compacted log is cleaned next, and when.
//!
//! Each thread is a task on the broker clock: it picks the log with the highest dirty ratio
//! above its `min.cleanable.dirty.ratio`, or one whose dirty records are older than
//! `max.compaction.lag.ms` (those first), that no other thread is cleaning; runs one pass on
//! an OS thread of its own at the lowest CPU priority (off the reactor, behind the threads that
//! answer clients: background.rs); and looks again at once. When no log wants cleaning it
//! waits `log.cleaner.backoff.ms` on the broker clock. A log whose pass failed is left alone for
//! one backoff. The threads share `log.cleaner.io.max.bytes.per.second` and split
//! `log.cleaner.dedupe.buffer.size` between their key maps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Partition;
use crate::clock::Clock;
use crate::log::cleaner::{CleanerConfig, OffsetMap, PassReport, Throttle};

/// Totals over every pass since the broker started, for metrics.
#[derive(Debug, Default)]
pub struct CleanerTotals {
    pub passes: AtomicU64,
    pub aborted_passes: AtomicU64,
    pub failed_passes: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
    pub records_removed: AtomicU64,
    /// Sum of pass durations (real elapsed time).
    pub pass_micros: AtomicU64,
    pub last_pass_micros: AtomicU64,
}

impl CleanerTotals {
    fn add(&self, report: &PassReport, micros: u64) {
        let counter = if report.aborted {
            &self.aborted_passes
        } else {
            &self.passes
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.bytes_read
            .fetch_add(report.bytes_read, Ordering::Relaxed);
        self.bytes_written
            .fetch_add(report.bytes_written, Ordering::Relaxed);
        self.records_removed
            .fetch_add(report.records_removed, Ordering::Relaxed);
        self.pass_micros.fetch_add(micros, Ordering::Relaxed);
        self.last_pass_micros.store(micros, Ordering::Relaxed);
    }
}

/// The logs the cleaner may look at (every partition of every topic; it skips the ones that
/// are not compacted). Each entry is a topic name and its partitions.
pub type LogSource = Arc<dyn Fn() -> Vec<(String, Vec<Arc<Partition>>)> + Send + Sync>;

/// Starts the cleaner threads; none if the cleaner is disabled. They end when `stopped` turns
/// true, passes under way stopping at their next read or write.
pub fn spawn(
    config: &CleanerConfig,
    clock: Clock,
    logs: LogSource,
    totals: Arc<CleanerTotals>,
    stopped: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    if !config.enable || config.threads == 0 {
        return Vec::new();
    }
    let throttle = Arc::new(Throttle::new(config.io_max_bytes_per_second));
    let mut tasks = Vec::new();
    {
        let throttle = throttle.clone();
        let mut stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            let _ = stopped.wait_for(|s| *s).await;
            throttle.cancel();
        }));
    }
    for _ in 0..config.threads {
        let thread = Thread {
            clock: clock.clone(),
            logs: logs.clone(),
            totals: totals.clone(),
            throttle: throttle.clone(),
            backoff: Duration::from_millis(u64::try_from(config.backoff_ms).unwrap_or(0)),
            map: Some(OffsetMap::new(config.map_budget(), config.load_factor)),
            budget: (config.map_budget(), config.load_factor),
        };
        tasks.push(tokio::spawn(thread.run(stopped.clone())));
    }
    tasks
}

struct Thread {
    clock: Clock,
    logs: LogSource,
    totals: Arc<CleanerTotals>,
    throttle: Arc<Throttle>,
    backoff: Duration,
    map: Option<OffsetMap>,
    budget: (u64, f64),
}

/// Releases a partition claimed for cleaning.
struct Claim(Arc<Partition>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.cleaning.store(false, Ordering::Release);
    }
}

impl Thread {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            let cleaned = match self.claim_filthiest().await {
                Some((topic, claim)) => self.pass(topic, claim).await,
                None => false,
            };
            if cleaned {
                continue;
            }
            tokio::select! {
                () = self.clock.sleep(self.backoff) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    }

    /// The log most in need of cleaning, claimed so no other thread takes it.
    async fn claim_filthiest(&self) -> Option<(String, Claim)> {
        let logs = self.logs.clone();
        let now = self.clock.now_ms();
        let picked = tokio::task::spawn_blocking(move || {
            let mut best: Option<(bool, f64, String, Arc<Partition>)> = None;
            for (topic, partitions) in logs() {
                for p in partitions {
                    if p.cleaning.load(Ordering::Acquire)
                        || p.cleaning_backoff_until.load(Ordering::Acquire) > now
                        || p.is_offline()
                    {
                        continue;
                    }
                    let Some(d) = p.dirtiness() else { continue };
                    if !d.wants_cleaning(p.config().min_cleanable_dirty_ratio) {
                        continue;
                    }
                    let better = best
                        .as_ref()
                        .is_none_or(|(o, r, _, _)| (d.overdue, d.ratio) > (*o, *r));
                    if better {
                        best = Some((d.overdue, d.ratio, topic.clone(), p));
                    }
                }
            }
            best.map(|(_, _, topic, p)| (topic, p))
        })
        .await
        .ok()
        .flatten()?;
        let (topic, partition) = picked;
        partition
            .cleaning
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        Some((topic, Claim(partition)))
    }

    /// Runs one pass; true if it did anything.
    async fn pass(&mut self, topic: String, claim: Claim) -> bool {
        let mut map = self
            .map
            .take()
            .unwrap_or_else(|| OffsetMap::new(self.budget.0, self.budget.1));
        let throttle = self.throttle.clone();
        let partition = claim.0.clone();
        let started = crate::clock::monotonic::Stopwatch::start();
        let joined = super::background::run("weir-cleaner", move || {
            let result = partition.clean(&mut map, &throttle, false);
            (map, result)
        })
        .await;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let index = claim.0.index;
        let result = match joined {
            Ok((map, result)) => {
                self.map = Some(map);
                result
            }
            Err(e) => {
                tracing::error!(topic, partition = index, "cleaner task failed: {e}");
                self.totals.failed_passes.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        };
        match result {
            Ok(Some(report)) => {
                self.totals.add(&report, micros);
                tracing::info!(
                    topic,
                    partition = index,
                    cleaned_to = report.cleaned_to,
                    bytes_read = report.bytes_read,
                    bytes_written = report.bytes_written,
                    records_removed = report.records_removed,
                    aborted = report.aborted,
                    "cleaned log"
                );
                true
            }
            Ok(None) => false,
            Err(e) => {
                if !self.throttle.is_cancelled() {
                    tracing::error!(topic, partition = index, error = %e,
                        "cleaning failed; the log is left alone for log.cleaner.backoff.ms");
                    self.totals.failed_passes.fetch_add(1, Ordering::Relaxed);
                    let backoff = i64::try_from(self.backoff.as_millis()).unwrap_or(i64::MAX);
                    claim.0.cleaning_backoff_until.store(
                        self.clock.now_ms().saturating_add(backoff.max(1)),
                        Ordering::Release,
                    );
                }
                false
            }
        }
    }
}
