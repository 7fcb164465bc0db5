use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::opt_string;
use crate::broker::Broker;
use crate::coordinator;
use crate::error::code_of;
use crate::security::acl::Operation;

/// Needs READ on the group.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    if !access.group(Operation::Read, request.group_id.as_str()) {
        return HeartbeatResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let beat = coordinator::HeartbeatRequest {
        group_id: request.group_id.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: opt_string(&request.group_instance_id),
    };
    match broker.groups.heartbeat(beat).await {
        Ok(()) => HeartbeatResponse::default(),
        Err(e) => HeartbeatResponse::default().with_error_code(code_of(e)),
    }
}
