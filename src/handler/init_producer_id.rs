use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::txn_error::{txn_code, Knows};
use crate::broker::Broker;
use crate::error::code_of;

/// Idempotent producers (no transactional id) get a fresh id at epoch 0; transactional ones go
/// to the transaction coordinator, which keeps one producer id per transactional id and bumps
/// its epoch (fencing older instances). v3+ may name the producer id and epoch to resume
/// (KIP-360).
pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let expected = match (request.producer_id.0, request.producer_epoch) {
        (-1, -1) => None,
        (-1, _) | (_, -1) => {
            return response.with_error_code(ResponseError::InvalidRequest.code());
        }
        (pid, epoch) => Some((pid, epoch)),
    };
    if let Some(id) = &request.transactional_id {
        let knows = Knows {
            producer_fenced: version >= 4,
            transaction_abortable: version >= 5,
        };
        return match broker
            .txns
            .init_producer_id(id.as_str(), request.transaction_timeout_ms, expected)
            .await
        {
            Ok((pid, epoch)) => response
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch),
            Err(e) => response.with_error_code(txn_code(e, knows)),
        };
    }
    let b = broker.clone();
    match tokio::task::spawn_blocking(move || b.producer_ids.allocate()).await {
        Ok(Ok(id)) => response
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Ok(Err(e)) => {
            tracing::error!("producer id allocation failed: {e}");
            response.with_error_code(code_of(e))
        }
        Err(e) => response.with_error_code(code_of(e)),
    }
}
