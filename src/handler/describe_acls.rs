//! DescribeAcls v1-v3: the ACLs a filter matches (DESCRIBE on the cluster), grouped by resource
//! pattern as Kafka groups them.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};

use super::access::Access;
use super::create_acls::NO_AUTHORIZER;
use super::str_bytes;
use crate::broker::Broker;
use crate::security::acl::{AclFilter, Operation};

pub fn handle(
    broker: &Broker,
    access: &Access<'_>,
    request: DescribeAclsRequest,
) -> DescribeAclsResponse {
    let fail = |code: ResponseError, message: String| {
        DescribeAclsResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message)))
    };
    if !access.cluster(Operation::Describe) {
        return fail(
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.".into(),
        );
    }
    if !access.enabled() {
        return fail(ResponseError::SecurityDisabled, NO_AUTHORIZER.into());
    }
    let filter = match AclFilter::from_codes(
        request.resource_type_filter,
        request.resource_name_filter.as_ref().map(|s| s.as_str()),
        request.pattern_type_filter,
        request.principal_filter.as_ref().map(|s| s.as_str()),
        request.host_filter.as_ref().map(|s| s.as_str()),
        request.operation,
        request.permission_type,
    ) {
        Ok(filter) => filter,
        Err(message) => return fail(ResponseError::InvalidRequest, message),
    };
    let acls = broker.acls.snapshot();
    let mut resources: Vec<DescribeAclsResource> = Vec::new();
    // The set is ordered by resource pattern first, so each pattern's ACLs are adjacent.
    for acl in acls.matching(&filter) {
        let description = AclDescription::default()
            .with_principal(str_bytes(acl.principal.clone()))
            .with_host(str_bytes(acl.host.clone()))
            .with_operation(acl.operation.code())
            .with_permission_type(acl.permission.code());
        match resources.last_mut() {
            Some(r)
                if r.resource_type == acl.resource_type.code()
                    && r.resource_name.as_str() == acl.name
                    && r.pattern_type == acl.pattern.code() =>
            {
                r.acls.push(description)
            }
            _ => resources.push(
                DescribeAclsResource::default()
                    .with_resource_type(acl.resource_type.code())
                    .with_resource_name(str_bytes(acl.name.clone()))
                    .with_pattern_type(acl.pattern.code())
                    .with_acls(vec![description]),
            ),
        }
    }
    DescribeAclsResponse::default().with_resources(resources)
}
