//! rdkafka: a compacted topic through its whole life.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use super::{latest, read_all, CompactingBroker};
use crate::support::raw::{topic_name, RawClient};
use crate::support::rdkafka_clients::producer;

const KEYS: usize = 1_000;
const RECORDS: usize = 200_000;
const DELETED: usize = 100;
const DELETE_RETENTION_MS: u64 = 60_000;

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client")
}

async fn log_dir_size(bootstrap: &str, topic: &str) -> i64 {
    let mut raw = RawClient::connect(bootstrap.parse().unwrap()).await;
    let request =
        DescribeLogDirsRequest::default()
            .with_topics(Some(vec![DescribableLogDirTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![0])]));
    let response: DescribeLogDirsResponse = raw.call(1, &request).await;
    response.results[0].topics[0].partitions[0].partition_size
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compacted_topic_keeps_the_latest_value_of_each_live_key_and_drops_tombstones_after_delete_retention(
) {
    let broker = CompactingBroker::start(&[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "table";
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.bytes", "262144")
        .set("min.cleanable.dirty.ratio", "0.01")
        .set("delete.retention.ms", "60000");
    let created = admin(&bootstrap)
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");

    // An idempotent producer keeps producing while passes run and swap segments under it.
    let p = producer(
        &bootstrap,
        &[("enable.idempotence", "true"), ("compression.type", "lz4")],
    );
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut acks = Vec::with_capacity(RECORDS + DELETED);
    for i in 0..RECORDS {
        let key = format!("key-{}", i % KEYS);
        let value = format!("value-{i}");
        expected.insert(key.clone(), Some(value.clone()));
        let record = FutureRecord::to(topic).key(&key).payload(&value);
        acks.push(p.send_result(record).map_err(|(e, _)| e).expect("queued"));
        if i % 20_000 == 0 {
            // Let some passes run in the middle of production.
            for ack in acks.drain(..) {
                ack.await.expect("delivered").expect("acknowledged");
            }
        }
    }
    for i in 0..DELETED {
        let key = format!("key-{i}");
        expected.insert(key.clone(), None);
        let record = FutureRecord::<String, String>::to(topic).key(&key);
        acks.push(p.send_result(record).map_err(|(e, _)| e).expect("queued"));
    }
    for ack in acks {
        ack.await
            .expect("delivered")
            .expect("acknowledged: no OUT_OF_ORDER_SEQUENCE_NUMBER across cleaning");
    }
    let size_before = log_dir_size(&bootstrap, topic).await;

    // Roll the active segment (segment.ms on the broker clock) so every record is cleanable.
    broker.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let since = broker.clock.now_ms();
    let end = FutureRecord::to(topic).key("end").payload("end");
    p.send(end, Duration::from_secs(10))
        .await
        .expect("end record");
    broker.wait_clean(topic, since).await;

    let records = read_all(&bootstrap, topic);
    let mut want = expected.clone();
    want.insert("end".into(), Some("end".into()));
    assert_eq!(
        records.len(),
        KEYS + 1,
        "one record per key (tombstones still there)"
    );
    assert_eq!(latest(&records), want);
    assert!(
        records.windows(2).all(|w| w[0].0 < w[1].0),
        "offsets only increase"
    );
    // Passes ran during production too, so how much the log held before this one varies; what
    // is left is about one record per key (a log of every record would hold megabytes).
    let size_after = log_dir_size(&bootstrap, topic).await;
    assert!(
        size_after < size_before && size_after < (KEYS as i64 + 1) * 64,
        "DescribeLogDirs: {size_before} bytes before cleaning, {size_after} after"
    );

    // Once delete.retention.ms has passed the tombstones go, and so do their keys.
    let since = broker.clock.now_ms();
    broker
        .clock
        .advance(Duration::from_millis(DELETE_RETENTION_MS + 1));
    broker.wait_clean(topic, since).await;
    let records = read_all(&bootstrap, topic);
    assert_eq!(records.len(), KEYS - DELETED + 1);
    want.retain(|_, v| v.is_some());
    assert_eq!(latest(&records), want);
    assert!(records.windows(2).all(|w| w[0].0 < w[1].0));

    // Keyless records are refused as Kafka refuses them.
    let keyless = FutureRecord::<(), str>::to(topic).payload("no key");
    let err = p
        .send(keyless, Duration::from_secs(10))
        .await
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_a_topic_between_delete_and_compact_does_what_kafka_does() {
    let broker = CompactingBroker::start(&[("log.retention.check.interval.ms", "1000")]).await;
    let bootstrap = broker.bootstrap();
    let topic = "switched";
    let new = NewTopic::new(topic, 1, TopicReplication::Fixed(1))
        .set("segment.bytes", "4096")
        .set("min.cleanable.dirty.ratio", "0.01");
    let admin = admin(&bootstrap);
    assert!(admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap()[0]
        .is_ok());
    let p = producer(&bootstrap, &[]);
    // delete: keyless records are fine and nothing is compacted.
    let keyless = FutureRecord::<(), str>::to(topic).payload("no key");
    p.send(keyless, Duration::from_secs(10))
        .await
        .expect("keyless accepted under delete");
    for i in 0..300 {
        let (k, v) = (format!("k{}", i % 3), format!("v{i}"));
        p.send(
            FutureRecord::to(topic).key(&k).payload(&v),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    }
    assert!(
        broker.partition(topic, 0).dirtiness().is_none(),
        "not compacted"
    );

    let alter = |policy: &'static str| {
        AlterConfig::new(ResourceSpecifier::Topic(topic)).set("cleanup.policy", policy)
    };
    let changed = admin
        .alter_configs([&alter("compact")], &AdminOptions::new())
        .await
        .unwrap();
    assert!(changed[0].is_ok(), "{changed:?}");
    let keyless = FutureRecord::<(), str>::to(topic).payload("no key");
    let err = p
        .send(keyless, Duration::from_secs(10))
        .await
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord)
    );
    // The whole log is dirty now; the cleaner compacts it (the keyless record goes too, as in
    // Kafka).
    let since = broker.clock.now_ms();
    broker.clock.advance(Duration::from_secs(7 * 24 * 3600));
    p.send(
        FutureRecord::to(topic).key("end").payload("end"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    broker.wait_clean(topic, since).await;
    let records = read_all(&bootstrap, topic);
    let keys: Vec<&str> = records.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(keys, ["k0", "k1", "k2", "end"], "{records:?}");

    // Back to delete: keyless records are accepted again and the cleaner leaves the log alone.
    let changed = admin
        .alter_configs([&alter("delete")], &AdminOptions::new())
        .await
        .unwrap();
    assert!(changed[0].is_ok());
    let keyless = FutureRecord::<(), str>::to(topic).payload("no key");
    p.send(keyless, Duration::from_secs(10))
        .await
        .expect("keyless accepted again");
    assert!(broker.partition(topic, 0).dirtiness().is_none());
    // compact,delete: retention applies besides compaction.
    let changed = admin
        .alter_configs([&alter("compact,delete")], &AdminOptions::new())
        .await
        .unwrap();
    assert!(changed[0].is_ok());
    assert!(broker.partition(topic, 0).dirtiness().is_some());
}
