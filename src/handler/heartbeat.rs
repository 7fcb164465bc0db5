use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::opt_string;
use crate::broker::Broker;
use crate::coordinator;
use crate::error::code_of;

pub async fn handle(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
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
