use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::describe;
use crate::metadata::{MetadataError, TopicSpec, EXCESSIVE_PARTITIONS, MAX_PARTITIONS_PER_REQUEST};
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// Each topic needs CREATE on the cluster or on the topic; a created topic's configs are
/// answered only with DESCRIBE_CONFIGS on it (TOPIC_AUTHORIZATION_FAILED as its config error
/// otherwise), as in Kafka.
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    version: i16,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.to_string()))
        .map(|t| t.name.to_string())
        .collect();
    let cluster_create =
        access.quietly_allows(Operation::Create, ResourceType::Cluster, CLUSTER_NAME);
    let permitted: Vec<bool> = request
        .topics
        .iter()
        .map(|t| {
            duplicates.contains(t.name.as_str())
                || cluster_create
                || access.topic(Operation::Create, t.name.as_str())
        })
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    let counted: Vec<&CreatableTopic> = request
        .topics
        .iter()
        .zip(&permitted)
        .filter(|(_, permitted)| **permitted)
        .map(|(t, _)| t)
        .collect();
    if requested_partitions(broker, &counted) > MAX_PARTITIONS_PER_REQUEST {
        // Kafka refuses the whole request.
        for topic in request.topics {
            let result = CreatableTopicResult::default()
                .with_name(topic.name)
                .with_num_partitions(-1)
                .with_replication_factor(-1);
            results.push(fail(
                result,
                ResponseError::PolicyViolation.code(),
                EXCESSIVE_PARTITIONS.into(),
            ));
        }
        return CreateTopicsResponse::default().with_topics(results);
    }
    for (topic, permitted) in request.topics.into_iter().zip(permitted) {
        let result = CreatableTopicResult::default()
            .with_name(topic.name.clone())
            .with_num_partitions(-1)
            .with_replication_factor(-1);
        if duplicates.contains(topic.name.as_str()) {
            results.push(fail(
                result,
                ResponseError::InvalidRequest.code(),
                "topic named more than once in the request".into(),
            ));
            continue;
        }
        if !permitted {
            results.push(fail(
                result,
                ResponseError::TopicAuthorizationFailed.code(),
                "Authorization failed.".into(),
            ));
            continue;
        }
        let describable = access.quietly_allows(
            Operation::DescribeConfigs,
            ResourceType::Topic,
            topic.name.as_str(),
        );
        let spec = match spec_of(broker, &topic) {
            Ok(spec) => spec,
            Err(e) => {
                let message = e.to_string();
                results.push(fail(result, code_of(e), message));
                continue;
            }
        };
        let b = broker.clone();
        let validate_only = request.validate_only;
        let outcome = tokio::task::spawn_blocking(move || {
            if validate_only {
                b.topics.validate(&spec).map(|()| (spec, None))
            } else {
                b.topics.create(spec.clone()).map(|t| (spec, Some(t.id)))
            }
        })
        .await;
        results.push(match outcome {
            Ok(Ok((_, id))) if !describable => {
                let result = result.with_topic_id(id.unwrap_or_default());
                if version >= 5 {
                    result.with_topic_config_error_code(
                        ResponseError::TopicAuthorizationFailed.code(),
                    )
                } else {
                    result
                }
            }
            Ok(Ok((spec, id))) => result
                .with_topic_id(id.unwrap_or_default())
                .with_num_partitions(spec.partitions)
                .with_replication_factor(1)
                .with_configs(Some(if version >= 5 {
                    configs_of(broker, &spec.configs)
                } else {
                    Vec::new()
                })),
            Ok(Err(e)) => {
                let message = e.to_string();
                fail(result, code_of(e), message)
            }
            Err(e) => fail(result, code_of(e), "internal error".into()),
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

/// Partitions the request asks for in all, counted as Kafka's controller counts them.
fn requested_partitions(broker: &Broker, topics: &[&CreatableTopic]) -> i64 {
    topics
        .iter()
        .map(|t| match t.num_partitions {
            _ if !t.assignments.is_empty() => t.assignments.len() as i64,
            -1 => i64::from(broker.config().num_partitions),
            n => i64::from(n.max(0)),
        })
        .sum()
}

fn spec_of(broker: &Broker, topic: &CreatableTopic) -> Result<TopicSpec, MetadataError> {
    let node = broker.node_id();
    let partitions = if !topic.assignments.is_empty() {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return Err(MetadataError::InvalidRequest(
                "give either replica assignments or partitions and replication factor".into(),
            ));
        }
        let mut indexes: Vec<i32> = topic
            .assignments
            .iter()
            .map(|a| a.partition_index)
            .collect();
        indexes.sort_unstable();
        if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
            return Err(MetadataError::InvalidReplicaAssignment(
                "partitions must be numbered 0..n".into(),
            ));
        }
        if topic
            .assignments
            .iter()
            .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
        {
            return Err(MetadataError::InvalidReplicaAssignment(format!(
                "the only broker is {node}"
            )));
        }
        topic.assignments.len() as i32
    } else {
        match topic.replication_factor {
            -1 | 1 => {}
            rf => {
                return Err(MetadataError::InvalidReplicationFactor(format!(
                    "replication factor {rf} is not possible with 1 broker"
                )))
            }
        }
        match topic.num_partitions {
            -1 => broker.config().num_partitions,
            n if n >= 1 => n,
            n => {
                return Err(MetadataError::InvalidPartitions(format!(
                    "{n} partitions requested"
                )))
            }
        }
    };
    let mut configs = BTreeMap::new();
    for c in &topic.configs {
        if let Some(value) = &c.value {
            configs.insert(c.name.to_string(), value.to_string());
        }
    }
    Ok(TopicSpec {
        name: topic.name.to_string(),
        partitions,
        configs,
    })
}

/// v5+: every config of the new topic with its effective value and source, as DescribeConfigs
/// would show it (Kafka answers the same).
fn configs_of(broker: &Broker, configs: &BTreeMap<String, String>) -> Vec<CreatableTopicConfigs> {
    describe::topic_configs(broker.config(), configs)
        .into_iter()
        .map(|c| {
            CreatableTopicConfigs::default()
                .with_name(str_bytes(c.name))
                .with_value(c.value.map(str_bytes))
                .with_read_only(c.read_only)
                .with_config_source(c.source)
                .with_is_sensitive(c.sensitive)
        })
        .collect()
}

fn fail(result: CreatableTopicResult, code: i16, message: String) -> CreatableTopicResult {
    result
        .with_error_code(code)
        .with_error_message(Some(str_bytes(message)))
}
