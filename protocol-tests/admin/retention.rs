//! Topic configs that take effect: tiny `segment.bytes` and `retention.ms` set through
//! IncrementalAlterConfigs (confluent-kafka) on a live topic make the broker's retention check
//! (every 200 ms here) delete old segments; the log start offset moves, a fetch below it gets
//! OFFSET_OUT_OF_RANGE, and consumers reset as `auto.offset.reset` says.

use std::time::Duration;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, CreateTopicsRequest, FetchRequest, ListOffsetsRequest};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::common::{connect_raw, produce};
use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, python};
use crate::support::raw::{topic_name, RawClient};
use crate::support::stats::Stats;
use crate::support::wait::{wait_for, wait_until_async};

const WAIT: Duration = Duration::from_secs(20);

const TOPIC: &str = "retained";

async fn earliest(raw: &mut RawClient) -> i64 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(TOPIC))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]);
    raw.call(7, &request).await.topics[0].partitions[0].offset
}

fn consumer(bootstrap: &str, reset: &str, stats: &Stats) -> StreamConsumer<Stats> {
    let consumer: StreamConsumer<Stats> = Stats::enable(&mut ClientConfig::new())
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("weir-retention-{reset}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", reset)
        .create_with_context(stats.clone())
        .expect("create consumer");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(TOPIC, 0, Offset::Offset(0))
        .expect("assign");
    consumer.assign(&assignment).expect("assign");
    consumer
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_set_by_incremental_alter_configs_deletes_old_segments_and_consumers_reset() {
    let broker = TestBroker::start_with(&[("log.retention.check.interval.ms", "200")]).await;
    let bootstrap = broker.bootstrap();
    let mut raw = connect_raw(broker.addr()).await;
    let created = raw
        .call(
            7,
            &CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(TOPIC))
                .with_num_partitions(1)
                .with_replication_factor(1)]),
        )
        .await;
    assert_eq!(created.topics[0].error_code, 0);

    // Live topic, real client: the settings apply without a restart.
    let b = bootstrap.clone();
    blocking(move || {
        python(
            "confluent_admin.py",
            &["alter", &b, TOPIC, "segment.bytes=300", "retention.ms=1500"],
        )
    })
    .await;
    let partition = broker
        .handle
        .broker()
        .topics
        .get(TOPIC)
        .expect("topic")
        .partition(0)
        .expect("p0");
    let config = partition.config();
    assert_eq!((config.segment_bytes, config.retention_ms), (300, 1500));

    let offsets = produce(&bootstrap, TOPIC, 0, 20).await;
    assert_eq!(offsets, (0..20).collect::<Vec<i64>>());
    let segments = partition.segment_count();
    assert!(segments >= 5, "300-byte segments roll: {segments}");

    // Retention deletes every segment once its records are older than 1.5 s, the active one
    // too (rolled first), as Kafka does: the partition ends up empty at offset 20.
    let addr = broker.addr();
    let start = wait_until_async("the log start offset to reach 20", WAIT, || async move {
        let start = earliest(&mut connect_raw(addr).await).await;
        (start == 20).then_some(start)
    })
    .await;
    assert_eq!(partition.segment_count(), 1);
    // Records from now on are kept long enough for the consumers below to read them.
    let b = bootstrap.clone();
    blocking(move || {
        python(
            "confluent_admin.py",
            &["alter", &b, TOPIC, "retention.ms=3600000"],
        )
    })
    .await;
    assert_eq!(produce(&bootstrap, TOPIC, 0, 1).await, vec![20]);

    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(TOPIC))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = raw.call(11, &fetch).await;
    let p = &response.responses[0].partitions[0];
    assert_eq!(
        (p.error_code, p.log_start_offset),
        (1, start),
        "OFFSET_OUT_OF_RANGE below the log start"
    );

    // auto.offset.reset=earliest: from offset 0 to the log start.
    let early = consumer(&bootstrap, "earliest", &Stats::default());
    let message = tokio::time::timeout(Duration::from_secs(20), early.recv())
        .await
        .expect("a record within 20 s")
        .expect("a record");
    assert_eq!(message.offset(), start);

    // auto.offset.reset=error: the consumer is told.
    let strict = consumer(&bootstrap, "error", &Stats::default());
    match tokio::time::timeout(Duration::from_secs(20), strict.recv())
        .await
        .expect("an answer within 20 s")
    {
        Err(KafkaError::MessageConsumption(RDKafkaErrorCode::AutoOffsetReset)) => {}
        other => panic!("expected an auto offset reset error, got {other:?}"),
    }

    // auto.offset.reset=latest: skips to the end and gets only what comes next.
    let stats = Stats::default();
    let late = consumer(&bootstrap, "latest", &stats);
    let next = tokio::spawn(async move {
        let message = tokio::time::timeout(WAIT, late.recv())
            .await
            .expect("a record within 20 s")
            .expect("a record");
        message.offset()
    });
    // The record goes in only once the consumer has reset to the end and fetches from there.
    wait_for("the consumer to reset to offset 21", WAIT, || {
        stats
            .partition(TOPIC, 0)
            .is_some_and(|p| p.next_offset == 21 && p.fetch_state == "active")
    })
    .await;
    produce(&bootstrap, TOPIC, 0, 1).await;
    assert_eq!(next.await.expect("consumer task"), 21);
}
