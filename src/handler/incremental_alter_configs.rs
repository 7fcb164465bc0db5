//! IncrementalAlterConfigs v0-v1: SET, DELETE, APPEND and SUBTRACT on topic configs, applied
//! live and persisted. On the broker resource, changes are checked against the settings table
//! and refused as Kafka refuses keys that are not dynamic (weir reads every setting at start).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::access::Access;
use super::describe_configs::{check_broker_name, config_access, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{opt_string, str_bytes};
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::config_ops::{apply_incremental, check_broker_change, ConfigOp};
use crate::metadata::MetadataError;
use crate::security::acl::Operation;

/// Each resource needs ALTER_CONFIGS (see [`config_access`]).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let validate_only = request.validate_only;
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        if let Err((code, message)) = config_access(
            access,
            Operation::AlterConfigs,
            resource.resource_type,
            resource.resource_name.as_str(),
        ) {
            responses.push(
                response
                    .with_error_code(code)
                    .with_error_message(message.map(str_bytes)),
            );
            continue;
        }
        let outcome = alter(broker, resource, validate_only).await;
        responses.push(match outcome {
            Ok(()) => response,
            Err((code, message)) => response
                .with_error_code(code)
                .with_error_message(Some(str_bytes(message))),
        });
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

async fn alter(
    broker: &Arc<Broker>,
    resource: AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (i16, String)> {
    let name = resource.resource_name.to_string();
    if resource.resource_type != RESOURCE_TOPIC && resource.resource_type != RESOURCE_BROKER {
        return Err((
            ResponseError::InvalidRequest.code(),
            format!(
                "weir alters topic (2) and broker (4) configs, not resource type {}",
                resource.resource_type
            ),
        ));
    }
    if resource.resource_type == RESOURCE_BROKER {
        check_broker_name(broker, &name)?;
    }
    let mut ops = Vec::with_capacity(resource.configs.len());
    for c in &resource.configs {
        let op =
            ConfigOp::from_code(c.config_operation, opt_string(&c.value)).ok_or_else(|| {
                (
                    ResponseError::InvalidRequest.code(),
                    format!(
                        "unknown config operation {} for {:?}",
                        c.config_operation,
                        c.name.as_str()
                    ),
                )
            })?;
        ops.push((c.name.to_string(), op));
    }
    if resource.resource_type == RESOURCE_BROKER {
        return check_broker_change(&ops).map_err(error);
    }
    let b = broker.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        b.topics.update_configs(&name, validate_only, |current| {
            apply_incremental(b.config(), current, &ops)
        })
    })
    .await;
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(error(e)),
        Err(e) => Err((code_of(e), "internal error".into())),
    }
}

pub fn error(e: MetadataError) -> (i16, String) {
    let message = e.to_string();
    (code_of(e), message)
}

/// A change of broker settings (`name` is this broker's id, or empty for cluster-wide defaults),
/// checked against the settings table.
pub fn broker_change(
    broker: &Broker,
    name: &str,
    ops: &[(String, ConfigOp)],
) -> Result<(), (i16, String)> {
    check_broker_name(broker, name)?;
    check_broker_change(ops).map_err(error)
}
