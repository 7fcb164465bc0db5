//! Sparse offset index: `<baseOffset:020>.index`, one per segment.
//!
//! On-disk format: a sequence of 8-byte entries, no header:
//!
//! ```text
//! relativeOffset u32 BE   batch baseOffset - segment baseOffset
//! position       u32 BE   byte position of that batch in the segment's .log file
//! ```
//!
//! An entry is added for the first batch appended after more than `index_interval_bytes` of log
//! data since the previous entry (the first batch of a segment, at position 0, needs none).
//! Entries are strictly increasing in both fields. Unlike Kafka, which indexes a batch's last
//! offset, an entry names the batch's base offset: a lookup then starts at the batch that may
//! contain the target, which is as close as the index can get.

use super::index_file::Entry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

impl Entry for OffsetEntry {
    const SIZE: usize = 8;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let rel = bytes.get(0..4)?.try_into().ok()?;
        let pos = bytes.get(4..8)?.try_into().ok()?;
        Some(OffsetEntry {
            relative_offset: u32::from_be_bytes(rel),
            position: u32::from_be_bytes(pos),
        })
    }
}

/// Position from which to scan for `relative_offset`: that of the last entry at or below it,
/// or 0.
pub(super) fn lookup(entries: &[OffsetEntry], relative_offset: u32) -> u32 {
    let idx = entries.partition_point(|e| e.relative_offset <= relative_offset);
    idx.checked_sub(1)
        .and_then(|i| entries.get(i))
        .map_or(0, |e| e.position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_floor_entry() {
        let e = |r, p| OffsetEntry {
            relative_offset: r,
            position: p,
        };
        let entries = [e(10, 100), e(20, 200), e(30, 300)];
        assert_eq!(lookup(&entries, 0), 0);
        assert_eq!(lookup(&entries, 9), 0);
        assert_eq!(lookup(&entries, 10), 100);
        assert_eq!(lookup(&entries, 25), 200);
        assert_eq!(lookup(&entries, 99), 300);
        assert_eq!(lookup(&[], 5), 0);
        let mut buf = Vec::new();
        e(7, 9).encode(&mut buf);
        assert_eq!(buf, [0, 0, 0, 7, 0, 0, 0, 9]);
        assert_eq!(OffsetEntry::decode(&buf), Some(e(7, 9)));
    }
}
