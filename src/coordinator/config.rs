//! Coordinator settings, named after the Apache Kafka broker configs they mirror.

use super::consumer::assignor::Assignor;

/// Settings of the group coordinator. Defaults are Kafka's.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits
    /// for more members (extended by the same amount while members keep arriving, bounded by the
    /// rebalance timeout).
    pub initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: i64,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: i64,
    /// `group.max.size`.
    pub max_size: i32,
    /// `offsets.retention.minutes` (in ms): committed offsets of an empty group expire this long
    /// after the group became empty; offsets of a simple (standalone) group this long after
    /// their commit.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms`.
    pub offsets_retention_check_interval_ms: i64,
    /// `offset.metadata.max.bytes`: longer commit metadata is OFFSET_METADATA_TOO_LARGE.
    pub offset_metadata_max_bytes: usize,
    /// `message.max.bytes`: the records of one OffsetCommit must fit one batch of this size,
    /// as they must fit one record batch of Kafka's offsets topic (INVALID_COMMIT_OFFSET_SIZE).
    pub max_batch_bytes: usize,
    /// Kafka's `classicGroupNewMemberJoinTimeoutMs` (5 minutes): a new member parked in a join
    /// round is dropped after this long (it cannot heartbeat before it has joined).
    pub new_member_join_timeout_ms: i64,
    /// `group.consumer.session.timeout.ms`: a consumer-group member (KIP-848) that does not
    /// heartbeat for this long is removed.
    pub consumer_session_timeout_ms: i64,
    /// `group.consumer.heartbeat.interval.ms`: how often consumer-group members heartbeat.
    pub consumer_heartbeat_interval_ms: i64,
    /// `group.consumer.max.size`.
    pub consumer_max_size: i32,
    /// `group.consumer.assignors`: the server-side assignors, the first being the default.
    pub consumer_assignors: Vec<Assignor>,
    /// The group log is rewritten as a snapshot when it is larger than 4x its live records and
    /// at least this many bytes.
    pub store_compaction_min_bytes: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            max_size: i32::MAX,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            max_batch_bytes: 1_048_588,
            new_member_join_timeout_ms: 300_000,
            store_compaction_min_bytes: 1 << 20,
            consumer_session_timeout_ms: 45_000,
            consumer_heartbeat_interval_ms: 5_000,
            consumer_max_size: i32::MAX,
            consumer_assignors: vec![Assignor::Uniform, Assignor::Range],
        }
    }
}
