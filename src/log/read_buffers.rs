//! Recycled buffers for reads of record batches (fetches).
//!
//! A fetch reads up to a megabyte or more per partition on a blocking-pool thread, and the
//! buffer is freed on a reactor thread once the response is written. With glibc each
//! blocking thread allocates from an arena of its own and keeps what it freed, so fresh
//! buffers per fetch grew the broker's memory with the number of blocking threads (a
//! 16-partition fetch with 8 producers running peaked above 100 MiB). Large read buffers
//! are therefore taken from and returned to this pool (at most [`POOL_BYTES`] kept), so
//! the steady state allocates nothing.

use std::sync::Mutex;

use bytes::Bytes;

/// Reads smaller than this use a plain allocation.
const POOLED_MIN: usize = 64 * 1024;
/// Most buffer capacity the pool keeps.
const POOL_BYTES: usize = 32 * 1024 * 1024;

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    bytes: 0,
});

struct Pool {
    free: Vec<Vec<u8>>,
    bytes: usize,
}

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An empty buffer with room for at least `len` bytes.
pub(super) fn take(len: usize) -> Vec<u8> {
    if len < POOLED_MIN {
        return Vec::with_capacity(len);
    }
    let mut pool = pool();
    let best = pool
        .free
        .iter()
        .enumerate()
        .filter(|(_, b)| b.capacity() >= len)
        .min_by_key(|(_, b)| b.capacity())
        .map(|(i, _)| i);
    if let Some(i) = best {
        let buf = pool.free.swap_remove(i);
        pool.bytes -= buf.capacity();
        return buf;
    }
    drop(pool);
    // Round up so buffers of nearby sizes can be reused for each other.
    Vec::with_capacity(len.next_power_of_two())
}

/// `buf` as `Bytes`; a pooled buffer goes back to the pool when the last slice of it is
/// dropped.
pub(super) fn freeze(buf: Vec<u8>) -> Bytes {
    if buf.capacity() < POOLED_MIN {
        return Bytes::from(buf);
    }
    Bytes::from_owner(Pooled(buf))
}

struct Pooled(Vec<u8>);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        let mut pool = pool();
        if pool.bytes + buf.capacity() <= POOL_BYTES {
            pool.bytes += buf.capacity();
            pool.free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the pool holds the buffer that starts at `ptr`.
    fn pooled(ptr: *const u8) -> bool {
        pool().free.iter().any(|b| b.as_ptr() == ptr)
    }

    #[test]
    fn large_buffers_are_reused_after_their_bytes_are_dropped() {
        // Reads in other tests take from the same pool and may take this buffer between its
        // return and the `take` below; a round they disturbed is run again. A pool that never
        // takes the buffer back, or a `take` that never hands it out, fails every round.
        for _ in 0..100 {
            {
                // A pool filled by others would keep nothing more: make room.
                let mut pool = pool();
                if pool.bytes + 2 * 200_000_usize.next_power_of_two() > POOL_BYTES {
                    pool.free.clear();
                    pool.bytes = 0;
                }
            }
            let mut buf = take(200_000);
            assert!(buf.capacity() >= 200_000);
            buf.extend_from_slice(&[1, 2, 3]);
            let ptr = buf.as_ptr();
            let bytes = freeze(buf);
            let slice = bytes.slice(1..);
            drop(bytes);
            assert!(!pooled(ptr), "returned while a slice still uses it");
            assert_eq!(&slice[..], &[2, 3]);
            drop(slice);
            if !pooled(ptr) {
                continue;
            }
            let again = take(200_000);
            if again.as_ptr() == ptr {
                assert!(again.is_empty());
                assert!(again.capacity() >= 200_000);
                assert!(!pooled(ptr), "handed out and still in the pool");
                return;
            }
        }
        panic!("a dropped 200 kB read buffer never came back from the pool");
    }

    #[test]
    fn small_buffers_are_not_pooled() {
        let buf = take(10);
        assert!(buf.capacity() >= 10);
        let ptr = buf.as_ptr();
        drop(freeze(buf));
        assert!(!pooled(ptr));
    }
}
