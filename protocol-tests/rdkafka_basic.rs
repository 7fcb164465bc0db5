//! librdkafka (through rdkafka) against an embedded broker: produce, fetch, offsets, admin,
//! restart. No consumer groups: consumers use `assign` and never commit.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, Timestamp, TopicPartitionList};
use tokio::time::timeout;

use crate::support::broker::TestBroker;
use crate::support::raw::{batch_attributes, RawClient};
use crate::support::rdkafka_clients::producer;
use crate::support::stats::Stats;
use crate::support::topics::{admin, create_topic};
use crate::support::wait::wait_for;

const WAIT: Duration = Duration::from_secs(20);
const T0: i64 = 1_700_000_000_000;

/// librdkafka refuses `assign` without a group.id, so one is set; the consumer never
/// subscribes or commits, so the group coordinator is never needed.
fn consumer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "weir-rdkafka-basic-assign-only")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    config
}

fn consumer(bootstrap: &str) -> StreamConsumer {
    consumer_config(bootstrap)
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("create consumer")
}

/// Reads exactly `count` records of one partition from offset 0, then checks the high
/// watermark says there are no more.
async fn read_partition(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    count: usize,
) -> Vec<OwnedMessage> {
    let consumer = consumer(bootstrap);
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).expect("assign");
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let message = timeout(WAIT, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{topic}/{partition}: {} of {count} records before timing out",
                    out.len()
                )
            })
            .unwrap_or_else(|e| panic!("consume {topic}/{partition}: {e}"));
        out.push(message.detach());
    }
    let (low, high) = watermarks(&consumer, topic, partition).await;
    assert_eq!(
        (low, high),
        (0, count as i64),
        "{topic}/{partition} watermarks"
    );
    out
}

async fn watermarks(consumer: &StreamConsumer, topic: &str, partition: i32) -> (i64, i64) {
    tokio::task::block_in_place(|| consumer.fetch_watermarks(topic, partition, WAIT))
        .unwrap_or_else(|e| panic!("fetch_watermarks {topic}/{partition}: {e}"))
}

fn assert_contiguous_from_zero(messages: &[OwnedMessage], what: &str) {
    let offsets: Vec<i64> = messages.iter().map(|m| m.offset()).collect();
    let expected: Vec<i64> = (0..messages.len() as i64).collect();
    assert_eq!(offsets, expected, "{what}: offsets not contiguous from 0");
}

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn headers_of(message: &OwnedMessage) -> Vec<(String, Option<String>)> {
    message
        .headers()
        .map(|h| {
            h.iter()
                .map(|header| (header.key.to_string(), text(header.value)))
                .collect()
        })
        .unwrap_or_default()
}

