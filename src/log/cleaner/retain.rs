//! What a cleaning pass keeps of each batch and record: the one place that decides.
//!
//! Per batch ([`Transactions::fate`], called for every batch of the pass in log order):
//! - A batch at or past what the key map covers (`map_end`) is copied whole.
//! - Data of an aborted transaction (its producer, between the transaction's first offset and
//!   its abort marker, as the `.txnindex` of the log lists them) is removed. Everything below
//!   the first uncleanable offset belongs to an ended transaction (a pass never reaches the
//!   last stable offset), so a transactional batch that is not aborted is committed: it is
//!   filtered like any other batch, keeping its transactional flag and producer fields.
//! - A control batch (commit or abort marker) stays while any data of its transaction was
//!   seen by this pass (the data batches between the producer's previous marker and this one,
//!   removed by this pass or not, as Kafka counts them), so a later reader or a restart never
//!   meets transactional data without the marker that ends it. A marker whose transaction has
//!   no data left goes once it has been in the cleaned log for `delete.retention.ms`
//!   (`tombstones_below`, the tombstone rule), as Kafka does.
//! - The last data batch of each producer the log still tracks is kept even when no record of
//!   it is left (an empty batch: header only), and so is the producer's last marker: a restart
//!   rebuilds producer state (sequence numbers, epoch, coordinator epoch) from batch headers.
//!
//! Per record ([`keep_record`]): a record past `map_end` is kept; a record without a key is
//! dropped (as Kafka drops one left from before the topic was compacted); a record older than
//! the latest record of its key is dropped; a tombstone (no value) that is the latest of its key
//! is kept until it has been in the cleaned part of the log for `delete.retention.ms`
//! (`tombstones_below`: see `state.rs`).

use std::collections::HashMap;

use super::super::batch::BatchHeader;
use super::super::txn_index::AbortedTxn;
use super::offset_map::OffsetMap;

/// What happens to one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BatchFate {
    /// Copied byte for byte.
    KeepWhole,
    /// Records are kept or dropped one by one; with `keep_empty` the batch stays even if none
    /// is left.
    Filter { keep_empty: bool },
    /// Every record goes (aborted data, or a marker no longer needed); with `keep_empty` the
    /// batch stays, empty.
    Remove { keep_empty: bool },
}

/// What the decisions of one pass depend on.
pub(super) struct Rules {
    /// Per producer id, the last offset of its last data batch (the producer state the log
    /// keeps).
    pub producers_last: HashMap<i64, i64>,
    /// Per producer id, the offset of its last marker.
    pub producers_last_marker: HashMap<i64, i64>,
    /// Per producer id, its aborted transactions below the first uncleanable offset as
    /// (first offset, abort marker offset), ascending.
    pub aborted: HashMap<i64, Vec<(i64, i64)>>,
    /// Tombstones and empty transactions' markers below this offset have been clean for
    /// `delete.retention.ms`: they may go.
    pub tombstones_below: i64,
    /// Records from this offset on were not read into the key map: they stay. Set once the
    /// map is built.
    pub map_end: i64,
}

impl Rules {
    /// Groups aborted transactions by producer.
    pub fn aborted_by_producer(list: &[AbortedTxn]) -> HashMap<i64, Vec<(i64, i64)>> {
        let mut out: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for t in list {
            out.entry(t.producer_id)
                .or_default()
                .push((t.first_offset, t.last_offset));
        }
        for v in out.values_mut() {
            v.sort_unstable();
        }
        out
    }

    /// Whether the data batch `h` belongs to an aborted transaction.
    pub fn is_aborted(&self, h: &BatchHeader) -> bool {
        if !h.is_transactional() || h.is_control() {
            return false;
        }
        let Some(list) = self.aborted.get(&h.producer_id) else {
            return false;
        };
        // The last transaction starting at or before this batch; a producer has one open at a time.
        let i = list.partition_point(|(first, _)| *first <= h.base_offset);
        i > 0
            && list
                .get(i - 1)
                .is_some_and(|(_, marker)| h.base_offset < *marker)
    }

    fn last_of_producer(&self, h: &BatchHeader) -> bool {
        if h.producer_id < 0 {
            return false;
        }
        let last = if h.is_control() {
            &self.producers_last_marker
        } else {
            &self.producers_last
        };
        last.get(&h.producer_id) == Some(&h.last_offset())
    }
}

/// Transactions as a pass walks the log from its start: which producers have data since
/// their last marker, and whether any of it stays.
#[derive(Default)]
pub(super) struct Transactions {
    /// Producer id -> some data batch of its current transaction stays after this pass.
    with_data: HashMap<i64, bool>,
    /// Markers a later pass may remove once their horizon passes (their transaction has no
    /// data left): the log asks for a pass then, as it does for tombstones.
    pub markers_waiting: u64,
}

