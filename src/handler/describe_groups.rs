use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::security::acl::{Operation, ResourceType};

/// Each group needs DESCRIBE (GROUP_AUTHORIZATION_FAILED for it otherwise); v3+ may ask for
/// the operations the principal may perform on each group.
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    version: i16,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let (ids, denied): (Vec<String>, Vec<String>) = request
        .groups
        .iter()
        .map(|g| g.to_string())
        .partition(|g| access.group(Operation::Describe, g));
    let operations = version >= 3 && request.include_authorized_operations;
    let mut groups: Vec<DescribedGroup> = denied
        .into_iter()
        .map(|id| {
            DescribedGroup::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_error_code(ResponseError::GroupAuthorizationFailed.code())
        })
        .collect();
    let described = broker
        .groups
        .describe_groups(ids)
        .await
        .into_iter()
        .map(|(id, described)| {
            let out = DescribedGroup::default().with_group_id(GroupId(str_bytes(id.clone())));
            let out = if operations && described.is_ok() {
                out.with_authorized_operations(access.operations(ResourceType::Group, &id))
            } else {
                out
            };
            match described {
                Ok(d) => out
                    .with_group_state(str_bytes(d.state))
                    .with_protocol_type(str_bytes(d.protocol_type))
                    .with_protocol_data(str_bytes(d.protocol_data))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(str_bytes(m.member_id))
                                    .with_group_instance_id(m.group_instance_id.map(str_bytes))
                                    .with_client_id(str_bytes(m.client_id))
                                    .with_client_host(str_bytes(m.client_host))
                                    .with_member_metadata(m.metadata)
                                    .with_member_assignment(m.assignment)
                            })
                            .collect(),
                    ),
                Err(e) => out.with_error_code(code_of(e)),
            }
        });
    groups.extend(described);
    DescribeGroupsResponse::default().with_groups(groups)
}
