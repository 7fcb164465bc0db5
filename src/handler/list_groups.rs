use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::str_bytes;
use crate::broker::Broker;

/// Every group weir has is a classic group; a type filter without "classic" matches none.
pub fn handle(broker: &Broker, version: i16, request: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_string())
        .collect();
    let classic_wanted = request.types_filter.is_empty()
        || request
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case("classic"));
    let groups = if classic_wanted {
        broker.groups.list_groups(&states)
    } else {
        Vec::new()
    };
    let groups = groups
        .into_iter()
        .map(|g| {
            let listed = ListedGroup::default()
                .with_group_id(GroupId(str_bytes(g.group_id)))
                .with_protocol_type(str_bytes(g.protocol_type));
            let listed = if version >= 4 {
                listed.with_group_state(str_bytes(g.state.as_str()))
            } else {
                listed
            };
            if version >= 5 {
                listed.with_group_type(str_bytes("classic"))
            } else {
                listed
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
