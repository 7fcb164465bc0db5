//! The aborted-transaction index of a segment: `<baseOffset:020>.txnindex`, one entry per
//! transaction whose abort marker sits in the segment, in marker order (so `last_offset`
//! ascends). A read_committed fetch returns, with its records, the aborted transactions that
//! overlap them; this index finds them without reading the log.
//!
//! Entry layout, 34 bytes, big-endian (Kafka's `.txnindex` layout):
//!
//! ```text
//! @0   version             i16   0
//! @2   producerId          i64
//! @10  firstOffset         i64   the transaction's first offset in this partition
//! @18  lastOffset          i64   the offset of its abort marker
//! @26  lastStableOffset    i64   the partition's last stable offset once the marker was written
//! ```
//!
//! `lastStableOffset` lets a search stop early: a transaction aborted later that started below
//! some offset U was still open when this marker was written, so this entry's last stable offset
//! is below U. The first entry whose last stable offset is at or above U therefore ends the
//! search for transactions starting below U.
//!
//! The file is written like the offset index (entries appended lazily, fsynced when the
//! segment rolls). Recovery trusts the file of a sealed segment once its entries check out
//! against the batches the scan saw (each names an abort marker of that producer in the
//! segment) and rebuilds the last segment's from its marker records; see `recovery.rs`.

use super::index_file::Entry;

pub(super) const TXN_INDEX_SUFFIX: &str = "txnindex";
const VERSION: i16 = 0;

/// One aborted transaction on this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The abort marker's offset.
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl Entry for AbortedTxn {
    const SIZE: usize = 34;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.first_offset.to_be_bytes());
        out.extend_from_slice(&self.last_offset.to_be_bytes());
        out.extend_from_slice(&self.last_stable_offset.to_be_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let i64_at = |at: usize| -> Option<i64> {
            Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        };
        let version = i16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?);
        if version != VERSION {
            return None;
        }
        Some(AbortedTxn {
            producer_id: i64_at(2)?,
            first_offset: i64_at(10)?,
            last_offset: i64_at(18)?,
            last_stable_offset: i64_at(26)?,
        })
    }
}

/// Adds to `out` the entries of one segment's index that overlap `[from, upper)`: aborted at or
/// after `from` and started before `upper`. Returns true when no later entry (in this or a later
/// segment) can overlap, so the search is complete.
pub(super) fn collect(
    entries: &[AbortedTxn],
    from: i64,
    upper: i64,
    out: &mut Vec<AbortedTxn>,
) -> bool {
    let start = entries.partition_point(|e| e.last_offset < from);
    for e in entries.get(start..).unwrap_or_default() {
        if e.first_offset < upper {
            out.push(*e);
        }
        if e.last_stable_offset >= upper {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id: pid,
            first_offset: first,
            last_offset: last,
            last_stable_offset: lso,
        }
    }

    #[test]
    fn entries_round_trip_in_kafka_layout() {
        let e = txn(7, 10, 20, 21);
        let mut buf = Vec::new();
        e.encode(&mut buf);
        assert_eq!(buf.len(), AbortedTxn::SIZE);
        assert_eq!(&buf[..2], &[0, 0]);
        assert_eq!(AbortedTxn::decode(&buf), Some(e));
        buf[1] = 9;
        assert_eq!(AbortedTxn::decode(&buf), None, "unknown version");
    }

    #[test]
    fn collect_returns_overlapping_entries_and_stops_at_a_stable_offset_past_the_range() {
        // Producer 1 aborted [0, 5] while 2 was open from 3; 2 aborted [3, 9]; 3 aborted [10, 12].
        let entries = [txn(1, 0, 5, 3), txn(2, 3, 9, 10), txn(3, 10, 12, 13)];
        let mut out = Vec::new();
        assert!(collect(&entries, 4, 8, &mut out));
        assert_eq!(out, vec![entries[0], entries[1]]);

        out.clear();
        assert!(collect(&entries, 6, 11, &mut out));
        assert_eq!(out, vec![entries[1], entries[2]]);

        out.clear();
        assert!(
            !collect(&entries, 13, 20, &mut out),
            "later segments may hold more"
        );
        assert!(out.is_empty());
    }
}
