//! Errors of the transaction coordinator. Mapped to Kafka error codes by the crate's
//! `error.rs`; handlers adapt them to what older request versions know.

use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TxnError {
    /// An empty transactional id and the like (INVALID_REQUEST).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// `transaction.timeout.ms` not in `1..=transaction.max.timeout.ms`.
    #[error("invalid transaction timeout {0} ms")]
    InvalidTransactionTimeout(i32),
    /// Another operation on the transaction is under way (retriable).
    #[error("a concurrent operation on the transaction is under way")]
    ConcurrentTransactions,
    /// A newer producer instance owns the transactional id.
    #[error("producer fenced: {0}")]
    ProducerFenced(String),
    /// The producer id is not the one the transactional id has.
    #[error("producer id {0} is not the transactional id's")]
    InvalidProducerIdMapping(i64),
    /// The request does not fit the transaction's state.
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// DescribeTransactions of an id the coordinator does not know.
    #[error("transactional id not found")]
    TransactionalIdNotFound,
    /// A partition produced to is not part of the transaction (produce v11, verification).
    #[error("the partition is not part of the transaction")]
    TransactionAbortable,
    /// The coordinator is shutting down.
    #[error("the transaction coordinator is not available")]
    CoordinatorNotAvailable,
    /// A new producer id could not be allocated.
    #[error("producer id allocation failed: {0}")]
    ProducerIds(String),
    /// The transaction log could not be written.
    #[error("transaction log: {0}")]
    Storage(Arc<std::io::Error>),
}
