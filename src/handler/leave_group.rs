use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::{opt_string, str_bytes};
use crate::broker::Broker;
use crate::coordinator::LeaveMember;
use crate::error::code_of;
use crate::security::acl::Operation;

/// v0-v2 name one member at the top level; v3+ batch members, each with its own result.
/// Needs READ on the group.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    version: i16,
    request: LeaveGroupRequest,
) -> LeaveGroupResponse {
    if !access.group(Operation::Read, request.group_id.as_str()) {
        return LeaveGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let members = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| LeaveMember {
                member_id: m.member_id.to_string(),
                group_instance_id: opt_string(&m.group_instance_id),
                reason: opt_string(&m.reason),
            })
            .collect()
    } else {
        vec![LeaveMember {
            member_id: request.member_id.to_string(),
            ..LeaveMember::default()
        }]
    };
    let results = match broker
        .groups
        .leave_group(request.group_id.as_str(), members)
        .await
    {
        Ok(results) => results,
        Err(e) => return LeaveGroupResponse::default().with_error_code(code_of(e)),
    };
    if version < 3 {
        let code = results
            .into_iter()
            .find_map(|r| r.result.err())
            .map(code_of)
            .unwrap_or(0);
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let members = results
        .into_iter()
        .map(|r| {
            MemberResponse::default()
                .with_member_id(str_bytes(r.member_id))
                .with_group_instance_id(r.group_instance_id.map(str_bytes))
                .with_error_code(r.result.err().map(code_of).unwrap_or(0))
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}
