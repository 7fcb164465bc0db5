use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::topic_name;
use crate::broker::Broker;
use crate::error::code_of;

pub async fn handle(broker: &Broker, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let wanted = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t.partitions.iter().map(|p| p.partition_index).collect();
            (t.name.to_string(), partitions)
        })
        .collect();
    let results = match broker
        .groups
        .delete_offsets(request.group_id.as_str(), wanted)
        .await
    {
        Ok(results) => results,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(code_of(e)),
    };
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for r in results {
        let p = OffsetDeleteResponsePartition::default()
            .with_partition_index(r.partition)
            .with_error_code(r.result.err().map(code_of).unwrap_or(0));
        match topics.last_mut() {
            Some(t) if t.name.as_str() == r.topic => t.partitions.push(p),
            _ => topics.push(
                OffsetDeleteResponseTopic::default()
                    .with_name(topic_name(&r.topic))
                    .with_partitions(vec![p]),
            ),
        }
    }
    OffsetDeleteResponse::default().with_topics(topics)
}
