use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId};

use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;

pub async fn handle(broker: &Broker, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids = request.groups_names.iter().map(|g| g.to_string()).collect();
    let results = broker
        .groups
        .delete_groups(ids)
        .await
        .into_iter()
        .map(|(id, result)| {
            DeletableGroupResult::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_error_code(result.err().map(code_of).unwrap_or(0))
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
