//! DeleteAcls v1-v3: removes every ACL matching any of the filters (ALTER on the cluster) and
//! lists, per filter, the ACLs it removed. An unknown filter code fails that filter alone.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};

use super::access::Access;
use super::create_acls::{change_store, refusal, STORE_FAILED};
use super::str_bytes;
use crate::broker::Broker;
use crate::security::acl::AclFilter;

pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: DeleteAclsRequest,
) -> DeleteAclsResponse {
    let failed = |code: ResponseError, message: String| {
        DeleteAclsFilterResult::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message)))
    };
    let every = |code: ResponseError, message: &str| {
        DeleteAclsResponse::default()
            .with_filter_results(vec![failed(code, message.into()); request.filters.len()])
    };
    if let Some((code, message)) = refusal(access) {
        return every(code, message);
    }
    let parsed: Vec<Result<AclFilter, String>> = request
        .filters
        .iter()
        .map(|f| {
            AclFilter::from_codes(
                f.resource_type_filter,
                f.resource_name_filter.as_ref().map(|s| s.as_str()),
                f.pattern_type_filter,
                f.principal_filter.as_ref().map(|s| s.as_str()),
                f.host_filter.as_ref().map(|s| s.as_str()),
                f.operation,
                f.permission_type,
            )
        })
        .collect();
    let filters: Vec<AclFilter> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .cloned()
        .collect();
    let mut deleted = match change_store(broker, move |acls| acls.delete(&filters)).await {
        Ok(deleted) => deleted.into_iter(),
        Err(code) => return every(code, STORE_FAILED),
    };
    let results = parsed
        .into_iter()
        .map(|p| match p {
            Err(message) => failed(ResponseError::InvalidRequest, message),
            Ok(_) => {
                let matching = deleted
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|acl| {
                        tracing::info!(target: "weir::authorizer", principal = %access.principal(), "ACL removed: {acl}");
                        DeleteAclsMatchingAcl::default()
                            .with_resource_type(acl.resource_type.code())
                            .with_resource_name(str_bytes(acl.name))
                            .with_pattern_type(acl.pattern.code())
                            .with_principal(str_bytes(acl.principal))
                            .with_host(str_bytes(acl.host))
                            .with_operation(acl.operation.code())
                            .with_permission_type(acl.permission.code())
                    })
                    .collect();
                DeleteAclsFilterResult::default().with_matching_acls(matching)
            }
        })
        .collect();
    DeleteAclsResponse::default().with_filter_results(results)
}
