//! What a cleaning pass keeps of each batch and record: the one place that decides.
//!
//! Per batch ([`batch_fate`]): control batches are copied whole, always (transaction markers;
//! removing them is the transaction layer's call, see below). Transactional data batches are
//! copied whole and their keys are not mapped, because the log does not know yet whether their
//! transaction committed: mapping an aborted record would let it supersede a committed value.
//! Other batches are filtered record by record; the last batch of each producer the log still
//! tracks is kept even when no record of it is left (an empty batch: header only), so its
//! sequence numbers survive a restart, which rebuilds producer state from batch headers.
//!
//! Per record ([`keep_record`]): a record past what the key map covers (`map_end`) is kept; a record
//! without a key is dropped (as Kafka drops one left from before the topic was compacted); a
//! record older than the latest record of its key is dropped; a tombstone (no value) that is
//! the latest of its key is kept until it has been in the cleaned part of the log for
//! `delete.retention.ms` (`tombstones_below`: see `state.rs`).
//!
//! Transactions: the transaction layer plugs in here. It will pass the pass its aborted
//! transactions (producer id, first offset, last offset) so that [`batch_fate`] returns
//! `Drop` for aborted data batches and `Filter` for committed transactional ones (whose keys
//! are then mapped too, [`maps_keys`]), and it will let control batches go once their
//! transaction has no record left and `tombstones_below` has passed them, as Kafka does.

use std::collections::HashMap;

use super::super::batch::BatchHeader;
use super::offset_map::OffsetMap;

/// What happens to one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BatchFate {
    /// Copied byte for byte.
    KeepWhole,
    /// Records are kept or dropped one by one; with `keep_empty` the batch stays even if none
    /// is left.
    Filter { keep_empty: bool },
}

/// What the decisions of one pass depend on.
pub(super) struct Rules {
    /// Per producer id, the last offset of its last batch (the producer state the log keeps).
    pub producers_last: HashMap<i64, i64>,
    /// Tombstones below this offset have been clean for `delete.retention.ms`: they may go.
    pub tombstones_below: i64,
    /// Records from this offset on were not read into the key map: they stay. Set once the
    /// map is built.
    pub map_end: i64,
}

pub(super) fn batch_fate(h: &BatchHeader, rules: &Rules) -> BatchFate {
    if h.is_control() || h.is_transactional() {
        return BatchFate::KeepWhole;
    }
    let last_of_producer =
        h.producer_id >= 0 && rules.producers_last.get(&h.producer_id) == Some(&h.last_offset());
    BatchFate::Filter {
        keep_empty: last_of_producer,
    }
}

/// Whether the keys of a batch go into the key map (and so may supersede older records).
pub(super) fn maps_keys(h: &BatchHeader) -> bool {
    !h.is_control() && !h.is_transactional()
}

/// Whether the record at `offset` (with this key, and a value or not) stays.
pub(super) fn keep_record(
    key: Option<&[u8]>,
    has_value: bool,
    offset: i64,
    map: &OffsetMap,
    rules: &Rules,
) -> bool {
    if offset >= rules.map_end {
        return true;
    }
    let Some(key) = key else {
        return false;
    };
    if offset < map.get(key) {
        return false;
    }
    has_value || offset >= rules.tombstones_below
}
