use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use uuid::Uuid;

use super::{str_bytes, topic_name, Requester, LEADER_EPOCH};
use crate::broker::Broker;
use crate::error::code_of;
use crate::metadata::{Topic, TopicSpec};

pub async fn handle(
    broker: &Arc<Broker>,
    requester: &Requester,
    version: i16,
    request: MetadataRequest,
) -> MetadataResponse {
    let node = broker.node_id();
    let (host, port) = broker.advertised(&requester.listener);
    let brokers = vec![MetadataResponseBroker::default()
        .with_node_id(BrokerId(node))
        .with_host(str_bytes(host))
        .with_port(port)];
    // v0 had no null: an empty list meant every topic.
    let requested = match request.topics {
        Some(list) if version == 0 && list.is_empty() => None,
        other => other,
    };
    // Before v4 there was no flag and the broker setting alone decided.
    let may_create =
        broker.config().auto_create_topics && (version < 4 || request.allow_auto_topic_creation);
    let topics = match requested {
        None => broker
            .topics
            .list()
            .iter()
            .map(|t| describe(t, node))
            .collect(),
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for wanted in list {
                out.push(match wanted.name {
                    Some(name) => by_name(broker, name.as_str(), may_create, node).await,
                    None => by_id(broker, wanted.topic_id, node),
                });
            }
            out
        }
    };
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(broker.cluster.cluster_id.clone())))
        .with_controller_id(BrokerId(node))
        .with_topics(topics)
}

async fn by_name(
    broker: &Arc<Broker>,
    name: &str,
    may_create: bool,
    node: i32,
) -> MetadataResponseTopic {
    if let Some(topic) = broker.topics.get(name) {
        return describe(&topic, node);
    }
    let error = |code: i16| {
        MetadataResponseTopic::default()
            .with_name(Some(topic_name(name)))
            .with_error_code(code)
    };
    if let Err(e) = crate::metadata::validate_topic_name(name) {
        return error(code_of(e));
    }
    if !may_create {
        return error(ResponseError::UnknownTopicOrPartition.code());
    }
    let spec = TopicSpec {
        name: name.to_string(),
        partitions: broker.config().num_partitions,
        configs: BTreeMap::new(),
    };
    let b = broker.clone();
    match tokio::task::spawn_blocking(move || b.topics.create(spec)).await {
        Ok(Ok(topic)) => describe(&topic, node),
        // Another request created it first: fine, describe it.
        Ok(Err(crate::metadata::MetadataError::TopicExists(_))) => match broker.topics.get(name) {
            Some(topic) => describe(&topic, node),
            None => error(ResponseError::UnknownTopicOrPartition.code()),
        },
        Ok(Err(e)) => error(code_of(e)),
        Err(e) => error(code_of(e)),
    }
}

fn by_id(broker: &Broker, id: Uuid, node: i32) -> MetadataResponseTopic {
    match broker.topics.get_by_id(&id) {
        Some(topic) => describe(&topic, node),
        None => MetadataResponseTopic::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code()),
    }
}

fn describe(topic: &Topic, node: i32) -> MetadataResponseTopic {
    let partitions = (0..topic.partition_count())
        .map(|index| {
            let partition = MetadataResponsePartition::default()
                .with_partition_index(index)
                .with_leader_id(BrokerId(node))
                .with_leader_epoch(LEADER_EPOCH)
                .with_replica_nodes(vec![BrokerId(node)])
                .with_isr_nodes(vec![BrokerId(node)]);
            if topic.partition(index).is_some_and(|p| p.is_offline()) {
                // As Kafka shows a partition whose only replica's log is offline: no leader.
                return partition
                    .with_error_code(ResponseError::LeaderNotAvailable.code())
                    .with_leader_id(BrokerId(-1))
                    .with_offline_replicas(vec![BrokerId(node)]);
            }
            partition
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(topic_name(&topic.name)))
        .with_topic_id(topic.id)
        .with_partitions(partitions)
}