/// Produces `count` unkeyed records to one partition, awaiting each delivery; returns values.
async fn produce_values(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let mut values = Vec::with_capacity(count);
    for i in 0..count {
        let value = format!("{prefix}-{i}");
        producer
            .send(
                FutureRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(&value),
                WAIT,
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce {value}: {e}"));
        values.push(value);
    }
    values
}

fn values_of(messages: &[OwnedMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| text(m.payload()).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keyed_records_keep_partition_order_keys_headers_and_timestamps() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let topic = "keyed";
    create_topic(&bootstrap, topic, 3, WAIT).await;
    let producer = producer(&bootstrap, &[]);

    struct Sent {
        key: String,
        value: String,
        timestamp: i64,
        partition: i32,
        offset: i64,
    }
    // Enqueue everything first (order per partition is enqueue order), then await deliveries.
    let mut pending = Vec::new();
    for i in 0..90usize {
        let key = format!("key-{}", i % 9);
        let value = format!("value-{i}");
        let seq = i.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "seq",
                value: Some(&seq),
            })
            .insert(Header {
                key: "origin",
                value: Some("weir-test"),
            })
            .insert(Header {
                key: "empty",
                value: None::<&str>,
            });
        let timestamp = T0 + i as i64 * 1000;
        let delivery = producer
            .send_result(
                FutureRecord::to(topic)
                    .key(&key)
                    .payload(&value)
                    .headers(headers)
                    .timestamp(timestamp),
            )
            .unwrap_or_else(|(e, _)| panic!("enqueue {value}: {e}"));
        pending.push((key, value, timestamp, delivery));
    }
    let mut sent = Vec::new();
    for (key, value, timestamp, delivery) in pending {
        let delivery = timeout(WAIT, delivery)
            .await
            .expect("delivery timed out")
            .expect("delivery future dropped")
            .unwrap_or_else(|(e, _)| panic!("deliver {value}: {e}"));
        sent.push(Sent {
            key,
            value,
            timestamp,
            partition: delivery.partition,
            offset: delivery.offset,
        });
    }

    let mut partition_of_key: HashMap<&str, i32> = HashMap::new();
    for s in &sent {
        let p = *partition_of_key.entry(&s.key).or_insert(s.partition);
        assert_eq!(
            p, s.partition,
            "key {} landed on partitions {p} and {}",
            s.key, s.partition
        );
    }

    let used: std::collections::BTreeSet<i32> = sent.iter().map(|s| s.partition).collect();
    assert!(used.len() >= 2, "9 keys all hashed to partitions {used:?}");
    for partition in 0..3 {
        let expected: Vec<&Sent> = sent.iter().filter(|s| s.partition == partition).collect();
        let messages = read_partition(&bootstrap, topic, partition, expected.len()).await;
        assert_contiguous_from_zero(&messages, &format!("{topic}/{partition}"));
        for (message, sent) in messages.iter().zip(&expected) {
            assert_eq!(message.offset(), sent.offset, "delivery report offset");
            assert_eq!(text(message.key()).as_deref(), Some(sent.key.as_str()));
            assert_eq!(
                text(message.payload()).as_deref(),
                Some(sent.value.as_str()),
                "produce order"
            );
            assert_eq!(message.timestamp(), Timestamp::CreateTime(sent.timestamp));
            let seq = sent.value.trim_start_matches("value-").to_string();
            assert_eq!(
                headers_of(message),
                vec![
                    ("seq".to_string(), Some(seq)),
                    ("origin".to_string(), Some("weir-test".to_string())),
                    ("empty".to_string(), None),
                ]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_compression_codec_round_trips() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let mut raw = RawClient::connect(broker.addr()).await;
    for (codec, id) in [
        ("none", 0),
        ("gzip", 1),
        ("snappy", 2),
        ("lz4", 3),
        ("zstd", 4),
    ] {
        let topic = format!("codec-{codec}");
        create_topic(&bootstrap, &topic, 1, WAIT).await;
        let producer = producer(
            &bootstrap,
            &[("compression.type", codec), ("linger.ms", "50")],
        );
        let mut pending = Vec::new();
        let values: Vec<String> = (0..200)
            .map(|i| format!("{codec}-{i}-{}", "compressible ".repeat(20)))
            .collect();
        for (i, value) in values.iter().enumerate() {
            let key = format!("k{i}");
            let delivery = producer
                .send_result(
                    FutureRecord::to(&topic)
                        .partition(0)
                        .key(&key)
                        .payload(value),
                )
                .unwrap_or_else(|(e, _)| panic!("{codec}: enqueue: {e}"));
            pending.push(delivery);
        }
        for delivery in pending {
            timeout(WAIT, delivery)
                .await
                .expect("delivery timed out")
                .unwrap()
                .unwrap_or_else(|(e, _)| panic!("{codec}: deliver: {e}"));
        }
        let messages = read_partition(&bootstrap, &topic, 0, values.len()).await;
        assert_contiguous_from_zero(&messages, &topic);
        assert_eq!(values_of(&messages), values, "{codec}: values");
        for (i, message) in messages.iter().enumerate() {
            assert_eq!(text(message.key()), Some(format!("k{i}")), "{codec}: key");
        }

        // The stored batches really carry the codec (librdkafka silently stops compressing
        // when it dislikes the advertised Produce versions).
        let (error, high_watermark, records) = raw.fetch(&topic, 0, 0).await;
        assert_eq!((error, high_watermark), (0, values.len() as i64));
        let attributes = batch_attributes(&records);
        assert!(!attributes.is_empty(), "{codec}: no batches fetched");
        for a in attributes {
            assert_eq!(
                a & 0x7,
                id,
                "{codec}: stored batch has compression bits {}",
                a & 0x7
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn list_offsets_gives_watermarks_and_first_offset_at_or_after_a_timestamp() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = "times";
    create_topic(&bootstrap, topic, 1, WAIT).await;
    // Enqueued together with a long linger so they most likely share one batch: the broker
    // must then look inside the batch to answer with the right record.
    let producer = producer(&bootstrap, &[("linger.ms", "200")]);
    let mut pending = Vec::new();
    for i in 0..10i64 {
        let value = format!("t{i}");
        pending.push(
            producer
                .send_result(
                    FutureRecord::<(), _>::to(topic)
                        .partition(0)
                        .payload(&value)
                        .timestamp(T0 + 10 * i),
                )
                .unwrap_or_else(|(e, _)| panic!("enqueue: {e}")),
        );
    }
    for delivery in pending {
        timeout(WAIT, delivery)
            .await
            .expect("delivery timed out")
            .unwrap()
            .expect("delivered");
    }

    let consumer = consumer(&bootstrap);
    assert_eq!(watermarks(&consumer, topic, 0).await, (0, 10));
    let (_, _, stored) = RawClient::connect(broker.addr())
        .await
        .fetch(topic, 0, 0)
        .await;
    let batches = batch_attributes(&stored).len();
    assert!(
        (1..10).contains(&batches),
        "{batches} batches for 10 records: no timestamp lookup inside a batch would be tested"
    );

    for (timestamp, expected) in [
        (T0 - 1_000, Offset::Offset(0)),
        (T0, Offset::Offset(0)),
        (T0 + 20, Offset::Offset(2)),
        (T0 + 25, Offset::Offset(3)),
        (T0 + 90, Offset::Offset(9)),
        (T0 + 91, Offset::End),
    ] {
        let mut query = TopicPartitionList::new();
        query
            .add_partition_offset(topic, 0, Offset::Offset(timestamp))
            .unwrap();
        let answer = tokio::task::block_in_place(|| consumer.offsets_for_times(query, WAIT))
            .expect("offsets_for_times");
        let element = answer
            .find_partition(topic, 0)
            .expect("partition in answer");
        assert!(
            element.error().is_ok(),
            "offsets_for_times error: {:?}",
            element.error()
        );
        assert_eq!(
            element.offset(),
            expected,
            "first offset at or after timestamp T0{:+}",
            timestamp - T0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_restart_keeps_records_and_continues_offsets() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = "durable";
    create_topic(&bootstrap, topic, 2, WAIT).await;
    let first = {
        let producer = producer(&bootstrap, &[]);
        let p0 = produce_values(&producer, topic, 0, "before-p0", 12).await;
        let p1 = produce_values(&producer, topic, 1, "before-p1", 7).await;
        [p0, p1]
    };

    let broker = broker.restart(&[]).await;
    let bootstrap = broker.bootstrap();
    for (partition, values) in first.iter().enumerate() {
        let messages = read_partition(&bootstrap, topic, partition as i32, values.len()).await;
        assert_contiguous_from_zero(&messages, "after restart");
        assert_eq!(
            &values_of(&messages),
            values,
            "partition {partition} after restart"
        );
    }

    let producer = producer(&bootstrap, &[]);
    let delivery = producer
        .send(
            FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload("after-0"),
            WAIT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce after restart: {e}"));
    assert_eq!(
        (delivery.partition, delivery.offset),
        (0, 12),
        "offset after restart"
    );
    let mut expected = first[0].clone();
    expected.push("after-0".to_string());
    expected.extend(produce_values(&producer, topic, 0, "after", 3).await);
    let messages = read_partition(&bootstrap, topic, 0, expected.len()).await;
    assert_contiguous_from_zero(&messages, "after restart and produce");
    assert_eq!(values_of(&messages), expected);

    // A second restart after appending keeps the appended part too.
    drop(producer);
    let broker = broker.restart(&[]).await;
    let messages = read_partition(&broker.bootstrap(), topic, 0, expected.len()).await;
    assert_eq!(values_of(&messages), expected, "after a second restart");
}

fn listed_topics(consumer: &StreamConsumer) -> BTreeMap<String, usize> {
    let metadata = consumer.fetch_metadata(None, WAIT).expect("metadata");
    metadata
        .topics()
        .iter()
        .map(|t| (t.name().to_string(), t.partitions().len()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_creates_and_deletes_topics_with_kafka_errors() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let create = |topic: NewTopic<'static>| {
        let admin = &admin;
        let options = &options;
        async move {
            let mut results = timeout(WAIT, admin.create_topics(&[topic], options))
                .await
                .expect("CreateTopics timed out")
                .expect("CreateTopics request");
            assert_eq!(results.len(), 1);
            results.remove(0)
        }
    };

    let orders = || {
        NewTopic::new("orders", 5, TopicReplication::Fixed(1))
            .set("retention.ms", "3600000")
            .set("cleanup.policy", "delete")
            .set("segment.bytes", "1048576")
    };
    assert_eq!(create(orders()).await, Ok("orders".to_string()));
    assert_eq!(
        create(orders()).await,
        Err(("orders".to_string(), RDKafkaErrorCode::TopicAlreadyExists))
    );
    assert_eq!(
        create(NewTopic::new("bad name!", 1, TopicReplication::Fixed(1))).await,
        Err(("bad name!".to_string(), RDKafkaErrorCode::InvalidTopic))
    );
    let too_long: &'static str = Box::leak("x".repeat(250).into_boxed_str());
    assert_eq!(
        create(NewTopic::new(too_long, 1, TopicReplication::Fixed(1))).await,
        Err((too_long.to_string(), RDKafkaErrorCode::InvalidTopic))
    );
    assert_eq!(
        create(NewTopic::new("replicated", 1, TopicReplication::Fixed(2))).await,
        Err((
            "replicated".to_string(),
            RDKafkaErrorCode::InvalidReplicationFactor
        ))
    );
    assert_eq!(
        create(NewTopic::new(
            "no-partitions",
            0,
            TopicReplication::Fixed(1)
        ))
        .await,
        Err((
            "no-partitions".to_string(),
            RDKafkaErrorCode::InvalidPartitions
        ))
    );

    let consumer = consumer(&bootstrap);
    let topics = tokio::task::block_in_place(|| listed_topics(&consumer));
    assert_eq!(topics.get("orders"), Some(&5), "metadata: {topics:?}");
    for refused in ["bad name!", too_long, "replicated", "no-partitions"] {
        assert!(
            !topics.contains_key(refused),
            "refused topic {refused} exists"
        );
    }
    let metadata = tokio::task::block_in_place(|| consumer.fetch_metadata(Some("orders"), WAIT))
        .expect("metadata");
    let mut partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    partitions.sort();
    assert_eq!(partitions, vec![0, 1, 2, 3, 4]);
    let broker_ids: Vec<i32> = metadata.brokers().iter().map(|b| b.id()).collect();
    assert_eq!(broker_ids.len(), 1, "one broker listed");
    for p in metadata.topics()[0].partitions() {
        assert_eq!(p.leader(), broker_ids[0], "leader of partition {}", p.id());
    }

    let deleted = timeout(WAIT, admin.delete_topics(&["orders"], &options))
        .await
        .expect("DeleteTopics timed out")
        .expect("DeleteTopics request");
    assert_eq!(deleted, vec![Ok("orders".to_string())]);
    let deleted = timeout(WAIT, admin.delete_topics(&["orders"], &options))
        .await
        .expect("DeleteTopics timed out")
        .expect("DeleteTopics request");
    assert_eq!(
        deleted,
        vec![Err((
            "orders".to_string(),
            RDKafkaErrorCode::UnknownTopicOrPartition
        ))]
    );
    let topics = tokio::task::block_in_place(|| listed_topics(&consumer));
    assert!(
        !topics.contains_key("orders"),
        "deleted topic still listed: {topics:?}"
    );

    // The name is free again.
    assert_eq!(
        create(NewTopic::new("orders", 2, TopicReplication::Fixed(1))).await,
        Ok("orders".to_string())
    );
    let topics = tokio::task::block_in_place(|| listed_topics(&consumer));
    assert_eq!(topics.get("orders"), Some(&2));
}

#[tokio::test(flavor = "multi_thread")]
async fn producing_to_unknown_topic_auto_creates_it_with_num_partitions() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let producer = producer(&bootstrap, &[]);
    let delivery = producer
        .send(
            FutureRecord::to("made-on-demand").key("k").payload("first"),
            WAIT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to a new topic: {e}"));
    assert_eq!(delivery.offset, 0);

    let consumer = consumer(&bootstrap);
    let topics = tokio::task::block_in_place(|| listed_topics(&consumer));
    assert_eq!(
        topics.get("made-on-demand"),
        Some(&3),
        "metadata: {topics:?}"
    );
    let messages = read_partition(&bootstrap, "made-on-demand", delivery.partition, 1).await;
    assert_eq!(values_of(&messages), vec!["first".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn consumer_waiting_at_log_end_receives_record_produced_later() {
    // How long the broker may park the consumer's fetch (fetch.wait.max.ms).
    const PARKED: Duration = Duration::from_secs(10);
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let topic = "long-poll";
    create_topic(&bootstrap, topic, 1, WAIT).await;
    let producer = producer(&bootstrap, &[]);
    produce_values(&producer, topic, 0, "early", 3).await;

    let stats = Stats::default();
    let consumer: StreamConsumer<Stats> = Stats::enable(&mut consumer_config(&bootstrap))
        .set("fetch.wait.max.ms", PARKED.as_millis().to_string())
        .create_with_context(stats.clone())
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(3))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let waiter = tokio::spawn(async move {
        let message = timeout(WAIT, consumer.recv())
            .await
            .expect("no record reached the waiting consumer")
            .expect("consume");
        (message.offset(), text(message.payload()), Instant::now())
    });

    // Append only once the consumer is at the log end with a fetch in flight (parked by the
    // broker for up to fetch.wait.max.ms).
    wait_for("a fetch in flight from offset 3", WAIT, || {
        stats.fetch_in_flight(topic, 0) == Some(3)
    })
    .await;
    let appended = Instant::now();
    producer
        .send(
            FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload("late"),
            WAIT,
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce late record: {e}"));
    let (offset, value, received) = waiter.await.unwrap();
    assert_eq!((offset, value.as_deref()), (3, Some("late")));
    // The append woke the parked fetch: the record did not wait for the fetch to time out.
    let waited = received - appended;
    assert!(
        waited < PARKED / 2,
        "the record arrived {waited:?} after the append: the parked fetch was not woken"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn acks_0_1_and_all_all_deliver() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    for acks in ["0", "1", "all"] {
        let topic = format!("acks-{acks}");
        create_topic(&bootstrap, &topic, 1, WAIT).await;
        let producer = producer(&bootstrap, &[("acks", acks)]);
        let values = produce_values(&producer, &topic, 0, &format!("acks{acks}"), 10).await;
        let messages = read_partition(&bootstrap, &topic, 0, values.len()).await;
        assert_contiguous_from_zero(&messages, &topic);
        assert_eq!(values_of(&messages), values, "acks={acks}");
    }
}
