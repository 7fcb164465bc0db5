//! Time index: `<baseOffset:020>.timeindex`, one per segment.
//!
//! On-disk format: a sequence of 12-byte entries, no header:
//!
//! ```text
//! timestamp      i64 BE   largest batch maxTimestamp seen in the segment so far
//! relativeOffset u32 BE   base offset of the (first) batch carrying it - segment baseOffset
//! ```
//!
//! An entry is considered at the same cadence as the offset index and appended only when the
//! largest timestamp grew since the previous entry, so timestamps are strictly increasing. When a
//! segment is rolled a final entry records its largest timestamp. Invariant used by lookups:
//! every record at or before an entry's cadence point has a timestamp <= the entry's timestamp.

use super::index_file::Entry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

impl Entry for TimeEntry {
    const SIZE: usize = 12;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let ts = bytes.get(0..8)?.try_into().ok()?;
        let rel = bytes.get(8..12)?.try_into().ok()?;
        Some(TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: u32::from_be_bytes(rel),
        })
    }
}

/// Whether `timestamp` deserves a new entry after `last`.
pub(super) fn should_append(last: Option<&TimeEntry>, timestamp: i64) -> bool {
    match last {
        Some(l) => timestamp > l.timestamp,
        None => timestamp >= 0,
    }
}

/// Relative offset from which a search for the first record with timestamp >= `target` may
/// start: that of the last entry whose timestamp is strictly below the target (no record
/// before its cadence point can match), or 0.
pub(super) fn lookup(entries: &[TimeEntry], target: i64) -> u32 {
    let idx = entries.partition_point(|e| e.timestamp < target);
    idx.checked_sub(1)
        .and_then(|i| entries.get(i))
        .map_or(0, |e| e.relative_offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_uses_last_entry_strictly_below() {
        let e = |t, r| TimeEntry {
            timestamp: t,
            relative_offset: r,
        };
        let entries = [e(100, 3), e(200, 8), e(300, 12)];
        assert_eq!(lookup(&entries, 50), 0);
        assert_eq!(lookup(&entries, 100), 0);
        assert_eq!(lookup(&entries, 101), 3);
        assert_eq!(lookup(&entries, 250), 8);
        assert_eq!(lookup(&entries, 1000), 12);
        assert!(should_append(None, 0));
        assert!(!should_append(None, -1));
        assert!(!should_append(Some(&e(100, 1)), 100));
        let mut buf = Vec::new();
        e(-2, 5).encode(&mut buf);
        assert_eq!(TimeEntry::decode(&buf), Some(e(-2, 5)));
    }
}
