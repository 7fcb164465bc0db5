use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use crate::broker::Broker;

/// The producers each partition knows: epoch, last sequence and timestamp, the coordinator
/// epoch of their last marker and where their open transaction starts (-1 if none), as
/// `kafka-transactions.sh describe-producers` and `find-hanging` read them.
pub async fn handle(
    broker: &Arc<Broker>,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let b = broker.clone();
    // Each partition's producers are read under its lock: off the reactor.
    let topics = tokio::task::spawn_blocking(move || {
        request
            .topics
            .into_iter()
            .map(|t| {
                let topic = b.topics.get(t.name.as_str());
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&index| {
                        let out = PartitionResponse::default().with_partition_index(index);
                        let Some(partition) = topic.as_ref().and_then(|t| t.partition(index))
                        else {
                            return out
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                        };
                        let producers = partition
                            .producers()
                            .into_iter()
                            .map(|p| {
                                ProducerState::default()
                                    .with_producer_id(ProducerId(p.producer_id))
                                    .with_producer_epoch(i32::from(p.epoch))
                                    .with_last_sequence(p.last_sequence)
                                    .with_last_timestamp(p.last_timestamp)
                                    .with_coordinator_epoch(p.coordinator_epoch)
                                    .with_current_txn_start_offset(p.current_txn_start_offset)
                            })
                            .collect();
                        out.with_active_producers(producers)
                    })
                    .collect();
                TopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    DescribeProducersResponse::default().with_topics(topics)
}
