//! How the coordinator reaches the rest of the broker: partitions through the topic registry,
//! group offsets through the group coordinator.

use std::sync::Arc;

use super::api::{BoxFuture, GroupOffsets, PartitionLookup};
use crate::coordinator::GroupCoordinator;
use crate::metadata::Topics;
use crate::partition::Partition;

/// The broker's topics, as the coordinator sees them.
pub struct TopicPartitions(pub Arc<Topics>);

impl PartitionLookup for TopicPartitions {
    fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        self.0.get(topic).and_then(|t| t.partition(partition))
    }

    fn all(&self) -> Vec<(String, Arc<Partition>)> {
        self.0
            .list()
            .iter()
            .flat_map(|t| t.partitions().into_iter().map(|p| (t.name.clone(), p)))
            .collect()
    }
}

impl GroupOffsets for GroupCoordinator {
    fn complete(
        &self,
        group: &str,
        producer_id: i64,
        commit: bool,
    ) -> BoxFuture<Result<(), String>> {
        let groups = self.clone();
        let group = group.to_string();
        Box::pin(async move {
            groups
                .complete_txn(&group, producer_id, commit)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
