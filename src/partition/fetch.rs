//! The long-poll fetch: reads several partitions within one response budget, waiting up to
//! `max_wait` for `min_bytes` to arrive. At read_committed it reads up to each partition's last
//! stable offset and returns, per partition, the aborted transactions overlapping what it read.
//!
//! A fetch waits on the partitions' append notifications, never a sleep loop. The wait is real
//! time, not the broker clock: the client times its request out in real time (see `clock.rs`).
//! Reads run on the blocking pool, each planned under its partition's lock and copied after.
//!
//! The budget (KIP-74): partitions are read in request order, each up to its own `max_bytes`
//! and what the response has left; the first partition with data is returned whole even if
//! larger, so a consumer is never stuck behind one large batch, and later ones that no longer
//! fit wait for the next fetch. Later partitions are planned only as far as they fit, and what
//! is planned is charged to the budget (as Kafka counts a partial last batch), so a fetch never
//! copies more than its budget and one first batch.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::select_all;
use tokio::task::JoinError;

use super::{Isolation, Partition, Watermarks};
use crate::clock::monotonic::Deadline;
use crate::log::{next_offset_after, AbortedTxn, LogError};

/// One partition to read from `offset`, at most `max_bytes` of it (the partition's own limit).
pub struct Wanted {
    pub partition: Arc<Partition>,
    pub offset: i64,
    pub max_bytes: usize,
}

/// The limits of one fetch.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Answer as soon as this many bytes are ready.
    pub min_bytes: usize,
    /// The response budget over all partitions.
    pub max_bytes: usize,
    /// How long to wait for `min_bytes` (real time).
    pub max_wait: Duration,
    pub isolation: Isolation,
}

/// What one partition returned.
pub struct Fetched {
    pub watermarks: Watermarks,
    /// Whole batches as stored; empty when there is nothing new or no budget left.
    pub records: Result<Bytes, LogError>,
    /// At read_committed, the aborted transactions overlapping `records`.
    pub aborted: Vec<AbortedTxn>,
}

/// Reads `wanted`, in order, once there are `min_bytes`, an error, or `max_wait` has passed.
/// One result per wanted partition, in the same order. `Err` only if a read task panicked.
pub async fn fetch(wanted: Vec<Wanted>, limits: Limits) -> Result<Vec<Fetched>, JoinError> {
    let deadline = Deadline::after(limits.max_wait);
    let wanted = Arc::new(wanted);
    loop {
        let isolation = limits.isolation;
        if !ready(&wanted, isolation) && wait_for_append(&wanted, &deadline, true, isolation).await
        {
            continue;
        }
        let w = wanted.clone();
        let (fetched, total, errors) =
            tokio::task::spawn_blocking(move || read_all(&w, limits.max_bytes, isolation)).await?;
        if total >= limits.min_bytes || errors || deadline.passed() {
            return Ok(fetched);
        }
        // Not enough yet: wait for more appends, then read again.
        wait_for_append(&wanted, &deadline, false, isolation).await;
    }
}

/// Whether reading now could return data or an error (so there is no point waiting).
fn ready(wanted: &[Wanted], isolation: Isolation) -> bool {
    wanted
        .iter()
        .any(|w| w.partition.fetch_ready(w.offset, isolation))
}

/// Waits until any wanted partition is appended to, or the deadline. Returns false on timeout.
/// With `recheck`, returns at once if data arrived before the wait was armed.
async fn wait_for_append(
    wanted: &[Wanted],
    deadline: &Deadline,
    recheck: bool,
    isolation: Isolation,
) -> bool {
    if deadline.passed() {
        return false;
    }
    let mut waits: Vec<_> = wanted
        .iter()
        .map(|w| Box::pin(w.partition.appended()))
        .collect();
    if waits.is_empty() {
        // Nothing can arrive: a fetch of no partitions just waits out max_wait.
        deadline.reached().await;
        return false;
    }
    for w in &mut waits {
        w.as_mut().enable();
    }
    // An append may have landed before the waits were armed.
    if recheck && ready(wanted, isolation) {
        return true;
    }
    deadline.run(select_all(waits)).await.is_some()
}

/// Reads every partition within the response budget: (results, bytes returned, any error).
/// Blocking.
fn read_all(
    wanted: &[Wanted],
    max_bytes: usize,
    isolation: Isolation,
) -> (Vec<Fetched>, usize, bool) {
    // Bytes planned so far, charged against `max_bytes`.
    let mut used = 0usize;
    let mut returned = 0usize;
    let mut errors = false;
    let fetched = wanted
        .iter()
        .map(|w| {
            let fetched = read_one(w, max_bytes, &mut used, isolation);
            match &fetched.records {
                Ok(records) => returned += records.len(),
                Err(_) => errors = true,
            }
            fetched
        })
        .collect();
    (fetched, returned, errors)
}

fn read_one(w: &Wanted, max_bytes: usize, used: &mut usize, isolation: Isolation) -> Fetched {
    // Only the first partition with data may exceed the limits (KIP-74).
    let first = *used == 0;
    let budget = w.max_bytes.min(max_bytes.saturating_sub(*used));
    if budget == 0 && !first {
        return Fetched {
            watermarks: w.partition.watermarks(),
            records: Ok(Bytes::new()),
            aborted: Vec::new(),
        };
    }
    let (watermarks, plan) = w
        .partition
        .plan_read(w.offset, budget.max(1), isolation, first);
    let records = plan.and_then(|plan| {
        *used = used.saturating_add(plan.len());
        plan.read()
    });
    let aborted = match (&records, isolation) {
        (Ok(bytes), Isolation::ReadCommitted) => match next_offset_after(bytes) {
            // Every transaction overlapping what was read had ended when it was planned (it
            // lies below the last stable offset), so its entry is in the index now.
            Some(upper) => w.partition.aborted_transactions(w.offset, upper),
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    Fetched {
        watermarks,
        records,
        aborted,
    }
}
