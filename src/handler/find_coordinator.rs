use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use super::{str_bytes, Requester};
use crate::broker::Broker;

const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

/// weir coordinates every group and every transactional id. Other key types (share groups)
/// are INVALID_REQUEST, as is an empty transactional id. v4+ batches keys.
pub fn handle(
    broker: &Broker,
    requester: &Requester,
    version: i16,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let (host, port) = broker.advertised(&requester.listener);
    let node = BrokerId(broker.node_id());
    let error = |key: &str| match request.key_type {
        GROUP => None,
        TRANSACTION if !key.is_empty() => None,
        _ => Some(ResponseError::InvalidRequest.code()),
    };
    if version < 4 {
        return match error(request.key.as_str()) {
            Some(code) => FindCoordinatorResponse::default()
                .with_error_code(code)
                .with_node_id(BrokerId(-1))
                .with_port(-1),
            None => FindCoordinatorResponse::default()
                .with_node_id(node)
                .with_host(str_bytes(host))
                .with_port(port),
        };
    }
    let coordinators = request
        .coordinator_keys
        .iter()
        .map(|key| {
            let c = Coordinator::default().with_key(key.clone());
            match error(key.as_str()) {
                Some(code) => c
                    .with_error_code(code)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1),
                None => c
                    .with_node_id(node)
                    .with_host(str_bytes(host))
                    .with_port(port),
            }
        })
        .collect();
    FindCoordinatorResponse::default().with_coordinators(coordinators)
}
