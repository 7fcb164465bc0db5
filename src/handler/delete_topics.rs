use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
use uuid::Uuid;

use super::access::Access;
use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::MetadataError;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// v0-v5 name topics in `topic_names`; v6 in `topics`, by name or by id. Each topic needs
/// DELETE (and DESCRIBE) on it, or DELETE on the cluster; a topic named by id whose name the
/// principal may not see is answered without its name, as in Kafka.
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    version: i16,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let checked = broker.config().delete_topic_enable
        && !access.quietly_allows(Operation::Delete, ResourceType::Cluster, CLUSTER_NAME);
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| (t.name.map(|n| n.to_string()), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|n| (Some(n.to_string()), Uuid::nil()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        let resolved = match &name {
            Some(n) => Some(n.clone()),
            None => broker.topics.get_by_id(&id).map(|t| t.name.clone()),
        };
        let result = DeletableTopicResult::default()
            .with_name(name.as_deref().map(topic_name))
            .with_topic_id(id);
        let Some(target) = resolved else {
            responses.push(result.with_error_code(ResponseError::UnknownTopicId.code()));
            continue;
        };
        if checked {
            let describable = access.topic(Operation::Describe, &target);
            if !describable || !access.topic(Operation::Delete, &target) {
                responses
                    .push(result.with_error_code(ResponseError::TopicAuthorizationFailed.code()));
                continue;
            }
        }
        let b = broker.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            if !b.config().delete_topic_enable {
                return Err(MetadataError::TopicDeletionDisabled);
            }
            b.topics.delete(&target).map(|id| (target, id))
        })
        .await;
        responses.push(match outcome {
            Ok(Ok((target, id))) => result
                .with_name(Some(topic_name(&target)))
                .with_topic_id(id),
            Ok(Err(e)) => {
                let message = e.to_string();
                result
                    .with_error_code(code_of(e))
                    .with_error_message(Some(str_bytes(message)))
            }
            Err(e) => result.with_error_code(code_of(e)),
        });
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
