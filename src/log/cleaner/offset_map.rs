//! The cleaner's key map: key -> offset of the latest record with that key in the part of the
//! log a pass has read, in a fixed memory budget.
//!
//! Like Kafka's `SkimpyOffsetMap` it stores a 16-byte digest of each key, not the key: 24 bytes
//! per entry in one open-addressing table, whatever the key sizes. The digest is two SipHash-1-3
//! values under keys drawn at random for each map, so two keys collide with a chance of about
//! n²/2¹²⁹ and nobody producing keys can aim at a collision. The table is sized for the pass
//! (at most what the budget allows) and reused between passes; it is never grown past the budget:
//! when it is as full as the load factor allows, the pass stops mapping there and cleans what it
//! has mapped, and the rest of the log waits for the next pass.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Bytes of one table entry (digest + offset).
pub const ENTRY_BYTES: u64 = 24;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot {
    digest: [u64; 2],
    /// -1: empty.
    offset: i64,
}

const EMPTY: Slot = Slot {
    digest: [0, 0],
    offset: -1,
};

pub struct OffsetMap {
    slots: Vec<Slot>,
    /// Most entries the budget allows.
    max_slots: usize,
    load_factor: f64,
    used: usize,
    hashers: [RandomState; 2],
    /// The last offset the map covers (-1 before anything was mapped).
    latest_offset: i64,
}

impl OffsetMap {
    /// A map that may use up to `budget_bytes` and fills up to `load_factor` of its slots.
    pub fn new(budget_bytes: u64, load_factor: f64) -> OffsetMap {
        let max_slots = usize::try_from(budget_bytes / ENTRY_BYTES)
            .unwrap_or(usize::MAX)
            .max(2);
        OffsetMap {
            slots: Vec::new(),
            max_slots,
            load_factor: load_factor.clamp(0.1, 1.0),
            used: 0,
            hashers: [RandomState::new(), RandomState::new()],
            latest_offset: -1,
        }
    }

    /// Empties the map and sizes it for up to `expected` keys (within the budget). New digest
    /// keys are drawn.
    pub fn reset(&mut self, expected: u64) {
        let wanted = (expected as f64 / self.load_factor).ceil() as u64 + 1;
        let size = usize::try_from(wanted)
            .unwrap_or(usize::MAX)
            .clamp(2, self.max_slots);
        if self.slots.len() != size {
            // Shrinking frees memory a larger earlier pass needed.
            self.slots = Vec::new();
            self.slots.resize(size, EMPTY);
        } else {
            self.slots.fill(EMPTY);
        }
        self.used = 0;
        self.hashers = [RandomState::new(), RandomState::new()];
        self.latest_offset = -1;
    }

    /// Whether another new key may be put.
    pub fn is_full(&self) -> bool {
        (self.used + 1) as f64 > self.slots.len() as f64 * self.load_factor
            || self.used + 1 >= self.slots.len()
    }

    fn digest(&self, key: &[u8]) -> [u64; 2] {
        [self.hashers[0].hash_one(key), self.hashers[1].hash_one(key)]
    }

    fn position(&self, digest: [u64; 2]) -> usize {
        let len = self.slots.len().max(1);
        let mut i = (digest[0] as usize) % len;
        loop {
            match self.slots.get(i) {
                Some(s) if s.offset >= 0 && s.digest != digest => i = (i + 1) % len,
                _ => return i,
            }
        }
    }

    /// Records `offset` as the latest for `key`. False (nothing put) if the key is new and the
    /// map is full.
    pub fn put(&mut self, key: &[u8], offset: i64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        let digest = self.digest(key);
        let i = self.position(digest);
        let full = self.is_full();
        let Some(slot) = self.slots.get_mut(i) else {
            return false;
        };
        if slot.offset < 0 {
            if full {
                return false;
            }
            self.used += 1;
        }
        *slot = Slot { digest, offset };
        self.latest_offset = self.latest_offset.max(offset);
        true
    }

    /// The latest offset of `key`, or -1 if the map has none.
    pub fn get(&self, key: &[u8]) -> i64 {
        if self.slots.is_empty() {
            return -1;
        }
        let digest = self.digest(key);
        self.slots.get(self.position(digest)).map_or(-1, |s| {
            if s.digest == digest {
                s.offset
            } else {
                -1
            }
        })
    }

    /// Extends the range the map covers up to `offset` (records there had no key to map).
    pub fn cover(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    /// The last offset the map covers: records above it were not read by this pass.
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    pub fn len(&self) -> usize {
        self.used
    }

    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Bytes the table holds now.
    pub fn allocated_bytes(&self) -> u64 {
        self.slots.len() as u64 * ENTRY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_wins_and_the_budget_is_never_exceeded() {
        let mut map = OffsetMap::new(24 * 100, 0.9);
        map.reset(1_000_000);
        assert_eq!(map.allocated_bytes(), 24 * 100, "sized by the budget");
        assert!(map.put(b"a", 1));
        assert!(map.put(b"b", 2));
        assert!(map.put(b"a", 3));
        assert_eq!((map.get(b"a"), map.get(b"b"), map.get(b"c")), (3, 2, -1));
        assert_eq!(map.len(), 2);
        let mut put = 2;
        while map.put(format!("k{put}").as_bytes(), 10 + put) {
            put += 1;
        }
        assert_eq!(map.len(), 90, "stops at the load factor");
        assert!(map.is_full());
        assert!(map.put(b"a", 500), "a known key is still updated when full");
        assert_eq!(map.get(b"a"), 500);
        assert_eq!(map.latest_offset(), 500);
        map.reset(10);
        assert_eq!(map.len(), 0);
        assert_eq!(map.get(b"a"), -1);
        assert!(map.allocated_bytes() < 24 * 100, "sized for the pass");
    }
}
