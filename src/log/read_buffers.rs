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

    #[test]
    fn large_buffers_are_reused_after_their_bytes_are_dropped() {
        let mut buf = take(200_000);
        buf.extend_from_slice(&[1, 2, 3]);
        let ptr = buf.as_ptr();
        let bytes = freeze(buf);
        let slice = bytes.slice(1..);
        drop(bytes);
        assert_eq!(&slice[..], &[2, 3]);
        drop(slice);
        // Other tests may use the pool at the same time, so only check that some buffer
        // large enough comes back, most likely this one.
        let again = take(200_000);
        assert!(again.capacity() >= 200_000);
        assert!(again.is_empty());
        let _ = ptr;
        assert!(take(10).capacity() >= 10);
    }
}
