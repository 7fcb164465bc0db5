use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::{opt_string, str_bytes, Requester};
use crate::broker::Broker;
use crate::coordinator::{GroupError, JoinRequest};
use crate::error::code_of;

pub async fn handle(
    broker: &Broker,
    version: i16,
    requester: &Requester,
    client_id: String,
    request: JoinGroupRequest,
) -> JoinGroupResponse {
    let join = JoinRequest {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        group_instance_id: opt_string(&request.group_instance_id),
        client_id,
        client_host: requester.host(),
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 had no rebalance timeout; Kafka uses the session timeout.
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
        reason: opt_string(&request.reason),
    };
    let response = JoinGroupResponse::default().with_generation_id(-1);
    match broker.groups.join_group(join).await {
        Ok(joined) => response
            .with_generation_id(joined.generation_id)
            .with_protocol_type(joined.protocol_type.map(str_bytes))
            .with_protocol_name(joined.protocol_name.map(str_bytes))
            .with_leader(str_bytes(joined.leader))
            .with_member_id(str_bytes(joined.member_id))
            .with_skip_assignment(joined.skip_assignment)
            .with_members(
                joined
                    .members
                    .into_iter()
                    .map(|m| {
                        JoinGroupResponseMember::default()
                            .with_member_id(str_bytes(m.member_id))
                            .with_group_instance_id(m.group_instance_id.map(str_bytes))
                            .with_metadata(m.metadata)
                    })
                    .collect(),
            ),
        Err(GroupError::MemberIdRequired { member_id }) => response
            .with_error_code(code_of(GroupError::MemberIdRequired {
                member_id: member_id.clone(),
            }))
            .with_member_id(str_bytes(member_id)),
        Err(e) => response.with_error_code(code_of(e)),
    }
}
