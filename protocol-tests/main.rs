//! Tests that drive a real weir broker with real, unmodified Kafka clients.
//!
//! Each test starts its own broker on port 0 with its own data folder, so tests run in parallel.
//! External clients (kcat, Python, Java, Node) are installed by `protocol-tests/run.sh` into
//! `protocol-tests/.deps/`; a missing client fails the test with a message naming the command
//! that installs it.

// The same allocator as the binary, so embedded brokers survive hostile array counts too.
#[global_allocator]
static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;

mod support;

mod acl;
mod admin;
mod admin_http;
mod bad_input;
mod cli;
mod compaction;
mod compat;
mod control;
mod embedding;
mod frozen_clock;
mod groups;
mod java;
mod kafka_python;
mod kcat;
mod metrics;
mod rdkafka_basic;
mod reliability;
mod security;
mod settings;
mod txn;
