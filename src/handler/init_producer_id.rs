use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::access::Access;
use crate::broker::Broker;
use crate::error::code_of;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// Idempotent producers get a fresh id at epoch 0. Transactions are not supported yet, so a
/// transactional id is refused rather than half-served.
///
/// Authorization as in Kafka 4: a transactional id needs WRITE on it; an idempotent producer
/// needs IDEMPOTENT_WRITE on the cluster or WRITE on at least one topic (KIP-679).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    match &request.transactional_id {
        Some(id) if !access.transactional_id(Operation::Write, id.as_str()) => {
            return response
                .with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
        }
        Some(_) => {}
        None => {
            let idempotent = access.quietly_allows(
                Operation::IdempotentWrite,
                ResourceType::Cluster,
                CLUSTER_NAME,
            ) || access.allows_any(Operation::Write, ResourceType::Topic);
            if !idempotent {
                return response.with_error_code(ResponseError::ClusterAuthorizationFailed.code());
            }
        }
    }
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
