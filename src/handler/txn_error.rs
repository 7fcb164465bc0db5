//! The error codes of the transactional APIs, adapted to what each request version knows, as
//! Kafka adapts them: PRODUCER_FENCED (90) exists only from a version on (before, it is
//! INVALID_PRODUCER_EPOCH) and TRANSACTION_ABORTABLE (120, KIP-890) too (before, it is
//! INVALID_TXN_STATE).

use kafka_protocol::error::ResponseError;

use crate::error::code_of;
use crate::txn::TxnError;

/// Which newer codes a request version knows.
#[derive(Debug, Clone, Copy)]
pub struct Knows {
    pub producer_fenced: bool,
    pub transaction_abortable: bool,
}

/// The code for `e` at a request version that knows what `knows` says.
pub fn txn_code(e: TxnError, knows: Knows) -> i16 {
    match e {
        TxnError::ProducerFenced(_) if !knows.producer_fenced => {
            ResponseError::InvalidProducerEpoch.code()
        }
        TxnError::TransactionAbortable if !knows.transaction_abortable => {
            ResponseError::InvalidTxnState.code()
        }
        e => code_of(e),
    }
}
