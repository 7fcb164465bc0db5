use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use crate::broker::Broker;
use crate::error::code_of;
use crate::log::{Marker, Outcome};

/// Writes the markers asked for. weir's own coordinator writes its markers directly; this is
/// what `kafka-transactions.sh abort` (the admin client's abortTransaction) sends to end a
/// hanging transaction on a partition. A marker from an older producer epoch gets
/// INVALID_PRODUCER_EPOCH, one from an older coordinator TRANSACTION_COORDINATOR_FENCED.
pub async fn handle(
    broker: &Arc<Broker>,
    request: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let b = broker.clone();
    // Markers are appended under each partition's lock: off the reactor.
    let markers = tokio::task::spawn_blocking(move || {
        request
            .markers
            .into_iter()
            .map(|m| {
                let marker = Marker {
                    producer_id: m.producer_id.0,
                    producer_epoch: m.producer_epoch,
                    outcome: if m.transaction_result {
                        Outcome::Commit
                    } else {
                        Outcome::Abort
                    },
                    coordinator_epoch: m.coordinator_epoch,
                };
                let topics = m
                    .topics
                    .into_iter()
                    .map(|t| {
                        let topic = b.topics.get(t.name.as_str());
                        let partitions = t
                            .partition_indexes
                            .iter()
                            .map(|&index| {
                                let code = match topic.as_ref().and_then(|t| t.partition(index)) {
                                    None => ResponseError::UnknownTopicOrPartition.code(),
                                    Some(p) => match p.append_marker(&marker) {
                                        Ok(_) => 0,
                                        Err(e) => code_of(e),
                                    },
                                };
                                WritableTxnMarkerPartitionResult::default()
                                    .with_partition_index(index)
                                    .with_error_code(code)
                            })
                            .collect();
                        WritableTxnMarkerTopicResult::default()
                            .with_name(t.name)
                            .with_partitions(partitions)
                    })
                    .collect();
                WritableTxnMarkerResult::default()
                    .with_producer_id(m.producer_id)
                    .with_topics(topics)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    WriteTxnMarkersResponse::default().with_markers(markers)
}