impl Transactions {
    /// Decides batch `h` (and notes it: call once per batch, in log order).
    pub fn fate(&mut self, h: &BatchHeader, rules: &Rules) -> BatchFate {
        let keep_empty = rules.last_of_producer(h);
        let past_map = h.base_offset >= rules.map_end;
        if h.is_control() {
            let data = self.with_data.remove(&h.producer_id);
            if past_map || keep_empty {
                return BatchFate::KeepWhole;
            }
            if let Some(stays) = data {
                self.markers_waiting += u64::from(!stays);
                return BatchFate::KeepWhole;
            }
            if h.last_offset() >= rules.tombstones_below {
                self.markers_waiting += 1;
                return BatchFate::KeepWhole;
            }
            return BatchFate::Remove { keep_empty: false };
        }
        if h.is_transactional() {
            let stays = self.with_data.entry(h.producer_id).or_insert(false);
            *stays |= past_map;
        }
        if past_map {
            BatchFate::KeepWhole
        } else if rules.is_aborted(h) {
            BatchFate::Remove { keep_empty }
        } else {
            BatchFate::Filter { keep_empty }
        }
    }
}

impl Transactions {
    /// The data batch `h` stays after this pass (whole, filtered or empty).
    pub fn stays(&mut self, h: &BatchHeader) {
        if h.is_transactional() && !h.is_control() {
            if let Some(stays) = self.with_data.get_mut(&h.producer_id) {
                *stays = true;
            }
        }
    }
}

/// Whether the keys of a batch go into the key map (and so may supersede older records):
/// data batches other than aborted ones.
pub(super) fn maps_keys(h: &BatchHeader, rules: &Rules) -> bool {
    !h.is_control() && !rules.is_aborted(h)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, base: i64, transactional: bool, control: bool) -> BatchHeader {
        let mut attributes = 0i16;
        if transactional {
            attributes |= 1 << 4;
        }
        if control {
            attributes |= 1 << 5;
        }
        let mut b = vec![0u8; super::super::super::batch::HEADER_SIZE];
        b[0..8].copy_from_slice(&base.to_be_bytes());
        b[8..12].copy_from_slice(&49i32.to_be_bytes());
        b[16] = 2;
        b[21..23].copy_from_slice(&attributes.to_be_bytes());
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        b[57..61].copy_from_slice(&1i32.to_be_bytes());
        BatchHeader::parse(&b).unwrap()
    }

    fn rules(aborted: &[AbortedTxn]) -> Rules {
        Rules {
            producers_last: HashMap::new(),
            producers_last_marker: HashMap::new(),
            aborted: Rules::aborted_by_producer(aborted),
            tombstones_below: 100,
            map_end: 1_000,
        }
    }

    fn aborted(pid: i64, first: i64, last: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: last + 1,
        }
    }

    #[test]
    fn only_data_inside_an_aborted_transaction_of_its_producer_is_aborted() {
        let r = rules(&[aborted(1, 10, 20), aborted(1, 40, 50)]);
        assert!(!r.is_aborted(&header(1, 5, true, false)));
        assert!(r.is_aborted(&header(1, 10, true, false)));
        assert!(r.is_aborted(&header(1, 19, true, false)));
        assert!(!r.is_aborted(&header(1, 30, true, false)), "committed");
        assert!(r.is_aborted(&header(1, 45, true, false)));
        assert!(!r.is_aborted(&header(2, 15, true, false)), "other producer");
        assert!(
            !r.is_aborted(&header(1, 15, false, false)),
            "not transactional"
        );
        assert!(!r.is_aborted(&header(1, 20, true, true)), "the marker");
    }

    #[test]
    fn a_marker_stays_while_its_transaction_has_data_then_until_its_horizon() {
        let r = rules(&[aborted(1, 10, 20)]);
        let mut t = Transactions::default();
        // Data seen, then the abort: the data goes, the marker stays this pass.
        assert_eq!(
            t.fate(&header(1, 10, true, false), &r),
            BatchFate::Remove { keep_empty: false }
        );
        assert_eq!(t.fate(&header(1, 20, true, true), &r), BatchFate::KeepWhole);
        assert_eq!(
            t.markers_waiting, 1,
            "no data left: a later pass may remove it"
        );
        // A committed transaction whose data is seen and stays: filtered like any batch; its
        // marker stays for as long as the data does.
        let data = header(1, 30, true, false);
        assert_eq!(t.fate(&data, &r), BatchFate::Filter { keep_empty: false });
        t.stays(&data);
        assert_eq!(t.fate(&header(1, 31, true, true), &r), BatchFate::KeepWhole);
        assert_eq!(t.markers_waiting, 1);
        // A marker without data below the horizon goes; past it, it waits.
        assert_eq!(
            t.fate(&header(2, 50, true, true), &r),
            BatchFate::Remove { keep_empty: false }
        );
        assert_eq!(
            t.fate(&header(2, 150, true, true), &r),
            BatchFate::KeepWhole
        );
        assert_eq!(t.markers_waiting, 2);
    }

    #[test]
    fn the_last_batch_and_last_marker_of_a_producer_stay() {
        let mut r = rules(&[aborted(1, 10, 20)]);
        r.producers_last.insert(1, 10);
        r.producers_last_marker.insert(1, 20);
        let mut t = Transactions::default();
        assert_eq!(
            t.fate(&header(1, 10, true, false), &r),
            BatchFate::Remove { keep_empty: true }
        );
        assert_eq!(t.fate(&header(1, 20, true, true), &r), BatchFate::KeepWhole);
        // Past the map's end nothing is touched.
        r.map_end = 5;
        assert_eq!(t.fate(&header(3, 7, true, true), &r), BatchFate::KeepWhole);
    }
}
