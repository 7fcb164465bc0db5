use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::broker::Broker;
use crate::error::code_of;

/// Idempotent producers get a fresh id at epoch 0. Transactions are not supported yet, so a
/// transactional id is refused rather than half-served.
pub async fn handle(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if request.transactional_id.is_some() {
        return response.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
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
