//! CreateAcls v1-v3: adds ACLs (ALTER on the cluster). Each creation is checked as Kafka checks
//! a new ACL; the valid ones are persisted together before the response. An ACL that exists
//! already succeeds without a change.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::security::acl::{Acl, Operation};
use crate::security::AclStore;

pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: CreateAclsRequest,
) -> CreateAclsResponse {
    let count = request.creations.len();
    let every = |code: ResponseError, message: &str| {
        CreateAclsResponse::default().with_results(vec![
            AclCreationResult::default()
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(
                    message
                )));
            count
        ])
    };
    if let Some((code, message)) = refusal(access) {
        return every(code, message);
    }
    let parsed: Vec<Result<Acl, String>> = request
        .creations
        .iter()
        .map(|c| {
            Acl::from_codes(
                c.resource_type,
                c.resource_name.as_str(),
                c.resource_pattern_type,
                c.principal.as_str(),
                c.host.as_str(),
                c.operation,
                c.permission_type,
            )
        })
        .collect();
    let valid: Vec<Acl> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .cloned()
        .collect();
    let stored = if valid.is_empty() {
        Ok(())
    } else {
        change_store(broker, move |acls| acls.create(valid)).await
    };
    let results = parsed
        .into_iter()
        .map(|p| match (p, stored) {
            (Err(message), _) => AclCreationResult::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_error_message(Some(str_bytes(message))),
            (Ok(_), Err(code)) => AclCreationResult::default()
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(STORE_FAILED))),
            (Ok(acl), Ok(())) => {
                tracing::info!(target: "weir::authorizer", principal = %access.principal(), "ACL added: {acl}");
                AclCreationResult::default()
            }
        })
        .collect();
    CreateAclsResponse::default().with_results(results)
}

/// Kafka's answer to the ACL APIs without an authorizer.
pub const NO_AUTHORIZER: &str = "No Authorizer is configured.";

/// The message of an ACL change the store could not write.
pub const STORE_FAILED: &str = "the ACL store could not be written";

/// Why CreateAcls and DeleteAcls refuse every entry of a request, if they do: a change needs
/// ALTER on the cluster, and an authorizer to change.
pub fn refusal(access: &Access<'_>) -> Option<(ResponseError, &'static str)> {
    if !access.cluster(Operation::Alter) {
        return Some((
            ResponseError::ClusterAuthorizationFailed,
            "Cluster authorization failed.",
        ));
    }
    if !access.enabled() {
        return Some((ResponseError::SecurityDisabled, NO_AUTHORIZER));
    }
    None
}

/// Runs `change` on the ACL store off the reactor (it writes acls.json); Kafka's error code
/// if it failed.
pub async fn change_store<T, F>(broker: &Arc<Broker>, change: F) -> Result<T, ResponseError>
where
    T: Send + 'static,
    F: FnOnce(&AclStore) -> std::io::Result<T> + Send + 'static,
{
    let b = broker.clone();
    match tokio::task::spawn_blocking(move || change(&b.acls)).await {
        Ok(Ok(changed)) => Ok(changed),
        Ok(Err(e)) => {
            tracing::error!("cannot write the ACL store: {e}");
            Err(ResponseError::KafkaStorageError)
        }
        Err(e) => {
            tracing::error!("ACL store task failed: {e}");
            Err(ResponseError::UnknownServerError)
        }
    }
}
