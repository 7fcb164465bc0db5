//! DescribeConfigs v1-v4: topic configs with their effective values, sources and synonyms, and
//! the broker's (read-only) settings.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::describe::{self, ConfigDescription};
use crate::metadata::MetadataError;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// ConfigResource types.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;
const RESOURCE_CLIENT_METRICS: i8 = 16;
const RESOURCE_GROUP: i8 = 32;

/// Whether the principal may `operation` (DESCRIBE_CONFIGS or ALTER_CONFIGS) the configs of a
/// config resource, and the error Kafka answers when not: topics by the topic, groups by the
/// group, broker-wide resources by the cluster. Types weir does not know are left to the
/// handler's own answer.
pub fn config_access(
    access: &Access<'_>,
    operation: Operation,
    resource_type: i8,
    name: &str,
) -> Result<(), (i16, Option<String>)> {
    let (kind, name, error) = match resource_type {
        RESOURCE_TOPIC => (
            ResourceType::Topic,
            name,
            ResponseError::TopicAuthorizationFailed,
        ),
        RESOURCE_GROUP => (
            ResourceType::Group,
            name,
            ResponseError::GroupAuthorizationFailed,
        ),
        RESOURCE_BROKER | RESOURCE_BROKER_LOGGER | RESOURCE_CLIENT_METRICS => (
            ResourceType::Cluster,
            CLUSTER_NAME,
            ResponseError::ClusterAuthorizationFailed,
        ),
        _ => return Ok(()),
    };
    if access.allows(operation, kind, name) {
        Ok(())
    } else {
        Err((error.code(), None))
    }
}

/// Each resource needs DESCRIBE_CONFIGS (see [`config_access`]).
pub fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    version: i16,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let synonyms = request.include_synonyms;
    let documentation = request.include_documentation && version >= 3;
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            if let Err((code, message)) = config_access(
                access,
                Operation::DescribeConfigs,
                resource.resource_type,
                resource.resource_name.as_str(),
            ) {
                return result
                    .with_error_code(code)
                    .with_error_message(message.map(str_bytes));
            }
            match describe(broker, &resource) {
                Ok(configs) => result.with_configs(
                    configs
                        .into_iter()
                        .filter(|c| wanted(&resource, &c.name))
                        .map(|c| entry(c, version, synonyms, documentation))
                        .collect(),
                ),
                Err((code, message)) => result
                    .with_error_code(code)
                    .with_error_message(Some(str_bytes(message))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn describe(
    broker: &Broker,
    resource: &DescribeConfigsResource,
) -> Result<Vec<ConfigDescription>, (i16, String)> {
    let name = resource.resource_name.as_str();
    match resource.resource_type {
        RESOURCE_TOPIC => match broker.topics.get(name) {
            Some(topic) => Ok(describe::topic_configs(broker.config(), &topic.configs())),
            None => {
                let e = MetadataError::UnknownTopic(name.to_string());
                Err((code_of(e), format!("topic {name:?} does not exist")))
            }
        },
        RESOURCE_BROKER => {
            check_broker_name(broker, name)?;
            // An empty name means the cluster-wide dynamic defaults, of which weir has none.
            Ok(if name.is_empty() {
                Vec::new()
            } else {
                describe::broker_configs(broker.config())
            })
        }
        other => Err((
            ResponseError::InvalidRequest.code(),
            format!("weir describes topic (2) and broker (4) configs, not resource type {other}"),
        )),
    }
}

/// A broker resource names this broker's id, or is empty for cluster-wide defaults.
pub fn check_broker_name(broker: &Broker, name: &str) -> Result<(), (i16, String)> {
    if name.is_empty() || name.parse::<i32>().ok() == Some(broker.node_id()) {
        Ok(())
    } else {
        Err((
            ResponseError::InvalidRequest.code(),
            format!(
                "unexpected broker id {name:?}: this is broker {}",
                broker.node_id()
            ),
        ))
    }
}

/// Null or empty `configuration_keys` means every config, as in Kafka.
fn wanted(resource: &DescribeConfigsResource, name: &str) -> bool {
    match &resource.configuration_keys {
        Some(keys) if !keys.is_empty() => keys.iter().any(|k| k.as_str() == name),
        _ => true,
    }
}

fn entry(
    c: ConfigDescription,
    version: i16,
    synonyms: bool,
    documentation: bool,
) -> DescribeConfigsResourceResult {
    let mut out = DescribeConfigsResourceResult::default()
        .with_name(str_bytes(c.name))
        .with_value(c.value.map(str_bytes))
        .with_read_only(c.read_only)
        .with_config_source(c.source)
        .with_is_sensitive(c.sensitive);
    if synonyms {
        out = out.with_synonyms(
            c.synonyms
                .into_iter()
                .map(|s| {
                    DescribeConfigsSynonym::default()
                        .with_name(str_bytes(s.name))
                        .with_value(s.value.map(str_bytes))
                        .with_source(s.source)
                })
                .collect(),
        );
    }
    if version >= 3 {
        out = out.with_config_type(c.config_type as i8);
        // Null unless asked for (the struct's default is an empty string).
        out = out.with_documentation(documentation.then(|| str_bytes(c.documentation)));
    }
    out
}
