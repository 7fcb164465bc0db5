//! Consumer groups: Apache Kafka's group coordinator (classic groups and KIP-848 consumer
//! groups), with weir as the coordinator of every group.
//!
//! - `state.rs`: the five group states, each documented with its actions and transitions.
//! - `group/`: the pure state machine. `group/mod.rs` holds `Group`'s fields (private to
//!   `group/`: only the state machine touches them), accessors, descriptions, state transitions
//!   and the `Effects` an operation produces (replies, durable records);
//!   `rebalance.rs` (join rounds, generations, protocol selection), `roster.rs` (adding,
//!   removing and validating members; assignments), `timers.rs` (`tick`, `next_deadline`),
//!   `recovery.rs` (restore from the store, undo a failed write), `join.rs`, `membership.rs`
//!   (sync, heartbeat, leave) and `commit.rs` (offsets, deletion, retention) complete it. Time
//!   is passed in; nothing blocks.
//! - `member.rs`, `offsets.rs`, `subscription.rs`: a member, committed offsets, reading
//!   ConsumerProtocol subscriptions.
//! - `record.rs`, `store.rs`, `codec.rs`, `writer.rs`: the durable group log (format
//!   documented in store.rs, encoded by codec.rs), replayed on start and compacted; written by
//!   one task on the blocking pool.
//! - `consumer/`: consumer groups of the KIP-848 protocol, a pure state machine beside the
//!   classic one (epochs, server-side assignors, reconciliation, timers; see its mod.rs).
//! - `slot.rs`: what one group id holds (offsets and a classic group, or a consumer group) and
//!   how the two kinds meet (conversions of empty groups, errors for live ones).
//! - `ops.rs`: every request a group's task runs, one `Op` impl each (how it runs, its answer
//!   when refused or when its records could not be written).
//! - `actor.rs`, `handle.rs`: one tokio task per group owning its timers (on the broker
//!   clock given to [`GroupCoordinator::start`]); the [`GroupCoordinator`] handle routes
//!   requests to them. `crate::clock` is the module's only import from the rest of the crate.
//!
//! The API uses plain types (`api.rs`); the broker's handlers convert Kafka messages and map
//! [`GroupError`] to Kafka error codes. [`GroupCoordinator::start`] must run inside a tokio
//! runtime. Tests: `tests/` (the classic state machine, one file per request kind;
//! `tests/store.rs` and `tests/consumer_store.rs` the group log), `consumer/tests.rs` (the
//! consumer-group state machine), `handle_tests.rs` (the running coordinator on a manual
//! clock), and inline tests in the small files.

mod actor;
mod api;
mod codec;
mod config;
mod consumer;
mod error;
mod group;
mod handle;
mod member;
mod offsets;
mod ops;
mod record;
mod slot;
mod state;
mod store;
mod subscription;
mod writer;

#[cfg(test)]
mod handle_tests;
#[cfg(test)]
mod tests;

pub use api::{
    CommitPartition, CommitRequest, FetchedOffset, GroupDescription, GroupListing,
    HeartbeatRequest, JoinRequest, JoinResponse, JoinedMember, LeaveMember, LeaveResult,
    MemberDescription, PartitionResult, SyncRequest, SyncResponse, TxnCommitRequest,
};
pub use config::GroupConfig;
pub use consumer::api::{
    ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResponse,
    ConsumerMemberDescription, DescribedPartitions, TopicPartitions,
};
pub use consumer::assignor::Assignor;
pub use consumer::topics::TopicImage;
pub use error::GroupError;
pub use handle::GroupCoordinator;
pub use state::GroupState;
pub(crate) use store::write_snapshot;
