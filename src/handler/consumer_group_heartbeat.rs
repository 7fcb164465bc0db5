use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};

use super::{opt_string, str_bytes, Requester};
use crate::broker::Broker;
use crate::coordinator::{ConsumerHeartbeat, GroupError, TopicImage};
use crate::error::code_of;

/// ConsumerGroupHeartbeat (KIP-848). The coordinator gets the broker's topics as they are now,
/// to assign from and to resolve regular expressions against.
pub async fn handle(
    broker: &Broker,
    version: i16,
    requester: &Requester,
    client_id: String,
    request: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    if !broker.config().group_consumer.enabled {
        // Not advertised: answered as Kafka answers an API it does not serve.
        return ConsumerGroupHeartbeatResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code());
    }
    let beat = ConsumerHeartbeat {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: opt_string(&request.instance_id),
        rack_id: opt_string(&request.rack_id),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        subscribed_topic_regex: opt_string(&request.subscribed_topic_regex),
        server_assignor: opt_string(&request.server_assignor),
        owned: request.topic_partitions.map(|owned| {
            owned
                .into_iter()
                .map(|t| (t.topic_id, t.partitions))
                .collect()
        }),
        client_id,
        client_host: requester.host(),
        topics: Arc::new(topic_image(broker)),
        version,
    };
    match broker.groups.consumer_heartbeat(beat).await {
        Ok(r) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(str_bytes(r.member_id)))
            .with_member_epoch(r.member_epoch)
            .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
            .with_assignment(r.assignment.map(|parts| {
                Assignment::default().with_topic_partitions(
                    parts
                        .into_iter()
                        .map(|(id, partitions)| {
                            TopicPartitions::default()
                                .with_topic_id(id)
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
            })),
        Err(e) => {
            let message = error_message(&e);
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(code_of(e))
                .with_error_message(message.map(str_bytes))
        }
    }
}

/// The broker's topics: name, id, partition count.
pub fn topic_image(broker: &Broker) -> TopicImage {
    broker
        .topics
        .list()
        .iter()
        .map(|t| (t.name.clone(), t.id, t.partition_count()))
        .collect()
}

/// Kafka explains these errors in the response.
fn error_message(e: &GroupError) -> Option<String> {
    match e {
        GroupError::InvalidRequest(_)
        | GroupError::InvalidRegularExpression(_)
        | GroupError::UnsupportedAssignor(_)
        | GroupError::NotConsumerGroup(_) => Some(e.to_string()),
        _ => None,
    }
}
