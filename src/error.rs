//! Errors of every module, and the one place they become Kafka error codes.

use kafka_protocol::error::ResponseError;

use crate::coordinator::GroupError;
use crate::log::LogError;
use crate::metadata::MetadataError;
use crate::txn::TxnError;

/// An error any part of the broker can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Group(#[from] GroupError),
    #[error(transparent)]
    Txn(#[from] TxnError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A listener's TLS or SASL settings cannot be used (names the setting, never a secret).
    #[error("config: {0}")]
    Security(String),
    #[error(transparent)]
    Credentials(#[from] crate::security::credentials::CredentialError),
    #[error(transparent)]
    Acls(#[from] crate::security::acl_store::AclStoreError),
    #[error("task failed: {0}")]
    Task(String),
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Task(e.to_string())
    }
}

/// The Kafka error code for `err`. Anything without a better code is UNKNOWN_SERVER_ERROR.
pub fn kafka_code(err: &Error) -> i16 {
    use ResponseError as K;
    let code = match err {
        Error::Log(e) => log_code(e),
        Error::Metadata(e) => match e {
            MetadataError::UnknownTopic(_) => K::UnknownTopicOrPartition,
            MetadataError::UnknownTopicId(_) => K::UnknownTopicId,
            MetadataError::TopicExists(_) => K::TopicAlreadyExists,
            MetadataError::InvalidTopic(_) => K::InvalidTopicException,
            MetadataError::InvalidPartitions(_) => K::InvalidPartitions,
            MetadataError::InvalidReplicationFactor(_) => K::InvalidReplicationFactor,
            MetadataError::InvalidReplicaAssignment(_) => K::InvalidReplicaAssignment,
            MetadataError::InvalidConfig(_) => K::InvalidConfig,
            MetadataError::InvalidRequest(_) => K::InvalidRequest,
            MetadataError::PolicyViolation(_) => K::PolicyViolation,
            MetadataError::TopicDeletionDisabled => K::TopicDeletionDisabled,
            MetadataError::Log(e) => log_code(e),
            MetadataError::Io(_) | MetadataError::Corrupt(_) => K::KafkaStorageError,
        },
        Error::Group(e) => match e {
            GroupError::UnknownMemberId => K::UnknownMemberId,
            GroupError::IllegalGeneration => K::IllegalGeneration,
            GroupError::RebalanceInProgress => K::RebalanceInProgress,
            GroupError::MemberIdRequired { .. } => K::MemberIdRequired,
            GroupError::FencedInstanceId => K::FencedInstanceId,
            GroupError::GroupMaxSizeReached => K::GroupMaxSizeReached,
            GroupError::InconsistentGroupProtocol => K::InconsistentGroupProtocol,
            GroupError::InvalidSessionTimeout => K::InvalidSessionTimeout,
            GroupError::NonEmptyGroup => K::NonEmptyGroup,
            GroupError::GroupIdNotFound => K::GroupIdNotFound,
            GroupError::InvalidGroupId => K::InvalidGroupId,
            GroupError::GroupSubscribedToTopic => K::GroupSubscribedToTopic,
            GroupError::OffsetMetadataTooLarge => K::OffsetMetadataTooLarge,
            GroupError::FencedMemberEpoch => K::FencedMemberEpoch,
            GroupError::StaleMemberEpoch => K::StaleMemberEpoch,
            GroupError::UnreleasedInstanceId => K::UnreleasedInstanceId,
            GroupError::UnsupportedAssignor(_) => K::UnsupportedAssignor,
            GroupError::InvalidRegularExpression(_) => K::InvalidRegularExpression,
            GroupError::InvalidRequest(_) => K::InvalidRequest,
            GroupError::NotConsumerGroup(_) => K::GroupIdNotFound,
            GroupError::InvalidCommitOffsetSize => K::InvalidCommitOffsetSize,
            GroupError::UnstableOffsetCommit => K::UnstableOffsetCommit,
            // Kafka answers a failed append of group records with COORDINATOR_NOT_AVAILABLE.
            GroupError::CoordinatorNotAvailable | GroupError::Storage(_) => {
                K::CoordinatorNotAvailable
            }
        },
        Error::Txn(e) => txn_code(e),
        Error::Config(_) | Error::Security(_) => K::InvalidConfig,
        Error::Credentials(_) | Error::Acls(_) => K::KafkaStorageError,
        Error::Io(_) => K::KafkaStorageError,
        Error::Task(_) => K::UnknownServerError,
    };
    code.code()
}

fn txn_code(e: &TxnError) -> ResponseError {
    use ResponseError as K;
    match e {
        TxnError::InvalidRequest(_) => K::InvalidRequest,
        TxnError::InvalidTransactionTimeout(_) => K::InvalidTransactionTimeout,
        TxnError::ConcurrentTransactions => K::ConcurrentTransactions,
        TxnError::ProducerFenced(_) => K::ProducerFenced,
        TxnError::InvalidProducerIdMapping(_) => K::InvalidProducerIdMapping,
        TxnError::InvalidTxnState(_) => K::InvalidTxnState,
        TxnError::TransactionalIdNotFound => K::TransactionalIdNotFound,
        TxnError::TransactionAbortable => K::TransactionAbortable,
        TxnError::CoordinatorNotAvailable => K::CoordinatorNotAvailable,
        // Kafka answers a failed write of the transaction log with NOT_COORDINATOR (the client
        // looks the coordinator up again and retries); one broker stays the coordinator.
        TxnError::Storage(_) => K::CoordinatorNotAvailable,
        TxnError::ProducerIds(_) => K::UnknownServerError,
    }
}

fn log_code(e: &LogError) -> ResponseError {
    use ResponseError as K;
    match e {
        LogError::Io(_) | LogError::SyncFailed { .. } | LogError::Offline(_) => {
            K::KafkaStorageError
        }
        LogError::CorruptMessage(_) => K::CorruptMessage,
        LogError::InvalidRecord(_) | LogError::RecordError { .. } => K::InvalidRecord,
        LogError::UnsupportedMagic(_) => K::UnsupportedForMessageFormat,
        LogError::MessageTooLarge { .. } => K::MessageTooLarge,
        LogError::OffsetOutOfRange { .. } => K::OffsetOutOfRange,
        LogError::OutOfOrderSequence(_) => K::OutOfOrderSequenceNumber,
        LogError::InvalidProducerEpoch(_) => K::InvalidProducerEpoch,
        LogError::InvalidOffset(_) => K::OffsetOutOfRange,
        LogError::PolicyViolation(_) => K::PolicyViolation,
        LogError::InvalidTxnState(_) => K::InvalidTxnState,
        LogError::CoordinatorFenced(_) => K::TransactionCoordinatorFenced,
    }
}

/// Shorthand for handlers: the code of any error convertible into [`Error`].
pub fn code_of(err: impl Into<Error>) -> i16 {
    kafka_code(&err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_errors_map_to_kafka_codes() {
        assert_eq!(code_of(LogError::CorruptMessage("crc".into())), 2);
        assert_eq!(code_of(LogError::MessageTooLarge { size: 2, max: 1 }), 10);
        assert_eq!(
            code_of(LogError::OffsetOutOfRange {
                offset: 9,
                log_start: 0,
                log_end: 1
            }),
            1
        );
        assert_eq!(code_of(MetadataError::TopicExists("t".into())), 36);
    }
}
