//! The records of the group log (see store.rs for their encoding): what the coordinator keeps
//! durable, as Kafka keeps it in `__consumer_offsets`.

use bytes::Bytes;

use super::consumer::assignor::Assignment;
use super::consumer::member::ConsumerMember;
use super::offsets::CommittedOffset;
use uuid::Uuid;

/// One durable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A committed offset (replaces the previous one of the partition).
    Offset {
        group_id: String,
        topic: String,
        partition: i32,
        value: CommittedOffset,
    },
    /// An offset deleted (OffsetDelete) or expired.
    OffsetTombstone {
        group_id: String,
        topic: String,
        partition: i32,
    },
    /// The group's membership as of its last completed rebalance (replaces the previous one).
    Group {
        group_id: String,
        metadata: GroupMetadataRecord,
    },
    /// The group was deleted or expired: its metadata and all its offsets are gone.
    GroupTombstone { group_id: String },
    /// A consumer group's epochs (KIP-848); the group id now names a consumer group.
    ConsumerGroup {
        group_id: String,
        epoch: i32,
        assignment_epoch: i32,
        /// The subscribed topics the target was computed from: (name, id, partitions).
        topics: Vec<(String, Uuid, i32)>,
    },
    /// One consumer-group member with its current and target assignments.
    ConsumerMember {
        group_id: String,
        member: Box<ConsumerMember>,
        target: Assignment,
    },
    /// A consumer-group member left or was removed.
    ConsumerMemberTombstone { group_id: String, member_id: String },
    /// An offset committed in producer `producer_id`'s open transaction (TxnOffsetCommit),
    /// pending until the transaction ends; replaces the producer's earlier pending offset of
    /// the partition.
    TxnOffset {
        group_id: String,
        producer_id: i64,
        topic: String,
        partition: i32,
        value: CommittedOffset,
    },
    /// Producer `producer_id`'s transaction ended: its pending offsets go. A commit writes them
    /// as [`Record::Offset`]s in the same append.
    TxnOffsetsEnd {
        group_id: String,
        producer_id: i64,
        commit: bool,
    },
    /// The group id no longer names a consumer group (it became a classic group); its offsets
    /// stay.
    ConsumerGroupTombstone { group_id: String },
}

/// A group's membership, written when a rebalance completes (Stable or Empty) and when a
/// static member is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataRecord {
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub generation_id: i32,
    pub leader: Option<String>,
    /// When the group entered its current state (the expiry base of an empty group).
    pub state_timestamp_ms: i64,
    pub members: Vec<MemberRecord>,
}

/// One member in a [`GroupMetadataRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberRecord {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i64,
    pub rebalance_timeout_ms: i64,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
}

/// What the store holds for one group after replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedGroup {
    pub metadata: Option<GroupMetadataRecord>,
    pub offsets: Vec<(String, i32, CommittedOffset)>,
    /// Offsets committed by open transactions: (producer id, topic, partition, offset).
    pub pending: Vec<(i64, String, i32, CommittedOffset)>,
    pub consumer: Option<LoadedConsumerGroup>,
}

/// A consumer group after replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedConsumerGroup {
    pub epoch: i32,
    pub assignment_epoch: i32,
    pub topics: Vec<(String, Uuid, i32)>,
    /// Each member with its target assignment.
    pub members: Vec<(ConsumerMember, Assignment)>,
}
