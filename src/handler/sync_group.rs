use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::{opt_string, str_bytes};
use crate::broker::Broker;
use crate::coordinator::SyncRequest;
use crate::error::code_of;
use crate::security::acl::Operation;

/// Needs READ on the group.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    if !access.group(Operation::Read, request.group_id.as_str()) {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let sync = SyncRequest {
        group_id: request.group_id.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: opt_string(&request.group_instance_id),
        protocol_type: opt_string(&request.protocol_type),
        protocol_name: opt_string(&request.protocol_name),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    match broker.groups.sync_group(sync).await {
        Ok(synced) => SyncGroupResponse::default()
            .with_protocol_type(synced.protocol_type.map(str_bytes))
            .with_protocol_name(synced.protocol_name.map(str_bytes))
            .with_assignment(synced.assignment),
        Err(e) => SyncGroupResponse::default().with_error_code(code_of(e)),
    }
}
