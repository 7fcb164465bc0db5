//! AlterConfigs v0-v2 (the legacy API): the given configs replace a topic's whole override set;
//! keys left out return to their defaults. Applied live and persisted. Broker settings are
//! checked as in IncrementalAlterConfigs.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::access::Access;
use super::describe_configs::{config_access, RESOURCE_BROKER, RESOURCE_TOPIC};
use super::incremental_alter_configs::{broker_change, error};
use super::{opt_string, str_bytes};
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::config_ops::{replace_all, ConfigOp};
use crate::security::acl::Operation;

/// Each resource needs ALTER_CONFIGS (see [`config_access`]).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let validate_only = request.validate_only;
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        if let Err((code, message)) = config_access(
            access,
            Operation::AlterConfigs,
            resource.resource_type,
            resource.resource_name.as_str(),
        ) {
            responses.push(
                AlterConfigsResourceResponse::default()
                    .with_resource_type(resource.resource_type)
                    .with_resource_name(resource.resource_name)
                    .with_error_code(code)
                    .with_error_message(message.map(str_bytes)),
            );
            continue;
        }
        let name = resource.resource_name.to_string();
        let entries: Vec<(String, Option<String>)> = resource
            .configs
            .iter()
            .map(|c| (c.name.to_string(), opt_string(&c.value)))
            .collect();
        let outcome = match resource.resource_type {
            RESOURCE_TOPIC => {
                let b = broker.clone();
                let done = tokio::task::spawn_blocking(move || {
                    b.topics
                        .update_configs(&name, validate_only, |_| replace_all(&entries))
                })
                .await;
                match done {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(error(e)),
                    Err(e) => Err((code_of(e), "internal error".into())),
                }
            }
            RESOURCE_BROKER => {
                let ops: Vec<(String, ConfigOp)> = entries
                    .into_iter()
                    .map(|(k, v)| (k, ConfigOp::Set(v)))
                    .collect();
                broker_change(broker, &name, &ops)
            }
            other => Err((
                ResponseError::InvalidRequest.code(),
                format!("weir alters topic (2) and broker (4) configs, not resource type {other}"),
            )),
        };
        let response = AlterConfigsResourceResponse::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name);
        responses.push(match outcome {
            Ok(()) => response,
            Err((code, message)) => response
                .with_error_code(code)
                .with_error_message(Some(str_bytes(message))),
        });
    }
    AlterConfigsResponse::default().with_responses(responses)
}
