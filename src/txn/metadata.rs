//! What the coordinator knows of one transactional id (Kafka's `TransactionMetadata`): one
//! record of the transaction log replaces the previous one, so this is also what is persisted.

use std::collections::BTreeSet;

use super::state::TxnState;

/// Kafka's "no producer id" and "no epoch".
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_EPOCH: i16 = -1;

/// A partition of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnPartition {
    pub topic: String,
    pub partition: i32,
}

impl TxnPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TxnPartition {
        TxnPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// The state of one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (epoch exhaustion), for retries across it.
    pub prev_producer_id: i64,
    /// Transactions v2: the id the producer moves to when this transaction ends at the last
    /// epoch.
    pub next_producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump, so a retried request that caused it is recognised.
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    pub partitions: BTreeSet<TxnPartition>,
    /// Consumer groups whose offsets the transaction commits (AddOffsetsToTxn).
    pub groups: BTreeSet<String>,
    /// When the first partition or group was added; -1 when no transaction is open.
    pub txn_start_ms: i64,
    pub last_update_ms: i64,
    /// The client follows transactions v2 (epoch bumped at every commit and abort).
    pub tv2: bool,
}

impl TxnMetadata {
    /// A new transactional id with producer id `producer_id` and no epoch yet.
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now: i64) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            prev_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_EPOCH,
            last_producer_epoch: NO_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeSet::new(),
            txn_start_ms: -1,
            last_update_ms: now,
            tv2: false,
        }
    }

    /// Epochs up to `i16::MAX - 1` are handed out; the last one is kept so a fence is always
    /// possible.
    pub fn is_epoch_exhausted(epoch: i16) -> bool {
        epoch >= i16::MAX - 1
    }

    /// When an open transaction times out.
    pub fn expires_at(&self) -> Option<i64> {
        (self.state == TxnState::Ongoing)
            .then(|| self.txn_start_ms.saturating_add(i64::from(self.timeout_ms)))
    }

    /// A copy in `state`, updated at `now`.
    pub(super) fn to(&self, state: TxnState, now: i64) -> TxnMetadata {
        TxnMetadata {
            state,
            last_update_ms: now,
            ..self.clone()
        }
    }
}
