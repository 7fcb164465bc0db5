use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

use super::txn_error::{txn_code, Knows};
use crate::broker::Broker;

/// Commits or aborts the open transaction; the answer comes once the markers are written.
/// v5+ (transactions v2) bumps the epoch at every end and answers with the producer id and
/// epoch to continue with.
pub async fn handle(broker: &Arc<Broker>, version: i16, request: EndTxnRequest) -> EndTxnResponse {
    let knows = Knows {
        producer_fenced: version >= 2,
        transaction_abortable: version >= 4,
    };
    let tv2 = version >= 5;
    let response = EndTxnResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    match broker
        .txns
        .end_txn(
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            request.committed,
            tv2,
        )
        .await
    {
        Ok((pid, epoch)) if tv2 => response
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch),
        Ok(_) => response,
        Err(e) => response.with_error_code(txn_code(e, knows)),
    }
}
