//! A global allocator that keeps hostile requests from aborting the broker.
//!
//! The Kafka codec (`kafka_protocol` 0.18) sizes a `Vec` from an array count read off the wire
//! before decoding any element, so a request of a few bytes claiming 2^31 elements asks for
//! hundreds of GiB at once. The system allocator refuses, and Rust aborts the process on a
//! failed allocation. This allocator serves such outsized requests with a lazily committed
//! mapping (`MAP_NORESERVE`): nothing is touched, the decoder fails on the missing elements,
//! and the mapping is returned. Memory actually used stays bounded by the bytes really decoded,
//! which the frame size limit bounds. Everything else goes to the system allocator.
//!
//! The `weir` binary installs it; an embedding program should too:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;
//! # fn main() {}
//! ```
//!
//! On a host with strict overcommit (`vm.overcommit_memory=2`) the kernel still refuses such
//! mappings and the process aborts as it would without this allocator.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are mapped lazily instead of taken from the system
/// allocator. No legitimate allocation of the broker comes near it by default (frames are
/// capped by `socket.request.max.bytes`, 100 MiB).
pub const LAZY_THRESHOLD: usize = 1 << 30;

pub struct GuardedAlloc;

unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LAZY_THRESHOLD {
            map_lazily(layout)
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LAZY_THRESHOLD {
            // Anonymous mappings are zero-filled.
            map_lazily(layout)
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LAZY_THRESHOLD {
            libc::munmap(ptr.cast(), layout.size());
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LAZY_THRESHOLD && new_size < LAZY_THRESHOLD {
            return System.realloc(ptr, layout, new_size);
        }
        // Crossing the threshold (or staying above it): move to an allocation of the right kind.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = self.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

unsafe fn map_lazily(layout: Layout) -> *mut u8 {
    // mmap returns page-aligned memory; larger alignments are never asked for in practice.
    if layout.align() > 4096 {
        return std::ptr::null_mut();
    }
    let ptr = libc::mmap(
        std::ptr::null_mut(),
        layout.size(),
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
        -1,
        0,
    );
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
