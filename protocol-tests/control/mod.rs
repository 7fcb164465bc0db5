//! The test-control plane driven by real clients: fault rules doing to rdkafka and the Java
//! client what the same faults do to them against Kafka, broker down and up, the manual
//! clock, request capture, reset, and `weir serve` as a harness starts it (ready file,
//! seeded topics, `weir ctl`), plus the README's examples in Rust, Python and Java.

mod capture;
mod clock;
mod common;
mod examples;
mod faults;
mod outage;
mod serve;
mod storage;
mod transactions;
