//! What the broker knows about itself and its topics: the cluster id, topics with their ids,
//! configs and partitions, and producer id allocation. All of it persisted under the data folder.

mod budget;
mod cluster;
pub mod config_ops;
pub mod describe;
mod producer_ids;
mod store;
pub mod topic_config;
mod topics;

pub use budget::MAX_PARTITIONS_PER_REQUEST;
pub use cluster::ClusterMeta;
pub use producer_ids::ProducerIds;
pub use store::write_atomically;
pub use topics::{Topic, TopicSpec, Topics, EXCESSIVE_BATCH, EXCESSIVE_PARTITIONS};

use crate::log::LogError;

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    #[error("unknown topic id {0}")]
    UnknownTopicId(uuid::Uuid),
    #[error("topic {0:?} already exists")]
    TopicExists(String),
    #[error("invalid topic: {0}")]
    InvalidTopic(String),
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    #[error("invalid replica assignment: {0}")]
    InvalidReplicaAssignment(String),
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A limit of the broker (POLICY_VIOLATION).
    #[error("{0}")]
    PolicyViolation(String),
    #[error("topic deletion is disabled (delete.topic.enable=false)")]
    TopicDeletionDisabled,
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("metadata i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("metadata file is corrupt: {0}")]
    Corrupt(String),
}

/// Kafka's rule for topic names: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), MetadataError> {
    let bad = |why: &str| Err(MetadataError::InvalidTopic(format!("{name:?} {why}")));
    if name.is_empty() {
        return bad("is empty");
    }
    if name == "." || name == ".." {
        return bad("is not allowed");
    }
    if name.len() > 249 {
        return bad("is longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("may contain only ASCII letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "a b", "ä", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }
}
