//! A global allocator that keeps hostile requests from aborting the broker.
//!
//! The Kafka codec (`kafka_protocol` 0.18) sizes a `Vec` from an array count read off the wire
//! before decoding any element, so a request of a few bytes claiming 2^31 elements asks for
//! hundreds of GiB at once. The system allocator refuses, and Rust aborts the process on a
//! failed allocation. This allocator serves such outsized requests with a lazily committed
//! mapping (`MAP_NORESERVE`): nothing is touched, the decoder fails on the missing elements,
//! and the mapping is returned. Everything else goes to the system allocator.
//!
//! The `weir` binary installs it; an embedding program should too:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;
//! # fn main() {}
//! ```
//!
//! # What the guard covers
//!
//! - One allocation (or reallocation) of [`LAZY_THRESHOLD`] (1 GiB) or more, with an alignment
//!   of at most 4096: it gets address space, not memory. The kernel commits a page only when it
//!   is first written, so memory really used is what the decoder wrote, which the frame size
//!   limit (`socket.request.max.bytes`) bounds.
//! - Such a mapping lives only while the one request that asked for it is decoded, and requests
//!   are decoded on the runtime's worker threads, so at most one per worker exists at a time:
//!   address space (128 TiB on x86-64) is not exhausted by many hostile connections.
//!
//! # What it does not cover
//!
//! - Allocations below 1 GiB go to the system allocator unchanged: on a host whose RAM plus
//!   swap is under the requested size (Linux's default overcommit heuristic refuses those), a
//!   count that asks for, say, 800 MiB still fails and aborts the process.
//! - Strict overcommit (`vm.overcommit_memory=2`): the kernel ignores `MAP_NORESERVE`, refuses
//!   such mappings, and the process aborts as it would without this allocator.
//! - Memory that is really used: it does not count, cap or account for anything. Many large
//!   legitimate requests at once, or a leak, exhaust memory as usual (a cgroup limit then
//!   OOM-kills the process).
//! - Alignments above 4096 at 1 GiB or more get a null pointer (an abort); no type the broker
//!   decodes asks for one.
//! - Only a program that installs it as its `#[global_allocator]` is covered; an embedding
//!   program that does not is aborted by the same hostile request.

// Every unsafe operation below sits in its own `unsafe` block with the reason it is sound.
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are mapped lazily instead of taken from the system
/// allocator. No legitimate allocation of the broker comes near it by default (frames are
/// capped by `socket.request.max.bytes`, 100 MiB).
pub const LAZY_THRESHOLD: usize = 1 << 30;

/// Largest alignment a lazy mapping can give: mappings start on a page boundary.
const PAGE: usize = 4096;

pub struct GuardedAlloc;

// SAFETY: every method either forwards to `System` with the caller's arguments unchanged (so
// `System`'s guarantees hold), or, at and above `LAZY_THRESHOLD`, returns a fresh private
// anonymous mapping of at least `layout.size()` bytes, aligned to `PAGE >= layout.align()`, or
// null. Which of the two owns a block is decided by its size alone, and `dealloc`/`realloc`
// receive the same layout the block was allocated with (the `GlobalAlloc` contract), so a
// block always goes back to the allocator it came from.
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LAZY_THRESHOLD {
            map_lazily(layout)
        } else {
            // SAFETY: the caller guarantees a non-zero size; the layout is passed unchanged.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LAZY_THRESHOLD {
            // Anonymous mappings are zero-filled.
            map_lazily(layout)
        } else {
            // SAFETY: as in `alloc`.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LAZY_THRESHOLD {
            // SAFETY: a block this large came from `map_lazily` with this size (same layout as
            // at allocation), so this unmaps exactly that mapping and nothing else.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            // SAFETY: a block this small came from `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LAZY_THRESHOLD && new_size < LAZY_THRESHOLD {
            // SAFETY: the block came from `System` with `layout`, and stays with it.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // Crossing the threshold (or staying above it): move to an allocation of the right kind.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `new_size` is non-zero (caller's guarantee) and the layout is valid.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: `ptr` is valid for `layout.size()` bytes and `new` for `new_size`; two
            // live allocations never overlap. The old block is freed with its own layout.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

/// A private anonymous mapping of `layout.size()` bytes that commits no memory until touched,
/// or null.
fn map_lazily(layout: Layout) -> *mut u8 {
    if layout.align() > PAGE {
        return std::ptr::null_mut();
    }
    // SAFETY: a new anonymous mapping at an address the kernel chooses (null hint, no
    // MAP_FIXED): it cannot replace or alias any existing memory. No file descriptor is used.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            layout.size(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        ptr.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outsized_allocations_are_served_lazily_and_returned() {
        let layout = Layout::from_size_align(256 << 30, 8).unwrap();
        // SAFETY: each pointer is checked non-null before use, written and read only within
        // its first 4096 bytes, and freed once with the layout it has at that point.
        unsafe {
            let p = GuardedAlloc.alloc(layout);
            assert!(!p.is_null(), "a 256 GiB lazy mapping should be granted");
            p.write(7);
            assert_eq!(p.read(), 7);
            let q = GuardedAlloc.realloc(p, layout, 4096);
            assert!(!q.is_null());
            assert_eq!(q.read(), 7);
            GuardedAlloc.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
        }
    }
}
