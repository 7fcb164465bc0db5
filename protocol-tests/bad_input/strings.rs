//! Oversized strings and commits. Kafka refuses a string longer than 32,767 bytes while it
//! parses the request (the connection is closed, nothing is stored), and an OffsetCommit whose
//! records would not fit one record batch of its offsets log with INVALID_COMMIT_OFFSET_SIZE.
//! Flexible request versions let a client send longer strings than the classic encoding can
//! hold, so a raw client builds them.

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, CreateTopicsRequest,
    DescribeGroupsRequest, GroupId, JoinGroupRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::broker_with_topic;
use crate::support::raw::*;

const INVALID_COMMIT_OFFSET_SIZE: i16 = 28;

fn long(len: usize) -> StrBytes {
    StrBytes::from_string("g".repeat(len))
}

fn commit(group: StrBytes, topic: &str, partitions: usize) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(group))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(
                (0..partitions)
                    .map(|i| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(i as i64)
                    })
                    .collect(),
            )])
}

fn group_log_size(data: &std::path::Path) -> u64 {
    std::fs::metadata(data.join("__groups").join("groups.log")).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn strings_longer_than_32767_bytes_close_the_connection_and_store_nothing() {
    let (broker, mut client) = broker_with_topic("t", 1).await;
    let commit_version = client.version::<OffsetCommitRequest>(9);
    let join_version = client.version::<JoinGroupRequest>(9);
    let create_version = client.version::<CreateTopicsRequest>(7);
    let describe_version = client.version::<DescribeGroupsRequest>(5);
    let beat_version = client.version::<ConsumerGroupHeartbeatRequest>(1);
    let consumer_describe_version = client.version::<ConsumerGroupDescribeRequest>(1);
    assert!(
        commit_version >= 8 && join_version >= 6 && create_version >= 5 && describe_version >= 5,
        "flexible versions are served"
    );
    let frames = vec![
        (
            "OffsetCommit with a 256 KiB group id",
            request_frame(&commit(long(256 << 10), "t", 1), commit_version, 1),
        ),
        (
            "OffsetCommit with 40,000 bytes of metadata",
            request_frame(
                &commit(s("g"), "t", 1).with_topics(vec![OffsetCommitRequestTopic::default()
                    .with_name(topic_name("t"))
                    .with_partitions(vec![OffsetCommitRequestPartition::default()
                        .with_committed_metadata(Some(long(40_000)))])]),
                commit_version,
                2,
            ),
        ),
        (
            "JoinGroup with a 40,000-byte protocol type",
            request_frame(
                &JoinGroupRequest::default()
                    .with_group_id(GroupId(s("g")))
                    .with_session_timeout_ms(10_000)
                    .with_rebalance_timeout_ms(10_000)
                    .with_protocol_type(long(40_000))
                    .with_protocols(vec![
                        JoinGroupRequestProtocol::default().with_name(s("range"))
                    ]),
                join_version,
                3,
            ),
        ),
        (
            "CreateTopics with a 40,000-byte config value",
            request_frame(
                &CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                    .with_name(topic_name("u"))
                    .with_num_partitions(1)
                    .with_replication_factor(1)
                    .with_configs(vec![CreatableTopicConfig::default()
                        .with_name(s("cleanup.policy"))
                        .with_value(Some(long(40_000)))])]),
                create_version,
                4,
            ),
        ),
        (
            "DescribeGroups with a 32,768-byte group id",
            request_frame(
                &DescribeGroupsRequest::default().with_groups(vec![GroupId(long(32_768))]),
                describe_version,
                5,
            ),
        ),
        (
            "ConsumerGroupHeartbeat joining a group with a 40,000-byte id",
            request_frame(
                &ConsumerGroupHeartbeatRequest::default()
                    .with_group_id(GroupId(long(40_000)))
                    .with_member_id(s("m-1"))
                    .with_member_epoch(0)
                    .with_rebalance_timeout_ms(30_000)
                    .with_subscribed_topic_names(Some(vec![topic_name("t")]))
                    .with_topic_partitions(Some(vec![])),
                beat_version,
                6,
            ),
        ),
        (
            "ConsumerGroupDescribe with a 32,768-byte group id",
            request_frame(
                &ConsumerGroupDescribeRequest::default()
                    .with_group_ids(vec![GroupId(long(32_768))]),
                consumer_describe_version,
                7,
            ),
        ),
    ];
    for (what, frame) in frames {
        let mut raw = RawClient::connect(broker.addr()).await;
        send_raw(raw.stream(), &frame).await;
        expect_closed(raw.stream(), what).await;
    }
    assert_broker_serves(broker.addr()).await;
    assert!(
        group_log_size(broker.dir.path()) < 4096,
        "the group log grew to {} bytes",
        group_log_size(broker.dir.path())
    );
    // The longest legal string still works.
    let version = commit_version;
    let ok = client.call(version, &commit(long(32_767), "t", 1)).await;
    assert_eq!(ok.topics[0].partitions[0].error_code, code::NONE, "{ok:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offset_commit_larger_than_a_group_log_record_batch_is_invalid_commit_offset_size() {
    let (broker, mut client) = broker_with_topic("t", 1).await;
    let version = client.version::<OffsetCommitRequest>(9);
    // 40 commits of one partition under a 30,000-byte group id: each record carries the group
    // id, 1.2 MB in all, more than message.max.bytes (1,048,588) allows one record batch.
    let group = long(30_000);
    let refused = client.call(version, &commit(group.clone(), "t", 40)).await;
    let codes: Vec<i16> = refused.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, vec![INVALID_COMMIT_OFFSET_SIZE; 40], "{refused:?}");
    assert!(
        group_log_size(broker.dir.path()) < 4096,
        "the group log grew to {} bytes",
        group_log_size(broker.dir.path())
    );
    let fetch_version = client.version::<OffsetFetchRequest>(7);
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(group.clone()))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(topic_name("t"))
            .with_partition_indexes(vec![0])]));
    let fetched = client.call(fetch_version, &fetch).await;
    assert_eq!(fetched.topics[0].partitions[0].committed_offset, -1);
    // A commit that fits goes through.
    let ok = client.call(version, &commit(group, "t", 2)).await;
    assert!(
        ok.topics[0].partitions.iter().all(|p| p.error_code == 0),
        "{ok:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn offset_metadata_max_bytes_bounds_commit_metadata() {
    let broker =
        crate::support::broker::TestBroker::start_with(&[("offset.metadata.max.bytes", "10")])
            .await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("t", 1, &[]).await;
    let version = client.version::<OffsetCommitRequest>(9);
    let with_metadata = |metadata: &str| {
        commit(s("g"), "t", 1).with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name("t"))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_committed_offset(5)
                .with_committed_metadata(Some(s(metadata)))])])
    };
    let refused = client.call(version, &with_metadata("eleven-char")).await;
    assert_eq!(
        refused.topics[0].partitions[0].error_code,
        12, // OFFSET_METADATA_TOO_LARGE
        "{refused:?}"
    );
    let ok = client.call(version, &with_metadata("ten-chars!")).await;
    assert_eq!(ok.topics[0].partitions[0].error_code, code::NONE, "{ok:?}");
}
