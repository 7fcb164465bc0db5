use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};

use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::coordinator::FetchedOffset;
use crate::error::code_of;

type Wanted = Option<Vec<(String, Vec<i32>)>>;

/// v0-v7 ask for one group at the top level; v8+ for several in `groups`.
pub async fn handle(
    broker: &Broker,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    if version < 8 {
        let wanted: Wanted = request.topics.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        let (topics, code) = fetch(
            broker,
            request.group_id.as_str(),
            wanted,
            None,
            request.require_stable,
        )
        .await;
        let topics = topics
            .into_iter()
            .map(|(topic, offsets)| {
                let partitions = offsets
                    .into_iter()
                    .map(|o| {
                        OffsetFetchResponsePartition::default()
                            .with_error_code(unstable_code(&o))
                            .with_partition_index(o.partition)
                            .with_committed_offset(o.offset)
                            .with_committed_leader_epoch(o.leader_epoch)
                            .with_metadata(Some(str_bytes(o.metadata)))
                    })
                    .collect();
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            })
            .collect();
        // The top-level error code exists from v2 on.
        let code = if version >= 2 { code } else { 0 };
        return OffsetFetchResponse::default()
            .with_topics(topics)
            .with_error_code(code);
    }
    let mut groups = Vec::with_capacity(request.groups.len());
    for g in request.groups {
        let wanted: Wanted = g.topics.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        // v9+: a consumer-group member names itself and its epoch.
        let member = g
            .member_id
            .as_ref()
            .map(|id| (id.to_string(), g.member_epoch));
        let (topics, code) = fetch(
            broker,
            g.group_id.as_str(),
            wanted,
            member,
            request.require_stable,
        )
        .await;
        let topics = topics
            .into_iter()
            .map(|(topic, offsets)| {
                let partitions = offsets
                    .into_iter()
                    .map(|o| {
                        OffsetFetchResponsePartitions::default()
                            .with_error_code(unstable_code(&o))
                            .with_partition_index(o.partition)
                            .with_committed_offset(o.offset)
                            .with_committed_leader_epoch(o.leader_epoch)
                            .with_metadata(Some(str_bytes(o.metadata)))
                    })
                    .collect();
                OffsetFetchResponseTopics::default()
                    .with_name(topic_name(&topic))
                    .with_partitions(partitions)
            })
            .collect();
        groups.push(
            OffsetFetchResponseGroup::default()
                .with_group_id(g.group_id)
                .with_topics(topics)
                .with_error_code(code),
        );
    }
    OffsetFetchResponse::default().with_groups(groups)
}

/// UNSTABLE_OFFSET_COMMIT for a partition whose offset an open transaction is committing
/// (asked with `require_stable`, v7+), else no error.
fn unstable_code(o: &FetchedOffset) -> i16 {
    if o.unstable {
        ResponseError::UnstableOffsetCommit.code()
    } else {
        0
    }
}

/// The group's committed offsets grouped by topic (in the coordinator's order), and the
/// group-level error code.
async fn fetch(
    broker: &Broker,
    group: &str,
    wanted: Wanted,
    member: Option<(String, i32)>,
    require_stable: bool,
) -> (Vec<(String, Vec<FetchedOffset>)>, i16) {
    let offsets = match broker
        .groups
        .fetch_member_offsets(group, wanted, member, require_stable)
        .await
    {
        Ok(offsets) => offsets,
        Err(e) => return (Vec::new(), code_of(e)),
    };
    let mut topics: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
    for o in offsets {
        match topics.last_mut() {
            Some((topic, list)) if *topic == o.topic => list.push(o),
            _ => topics.push((o.topic.clone(), vec![o])),
        }
    }
    (topics, 0)
}
