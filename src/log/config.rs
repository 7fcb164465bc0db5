//! Per-partition log configuration. Names and defaults follow Apache Kafka's topic configs.

/// Kafka's `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Keep the producer's timestamps.
    CreateTime,
    /// Stamp every batch with the broker's clock when it is appended.
    LogAppendTime,
}

/// Settings of one partition log. `Default` gives Kafka's defaults.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would exceed this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment's first batch is older than this.
    pub segment_ms: i64,
    /// `retention.ms`: -1 = unlimited; delete whole non-active segments whose largest
    /// timestamp is older.
    pub retention_ms: i64,
    /// `retention.bytes`: -1 = unlimited; delete the oldest non-active segments while the
    /// total size exceeds it.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: log bytes between two sparse index entries.
    pub index_interval_bytes: u64,
    /// `flush.messages`: fsync the active segment once this many records were appended since
    /// the last fsync; 1 = every append, `u64::MAX` = never (leave it to the OS).
    pub flush_interval_messages: u64,
    /// `max.message.bytes`: largest single batch accepted.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `cleanup.policy` names `delete`: retention deletes old segments.
    pub delete: bool,
    /// `cleanup.policy` names `compact`: the cleaner keeps the latest record of each key, and
    /// records without a key are refused.
    pub compact: bool,
    /// `min.cleanable.dirty.ratio`: a log is cleaned once dirty bytes / all bytes exceed this.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: records younger than this are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: dirty records older than this make a log due for cleaning
    /// whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `delete.retention.ms`: how long tombstones stay once the cleaner has passed them.
    pub delete_retention_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            flush_interval_messages: u64::MAX,
            max_message_bytes: 1_048_588,
            timestamp_type: TimestampType::CreateTime,
            delete: true,
            compact: false,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            delete_retention_ms: 24 * 60 * 60 * 1000,
        }
    }
}
