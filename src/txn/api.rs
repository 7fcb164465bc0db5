//! What the transaction coordinator offers and needs, in plain types.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::metadata::TxnPartition;
use super::state::TxnState;
use crate::partition::Partition;

/// How the coordinator reaches partitions: by name, and all of them (for recovery).
pub trait PartitionLookup: Send + Sync + 'static {
    fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>>;
    /// Every partition in service with its topic.
    fn all(&self) -> Vec<(String, Arc<Partition>)>;
}

/// A boxed future, for the [`GroupOffsets`] calls.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How the coordinator settles the offsets a transaction committed for a consumer group
/// (TxnOffsetCommit): applied when it commits, dropped when it aborts.
pub trait GroupOffsets: Send + Sync + 'static {
    fn complete(
        &self,
        group: &str,
        producer_id: i64,
        commit: bool,
    ) -> BoxFuture<Result<(), String>>;
}

/// One transactional id as DescribeTransactions shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnDescription {
    pub transactional_id: String,
    pub state: TxnState,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    /// -1 when no transaction was started.
    pub start_ms: i64,
    pub partitions: Vec<TxnPartition>,
    pub groups: Vec<String>,
}

/// One transactional id as ListTransactions shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnListing {
    pub transactional_id: String,
    pub producer_id: i64,
    pub state: TxnState,
    pub start_ms: i64,
    pub timeout_ms: i32,
}

/// What ListTransactions filters on (empty lists and -1 filter nothing).
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub states: Vec<TxnState>,
    pub producer_ids: Vec<i64>,
    /// Only transactions running longer than this many milliseconds.
    pub min_duration_ms: i64,
    /// Only transactional ids this regular expression matches whole.
    pub pattern: Option<regex::Regex>,
}

impl Default for ListFilter {
    fn default() -> Self {
        ListFilter {
            states: Vec::new(),
            producer_ids: Vec::new(),
            min_duration_ms: -1,
            pattern: None,
        }
    }
}

/// Transactions ended since the coordinator started.
#[derive(Debug, Default)]
pub struct Counters {
    committed: AtomicU64,
    aborted: AtomicU64,
    timed_out: AtomicU64,
}

impl Counters {
    pub(super) fn ended(&self, commit: bool) {
        let c = if commit {
            &self.committed
        } else {
            &self.aborted
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }

    pub fn aborted(&self) -> u64 {
        self.aborted.load(Ordering::Relaxed)
    }

    pub fn timed_out_count(&self) -> u64 {
        self.timed_out.load(Ordering::Relaxed)
    }
}
