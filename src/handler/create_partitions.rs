//! CreatePartitions v0-v3: grows a topic; the new partitions are usable at once and persisted.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::access::Access;
use super::str_bytes;
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::{MetadataError, EXCESSIVE_BATCH, MAX_PARTITIONS_PER_REQUEST};
use crate::security::acl::Operation;

/// Each topic needs ALTER on it (TOPIC_AUTHORIZATION_FAILED otherwise).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> = request
        .topics
        .iter()
        .filter(|t| !seen.insert(t.name.to_string()))
        .map(|t| t.name.to_string())
        .collect();
    let permitted: Vec<bool> = request
        .topics
        .iter()
        .map(|t| {
            duplicates.contains(t.name.as_str()) || access.topic(Operation::Alter, t.name.as_str())
        })
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    let added: i64 = request
        .topics
        .iter()
        .zip(&permitted)
        .filter(|(_, permitted)| **permitted)
        .map(|(t, _)| {
            let current = broker
                .topics
                .get(&t.name)
                .map_or(0, |t| t.partition_count());
            (i64::from(t.count) - i64::from(current)).max(0)
        })
        .sum();
    if added > MAX_PARTITIONS_PER_REQUEST {
        // Kafka's controller refuses the whole request.
        for topic in request.topics {
            results.push(
                CreatePartitionsTopicResult::default()
                    .with_name(topic.name)
                    .with_error_code(ResponseError::PolicyViolation.code())
                    .with_error_message(Some(str_bytes(EXCESSIVE_BATCH))),
            );
        }
        return CreatePartitionsResponse::default().with_results(results);
    }
    for (topic, permitted) in request.topics.into_iter().zip(permitted) {
        let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
        let outcome = if duplicates.contains(topic.name.as_str()) {
            Err((
                ResponseError::InvalidRequest.code(),
                "topic named more than once in the request".to_string(),
            ))
        } else if !permitted {
            results.push(result.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
            continue;
        } else {
            grow(broker, &topic, request.validate_only).await
        };
        results.push(match outcome {
            Ok(()) => result,
            Err((code, message)) => result
                .with_error_code(code)
                .with_error_message(Some(str_bytes(message))),
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}

async fn grow(
    broker: &Arc<Broker>,
    topic: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), (i16, String)> {
    let fail = |e: MetadataError| {
        let message = e.to_string();
        (code_of(e), message)
    };
    let name = topic.name.to_string();
    let count = topic.count;
    // Clients send null for "let the broker assign"; an empty list means the same here.
    if let Some(assignments) = topic.assignments.as_ref().filter(|a| !a.is_empty()) {
        let current = broker.topics.get(&name).map_or(0, |t| t.partition_count());
        let new = usize::try_from(count.saturating_sub(current)).unwrap_or(0);
        let node = broker.node_id();
        if assignments.len() != new {
            return Err(fail(MetadataError::InvalidReplicaAssignment(format!(
                "{} assignments given for {new} new partitions",
                assignments.len()
            ))));
        }
        if assignments
            .iter()
            .any(|a| a.broker_ids.len() != 1 || a.broker_ids[0].0 != node)
        {
            return Err(fail(MetadataError::InvalidReplicaAssignment(format!(
                "the only broker is {node}"
            ))));
        }
    }
    let b = broker.clone();
    match tokio::task::spawn_blocking(move || b.topics.add_partitions(&name, count, validate_only))
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(fail(e)),
        Err(e) => Err((code_of(e), "internal error".into())),
    }
}
