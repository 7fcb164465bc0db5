//! The ACL APIs on [`Client`]: CreateAcls, DescribeAcls and DeleteAcls in terms of the
//! broker's own ACL model ([`Acl`], [`AclFilter`]), as `weir acl` and tests use them.

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};

use super::{check_msg, s, Client, ClientError};
use crate::security::acl::{Acl, AclFilter, PatternFilter, ANY, MATCH};

/// A filter's wire codes: resource type, pattern type, operation, permission.
fn filter_codes(f: &AclFilter) -> (i8, i8, i8, i8) {
    let pattern = match f.pattern {
        PatternFilter::Any => ANY,
        PatternFilter::Match => MATCH,
        PatternFilter::Only(p) => p.code(),
    };
    (
        f.resource_type.map_or(ANY, |t| t.code()),
        pattern,
        f.operation.map_or(ANY, |o| o.code()),
        f.permission.map_or(ANY, |p| p.code()),
    )
}

fn acl_from_wire(
    resource: (i8, &str, i8),
    principal: &str,
    host: &str,
    operation: i8,
    permission: i8,
) -> Result<Acl, ClientError> {
    let (resource_type, name, pattern) = resource;
    Acl::from_codes(
        resource_type,
        name,
        pattern,
        principal,
        host,
        operation,
        permission,
    )
    .map_err(|e| {
        ClientError::kafka(
            "the broker answered with an ACL that is not valid",
            -1,
            Some(e),
        )
    })
}

impl Client {
    /// Creates `acls`; one result per ACL, in order.
    pub async fn create_acls(
        &mut self,
        acls: &[Acl],
    ) -> Result<Vec<Result<(), ClientError>>, ClientError> {
        let creations = acls
            .iter()
            .map(|a| {
                AclCreation::default()
                    .with_resource_type(a.resource_type.code())
                    .with_resource_name(s(&a.name))
                    .with_resource_pattern_type(a.pattern.code())
                    .with_principal(s(&a.principal))
                    .with_host(s(&a.host))
                    .with_operation(a.operation.code())
                    .with_permission_type(a.permission.code())
            })
            .collect();
        let response = self
            .call(|_| CreateAclsRequest::default().with_creations(creations))
            .await?;
        Ok(response
            .results
            .iter()
            .zip(acls)
            .map(|(r, acl)| {
                check_msg(r.error_code, r.error_message.as_ref(), || {
                    format!("cannot create {acl}")
                })
            })
            .collect())
    }

    /// The ACLs `filter` matches.
    pub async fn describe_acls(&mut self, filter: &AclFilter) -> Result<Vec<Acl>, ClientError> {
        let (resource_type, pattern, operation, permission) = filter_codes(filter);
        let response = self
            .call(|_| {
                DescribeAclsRequest::default()
                    .with_resource_type_filter(resource_type)
                    .with_resource_name_filter(filter.name.as_deref().map(s))
                    .with_pattern_type_filter(pattern)
                    .with_principal_filter(filter.principal.as_deref().map(s))
                    .with_host_filter(filter.host.as_deref().map(s))
                    .with_operation(operation)
                    .with_permission_type(permission)
            })
            .await?;
        check_msg(response.error_code, response.error_message.as_ref(), || {
            "cannot describe ACLs".to_string()
        })?;
        let mut acls = Vec::new();
        for r in &response.resources {
            for a in &r.acls {
                acls.push(acl_from_wire(
                    (r.resource_type, r.resource_name.as_str(), r.pattern_type),
                    a.principal.as_str(),
                    a.host.as_str(),
                    a.operation,
                    a.permission_type,
                )?);
            }
        }
        Ok(acls)
    }

    /// Deletes every ACL any of `filters` matches; the ACLs deleted.
    pub async fn delete_acls(&mut self, filters: &[AclFilter]) -> Result<Vec<Acl>, ClientError> {
        let wire = filters
            .iter()
            .map(|f| {
                let (resource_type, pattern, operation, permission) = filter_codes(f);
                DeleteAclsFilter::default()
                    .with_resource_type_filter(resource_type)
                    .with_resource_name_filter(f.name.as_deref().map(s))
                    .with_pattern_type_filter(pattern)
                    .with_principal_filter(f.principal.as_deref().map(s))
                    .with_host_filter(f.host.as_deref().map(s))
                    .with_operation(operation)
                    .with_permission_type(permission)
            })
            .collect();
        let response = self
            .call(|_| DeleteAclsRequest::default().with_filters(wire))
            .await?;
        let mut deleted = Vec::new();
        for r in &response.filter_results {
            check_msg(r.error_code, r.error_message.as_ref(), || {
                "cannot delete ACLs".to_string()
            })?;
            for m in &r.matching_acls {
                check_msg(m.error_code, m.error_message.as_ref(), || {
                    "cannot delete an ACL".to_string()
                })?;
                let acl = acl_from_wire(
                    (m.resource_type, m.resource_name.as_str(), m.pattern_type),
                    m.principal.as_str(),
                    m.host.as_str(),
                    m.operation,
                    m.permission_type,
                )?;
                if !deleted.contains(&acl) {
                    deleted.push(acl);
                }
            }
        }
        Ok(deleted)
    }
}
