use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::str_bytes;
use crate::broker::Broker;

/// Classic and consumer groups, filtered by state (v4+) and type (v5+).
pub fn handle(broker: &Broker, version: i16, request: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_string())
        .collect();
    let types: Vec<String> = request.types_filter.iter().map(|s| s.to_string()).collect();
    let groups = broker.groups.list_groups(&states, &types);
    let groups = groups
        .into_iter()
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(str_bytes(g.group_id)))
                .with_protocol_type(str_bytes(g.protocol_type));
            let listed = if version >= 4 {
                listed.with_group_state(str_bytes(g.state))
            } else {
                listed
            };
            if version >= 5 {
                listed.with_group_type(str_bytes(g.group_type))
            } else {
                listed
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
