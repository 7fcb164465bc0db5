use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::security::acl::Operation;

/// Each group needs DELETE (GROUP_AUTHORIZATION_FAILED for it otherwise).
pub async fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let (ids, denied): (Vec<String>, Vec<String>) = request
        .groups_names
        .iter()
        .map(|g| g.to_string())
        .partition(|g| access.group(Operation::Delete, g));
    let mut results: Vec<DeletableGroupResult> = denied
        .into_iter()
        .map(|id| {
            DeletableGroupResult::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_error_code(ResponseError::GroupAuthorizationFailed.code())
        })
        .collect();
    let deleted = broker
        .groups
        .delete_groups(ids)
        .await
        .into_iter()
        .map(|(id, result)| {
            DeletableGroupResult::default()
                .with_group_id(GroupId(str_bytes(id)))
                .with_error_code(result.err().map(code_of).unwrap_or(0))
        });
    results.extend(deleted);
    DeleteGroupsResponse::default().with_results(results)
}
