//! DescribeLogDirs v1-v4: weir's one log directory with the size of every partition in it.

use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};

use kafka_protocol::error::ResponseError;

use super::access::Access;
use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::security::acl::Operation;

/// Needs DESCRIBE on the cluster: without it the answer lists no directory, with
/// CLUSTER_AUTHORIZATION_FAILED from v3 (earlier versions have no error field).
pub async fn handle(
    broker: &Arc<Broker>,
    access: &Access<'_>,
    version: i16,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    if !access.cluster(Operation::Describe) {
        let response = DescribeLogDirsResponse::default();
        return if version >= 3 {
            response.with_error_code(ResponseError::ClusterAuthorizationFailed.code())
        } else {
            response
        };
    }
    let b = broker.clone();
    // Sizes are read under each partition's log lock, which an append may hold during I/O.
    let (dir, topics) = tokio::task::spawn_blocking(move || {
        let dir = b.config().data_dir.clone();
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let wanted: Vec<(String, Option<Vec<i32>>)> = match request.topics {
            // Null means every partition of every topic.
            None => b
                .topics
                .list()
                .iter()
                .map(|t| (t.name.clone(), None))
                .collect(),
            Some(topics) => topics
                .into_iter()
                .map(|t| (t.topic.to_string(), Some(t.partitions)))
                .collect(),
        };
        let topics = wanted
            .into_iter()
            .filter_map(|(name, partitions)| {
                let topic = b.topics.get(&name)?;
                let partitions: Vec<DescribeLogDirsPartition> = match partitions {
                    None => topic.partitions(),
                    Some(indexes) => indexes.iter().filter_map(|i| topic.partition(*i)).collect(),
                }
                .iter()
                .map(|p| {
                    let size = p.size_bytes();
                    DescribeLogDirsPartition::default()
                        .with_partition_index(p.index)
                        .with_partition_size(i64::try_from(size).unwrap_or(i64::MAX))
                })
                .collect();
                // Kafka leaves out what this directory does not hold.
                (!partitions.is_empty()).then(|| {
                    DescribeLogDirsTopic::default()
                        .with_name(topic_name(&name))
                        .with_partitions(partitions)
                })
            })
            .collect::<Vec<_>>();
        (dir.to_string_lossy().into_owned(), topics)
    })
    .await
    .unwrap_or_else(|_| {
        (
            broker.config().data_dir.to_string_lossy().into_owned(),
            Vec::new(),
        )
    });
    // v4's total_bytes/usable_bytes stay at -1 (unknown): std has no portable statvfs.
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(str_bytes(dir))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1)])
}
