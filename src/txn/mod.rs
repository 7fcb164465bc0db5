//! Transactions: Apache Kafka's transaction coordinator (KIP-98, KIP-360, KIP-447, KIP-890),
//! with weir as the coordinator of every transactional id. A sibling of the group
//! coordinator (`coordinator/`); it reaches partitions only through the partition API (append
//! a marker, let a producer into a partition) and groups only through [`GroupOffsets`].
//!
//! - `state.rs`: the states of a transactional id, each documented with its actions and
//!   transitions; `metadata.rs`: what the coordinator knows of one id.
//! - `machine.rs`: the pure state machine: what InitProducerId, AddPartitionsToTxn,
//!   AddOffsetsToTxn, EndTxn, verification, fencing and timeouts do to an id, with `now`
//!   passed in.
//! - `store.rs` (format documented there), `writer.rs`: the durable transaction log, replayed
//!   on start and compacted, written by one task on the blocking pool.
//! - `coordinator.rs`: the handle: one lock per transactional id (the requests of one id run
//!   one at a time, like an actor per id; ids run in parallel); `ending.rs`: markers and the
//!   groups' offsets when a transaction ends; `timers.rs`: timeouts, retries and expiry on
//!   the broker clock; `recovery.rs`: starting from the log.
//!
//! Handlers convert Kafka messages to the plain types of `api.rs` and map [`TxnError`] to
//! Kafka error codes (`crate::error`). Tests: `tests/` (the state machine, the log, the running
//! coordinator on a manual clock).

mod api;
mod config;
mod coordinator;
mod ending;
mod error;
mod links;
mod machine;
mod metadata;
mod recovery;
mod state;
mod store;
mod timers;
mod writer;

#[cfg(test)]
mod tests;

pub use api::{
    BoxFuture, Counters, GroupOffsets, ListFilter, PartitionLookup, TxnDescription, TxnListing,
};
pub use config::TxnConfig;
pub use coordinator::{TxnCoordinator, COORDINATOR_EPOCH};
pub use error::TxnError;
pub use links::TopicPartitions;
pub use metadata::{TxnMetadata, TxnPartition};
pub use state::TxnState;
