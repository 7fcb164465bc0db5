#![no_main]

// The broker's allocator: the codec sizes Vecs from wire counts (see weir::alloc).
#[global_allocator]
static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::sasl_exchange(data));
