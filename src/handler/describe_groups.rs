use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId};

use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;

pub async fn handle(broker: &Broker, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let ids = request.groups.iter().map(|g| g.to_string()).collect();
    let groups = broker
        .groups
        .describe_groups(ids)
        .await
        .into_iter()
        .map(|(id, described)| {
            let out = DescribedGroup::default().with_group_id(GroupId(str_bytes(id)));
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
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
