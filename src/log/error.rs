//! Errors of the partition log. Mapped to Kafka error codes by the crate's `error.rs`, never here.

/// Everything that can go wrong in a partition log operation.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file system operation failed (KAFKA_STORAGE_ERROR).
    #[error("log i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// An fsync of a segment's log file failed: pages written since the last good fsync may
    /// never reach the disk, so the partition stops serving (KAFKA_STORAGE_ERROR).
    #[error("fsync of {} failed: {source}", path.display())]
    SyncFailed {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The partition stopped serving after a failed fsync, until the broker restarts
    /// (KAFKA_STORAGE_ERROR).
    #[error("partition offline since a failed fsync ({0})")]
    Offline(String),
    /// Bad CRC, bad length, truncated batch, inconsistent counts (CORRUPT_MESSAGE).
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    /// A well-formed batch that this broker refuses (INVALID_RECORD).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// One record of the batch is malformed or inconsistent (INVALID_RECORD, with the record's
    /// index among the response's record errors).
    #[error("invalid record at index {index} of the batch: {message}")]
    RecordError { index: i32, message: String },
    /// Message sets with magic 0 or 1, or an unknown magic.
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    /// One batch is larger than `max_message_bytes` (MESSAGE_TOO_LARGE).
    #[error("record batch of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge { size: usize, max: usize },
    /// A read outside `[log_start, log_end]` (OFFSET_OUT_OF_RANGE).
    #[error("offset {offset} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    /// Idempotent producer sequence gap or mismatch (OUT_OF_ORDER_SEQUENCE_NUMBER).
    #[error("out of order sequence: {0}")]
    OutOfOrderSequence(String),
    /// A producer epoch older than the one already seen (INVALID_PRODUCER_EPOCH).
    #[error("invalid producer epoch: {0}")]
    InvalidProducerEpoch(String),
    /// Not allowed by the topic's configs, e.g. DeleteRecords on a compact-only topic
    /// (POLICY_VIOLATION).
    #[error("{0}")]
    PolicyViolation(String),
    /// A batch that does not fit its producer's transaction state: transactional without an
    /// ongoing transaction on this partition, or plain while one is open (INVALID_TXN_STATE).
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// A marker from an older transaction coordinator (TRANSACTION_COORDINATOR_FENCED).
    #[error("transaction coordinator fenced: {0}")]
    CoordinatorFenced(String),
    /// An offset argument that makes no sense, e.g. delete_records beyond the end.
    #[error("invalid offset: {0}")]
    InvalidOffset(String),
}

impl LogError {
    /// Whether the storage failed (KAFKA_STORAGE_ERROR) rather than the request: the same
    /// operation may succeed later (after a restart, for an offline partition).
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            LogError::Io(_) | LogError::SyncFailed { .. } | LogError::Offline(_)
        )
    }
}
