//! Plain request and response types of the coordinator API.
//!
//! The broker's handlers convert Kafka request structs into these and the results back; the
//! coordinator never sees a wire type. Absent Kafka fields are given their Kafka defaults by the
//! handler (e.g. JoinGroup v0 has no rebalance timeout: use the session timeout, as Kafka does).

use bytes::Bytes;

use super::error::GroupError;

/// A JoinGroup request.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    pub group_id: String,
    /// `""` for a member joining for the first time.
    pub member_id: String,
    /// `group.instance.id` (KIP-345 static membership), JoinGroup v5+.
    pub group_instance_id: Option<String>,
    /// From the request header; shown by DescribeGroups and used as the member id prefix.
    pub client_id: String,
    /// The client's address, shown by DescribeGroups (Kafka writes `/ip`).
    pub client_host: String,
    pub protocol_type: String,
    /// (protocol name, member metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    /// True for JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED.
    pub require_known_member_id: bool,
    /// True for JoinGroup v9+ (KIP-814): a static leader replaced in a Stable group is told it
    /// is the leader with `skip_assignment`; older versions are told the old leader id instead.
    pub supports_skip_assignment: bool,
    /// KIP-800 reason, logged only.
    pub reason: Option<String>,
}

/// One member as listed to the leader in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// The member's metadata for the selected protocol.
    pub metadata: Bytes,
}

/// A successful JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// Non-empty only for the leader.
    pub members: Vec<JoinedMember>,
}

/// A SyncGroup request.
#[derive(Debug, Clone, Default)]
pub struct SyncRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// SyncGroup v5+; checked against the group when present.
    pub protocol_type: Option<String>,
    /// SyncGroup v5+; checked against the group when present.
    pub protocol_name: Option<String>,
    /// The leader's assignment: (member id, assignment bytes). Empty from followers.
    pub assignments: Vec<(String, Bytes)>,
}

/// A successful SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

/// A Heartbeat request.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// One member leaving (LeaveGroup v3+ batches them; v0-v2 is a batch of one with no instance
/// id). An empty `member_id` with an instance id removes that static member (admin removal).
#[derive(Debug, Clone, Default)]
pub struct LeaveMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub reason: Option<String>,
}

/// The per-member result of a LeaveGroup. For LeaveGroup v0-v2 the handler uses `result` as
/// the top-level error.
#[derive(Debug, Clone)]
pub struct LeaveResult {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub result: Result<(), GroupError>,
}

/// An OffsetCommit request.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub group_id: String,
    /// -1 for a standalone consumer (with an empty member id) or an admin client.
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<CommitPartition>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone, Default)]
pub struct CommitPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// -1 when unknown.
    pub leader_epoch: i32,
    /// `None` (null on the wire) is stored as `""`, like Kafka.
    pub metadata: Option<String>,
}

/// A TxnOffsetCommit: offsets committed in producer `producer_id`'s transaction, pending until
/// it ends. Member fields as in [`CommitRequest`] (v3+; older versions send -1 and "").
#[derive(Debug, Clone, Default)]
pub struct TxnCommitRequest {
    pub group_id: String,
    pub producer_id: i64,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub partitions: Vec<CommitPartition>,
}

/// The per-partition result of an OffsetCommit or OffsetDelete.
#[derive(Debug, Clone)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    pub result: Result<(), GroupError>,
}

/// One partition of an OffsetFetch response. Offset -1 (leader epoch -1, metadata "") when
/// nothing is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    /// `require_stable` was asked and an open transaction is committing this partition's
    /// offset: answered UNSTABLE_OFFSET_COMMIT (offset -1).
    pub unstable: bool,
}

/// A member in a DescribeGroups response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The metadata for the selected protocol; empty unless the group is Stable.
    pub metadata: Bytes,
    /// The current assignment; empty unless the group is Stable.
    pub assignment: Bytes,
}

/// A DescribeGroups entry. A group that does not exist is described as Dead with no members
/// (and no error), like Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    /// Kafka's state name (a consumer group's states differ from a classic group's).
    pub state: &'static str,
    pub protocol_type: String,
    /// The selected protocol when Stable, otherwise "".
    pub protocol_data: String,
    pub members: Vec<MemberDescription>,
}

/// A ListGroups entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// "" for a simple (commit-only) group.
    pub protocol_type: String,
    /// Kafka's state name.
    pub state: &'static str,
    /// "classic" or "consumer".
    pub group_type: &'static str,
}
