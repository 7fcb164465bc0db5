//! Errors of the group coordinator.
//!
//! Each variant corresponds to one Apache Kafka error code; the broker maps them in one place
//! (`crate::error`). Per-partition and per-member errors are carried inside the result lists;
//! a `GroupError` returned for a whole request applies to the whole request.

use std::io;
use std::sync::Arc;

/// An error answered by the group coordinator.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupError {
    /// UNKNOWN_MEMBER_ID (25): the member id is not (or no longer) part of the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// ILLEGAL_GENERATION (22): the generation in the request is not the group's.
    #[error("illegal generation")]
    IllegalGeneration,
    /// REBALANCE_IN_PROGRESS (27): the group is rebalancing; the member must rejoin.
    #[error("rebalance in progress")]
    RebalanceInProgress,
    /// MEMBER_ID_REQUIRED (79): JoinGroup v4+ from a new dynamic member; rejoin with `member_id`.
    #[error("member id required, rejoin with {member_id}")]
    MemberIdRequired {
        /// The id the coordinator assigned; the response carries it.
        member_id: String,
    },
    /// FENCED_INSTANCE_ID (82): another member id now owns this `group.instance.id`.
    #[error("fenced instance id")]
    FencedInstanceId,
    /// GROUP_MAX_SIZE_REACHED (81): `group.max.size` members already.
    #[error("group max size reached")]
    GroupMaxSizeReached,
    /// INCONSISTENT_GROUP_PROTOCOL (23): protocol type or protocols incompatible with the group.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// INVALID_SESSION_TIMEOUT (26): outside `group.min/max.session.timeout.ms`.
    #[error("invalid session timeout")]
    InvalidSessionTimeout,
    /// NON_EMPTY_GROUP (68): the group still has members.
    #[error("non-empty group")]
    NonEmptyGroup,
    /// GROUP_ID_NOT_FOUND (69): the group does not exist.
    #[error("group id not found")]
    GroupIdNotFound,
    /// INVALID_GROUP_ID (24): empty group id where one is required.
    #[error("invalid group id")]
    InvalidGroupId,
    /// GROUP_SUBSCRIBED_TO_TOPIC (86): OffsetDelete on a topic the group still consumes.
    #[error("group subscribed to topic")]
    GroupSubscribedToTopic,
    /// OFFSET_METADATA_TOO_LARGE (12): commit metadata longer than `offset.metadata.max.bytes`.
    #[error("offset metadata too large")]
    OffsetMetadataTooLarge,
    /// INVALID_COMMIT_OFFSET_SIZE (28): the records of one commit are larger than one batch of
    /// the group log may be (`message.max.bytes`, as Kafka's offsets topic).
    #[error("invalid commit offset size")]
    InvalidCommitOffsetSize,
    /// UNSTABLE_OFFSET_COMMIT (88): an OffsetFetch with `require_stable` for a partition whose
    /// offset an open transaction is committing (per partition, in the fetch results).
    #[error("unstable offset commit")]
    UnstableOffsetCommit,
    /// COORDINATOR_NOT_AVAILABLE (15): shutting down, or the group is being removed.
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
    /// FENCED_MEMBER_EPOCH (110): a consumer-group member's epoch is not (or no longer) valid;
    /// it must give up its partitions and rejoin.
    #[error("fenced member epoch")]
    FencedMemberEpoch,
    /// STALE_MEMBER_EPOCH (113): a commit or fetch with an epoch other than the member's.
    #[error("stale member epoch")]
    StaleMemberEpoch,
    /// UNRELEASED_INSTANCE_ID (111): a static member joins while its previous incarnation is
    /// still active.
    #[error("the instance id is still used by another member")]
    UnreleasedInstanceId,
    /// UNSUPPORTED_ASSIGNOR (112): a server assignor not in `group.consumer.assignors`.
    #[error("unsupported assignor {0}")]
    UnsupportedAssignor(String),
    /// INVALID_REGULAR_EXPRESSION (128): a subscription regex that does not compile.
    #[error("invalid regular expression: {0}")]
    InvalidRegularExpression(String),
    /// INVALID_REQUEST (42), with Kafka's explanation.
    #[error("{0}")]
    InvalidRequest(String),
    /// GROUP_ID_NOT_FOUND (69): a consumer-group request for a classic group.
    #[error("Group {0} is not a consumer group.")]
    NotConsumerGroup(String),
    /// The group log could not be read or written. Suggested mapping:
    /// COORDINATOR_NOT_AVAILABLE (Kafka maps append failures of group records to it).
    #[error("group store: {0}")]
    Storage(Arc<io::Error>),
}

impl From<io::Error> for GroupError {
    fn from(e: io::Error) -> Self {
        GroupError::Storage(Arc::new(e))
    }
}
