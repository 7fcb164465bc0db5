//! Consumer groups: Apache Kafka's classic group coordinator, with weir as the coordinator of
//! every group.
//!
//! - `state.rs`: the five group states, each documented with its actions and transitions.
//! - `group.rs`: the pure state machine's [`Group`] (fields, accessors, descriptions, state
//!   transitions) and [`Outbox`]; `rebalance.rs` (join rounds, generations, protocol
//!   selection), `roster.rs` (adding, removing and validating members; assignments),
//!   `timers.rs` (`tick`, `next_deadline`) and `recovery.rs` (restore from the store, undo a
//!   failed write) complete it. `join.rs`, `membership.rs` (sync, heartbeat, leave) and
//!   `commit.rs` (offsets, deletion, retention) add the per-request operations. Time is passed
//!   in; nothing blocks.
//! - `member.rs`, `offsets.rs`, `subscription.rs`: a member, committed offsets, reading
//!   ConsumerProtocol subscriptions.
//! - `record.rs`, `store.rs`, `codec.rs`, `writer.rs`: the durable group log (format
//!   documented in store.rs, encoded by codec.rs), replayed on start and compacted; written by
//!   one task on the blocking pool.
//! - `actor.rs`, `handle.rs`: one tokio task per group owning its timers (on the broker
//!   clock given to [`GroupCoordinator::start`]); the [`GroupCoordinator`] handle routes
//!   requests to them. `crate::clock` is the module's only import from the rest of the crate.
//!
//! The API uses plain types (`api.rs`); the broker's handlers convert Kafka messages and map
//! [`GroupError`] to Kafka error codes. [`GroupCoordinator::start`] must run inside a tokio
//! runtime. Tests: `tests/` (the state machine, one file per request kind; `tests/store.rs`
//! the group log), `handle_tests.rs` (the running coordinator on a manual clock), and inline
//! tests in the small files.

mod actor;
mod api;
mod codec;
mod commit;
mod config;
mod error;
mod group;
mod handle;
mod join;
mod member;
mod membership;
mod offsets;
mod rebalance;
mod record;
mod recovery;
mod roster;
mod state;
mod store;
mod subscription;
mod timers;
mod writer;

#[cfg(test)]
mod handle_tests;
#[cfg(test)]
mod tests;

pub use api::{
    CommitPartition, CommitRequest, FetchedOffset, GroupDescription, GroupListing,
    HeartbeatRequest, JoinRequest, JoinResponse, JoinedMember, LeaveMember, LeaveResult,
    MemberDescription, PartitionResult, SyncRequest, SyncResponse,
};
pub use config::GroupConfig;
pub use error::GroupError;
pub use group::{Group, Outbox};
pub use handle::GroupCoordinator;
pub use member::Ticket;
pub use offsets::{CommittedOffset, Offsets};
pub use record::{GroupMetadataRecord, LoadedGroup, MemberRecord, Record};
pub use state::GroupState;
pub use subscription::subscribed_topics;
