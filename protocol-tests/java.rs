//! The Apache Kafka Java client 4.3 against weir, through the small programs in
//! `protocol-tests/java/`: the producer with its defaults (idempotent, acks=all), a consumer
//! without a group (assign + seek), and every compression codec.

use std::collections::BTreeMap;

use crate::support::broker::TestBroker;
use crate::support::clients::{
    assert_batches_compressed, assert_consumed_what_was_acked, blocking, java, parse_acks,
    parse_received, Acked, Received,
};

/// Runs `ProduceKeyed BOOTSTRAP TOPIC COUNT extra...` and returns its acks in send order.
async fn produce(bootstrap: &str, topic: &str, count: usize, extra: &[&str]) -> Vec<Acked> {
    let mut args = vec![bootstrap.to_string(), topic.to_string(), count.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        java("ProduceKeyed", &args)
    })
    .await;
    let acks = parse_acks(&output);
    assert_eq!(acks.len(), count, "acks: {acks:?}");
    acks
}

/// Runs `ConsumeAssigned BOOTSTRAP TOPIC EXPECTED extra...` and returns what it received.
async fn consume(bootstrap: &str, topic: &str, expected: usize, extra: &[&str]) -> Vec<Received> {
    let mut args = vec![
        bootstrap.to_string(),
        topic.to_string(),
        expected.to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        java("ConsumeAssigned", &args)
    })
    .await;
    parse_received(&output)
}

#[tokio::test(flavor = "multi_thread")]
async fn java_idempotent_producer_records_with_headers_read_back_in_order_by_assigned_consumer() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let acks = produce(&bootstrap, "java-keyed", 120, &["--keys", "9"]).await;
    let partitions: std::collections::BTreeSet<i32> = acks.iter().map(|a| a.partition).collect();
    assert!(
        partitions.len() > 1,
        "9 keys should spread over 3 partitions: {partitions:?}"
    );

    let received = consume(&bootstrap, "java-keyed", acks.len(), &[]).await;
    assert_consumed_what_was_acked(&acks, &received, "java");
}

#[tokio::test(flavor = "multi_thread")]
async fn java_consumer_seek_starts_a_partition_at_the_given_offset() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let acks = produce(&bootstrap, "java-seek", 90, &["--keys", "9"]).await;

    let mut per_partition: BTreeMap<i32, i64> = BTreeMap::new();
    for ack in &acks {
        *per_partition.entry(ack.partition).or_default() += 1;
    }
    let (&partition, &count) = per_partition
        .iter()
        .max_by_key(|(_, count)| **count)
        .expect("some partition");
    let start = count / 2;
    let expected = acks.len() - usize::try_from(start).expect("small");

    let seek = format!("{partition}:{start}");
    let received = consume(&bootstrap, "java-seek", expected, &["--seek", &seek]).await;
    let offsets: Vec<i64> = received
        .iter()
        .filter(|r| r.partition == partition)
        .map(|r| r.offset)
        .collect();
    assert_eq!(
        offsets,
        (start..count).collect::<Vec<_>>(),
        "partition {partition} after seek to {start}"
    );
    for record in &received {
        let ack = acks
            .iter()
            .find(|a| a.partition == record.partition && a.offset == record.offset)
            .unwrap_or_else(|| panic!("never acked: {record:?}"));
        assert_eq!((&record.key, &record.value), (&ack.key, &ack.value));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn java_idempotent_producer_appends_after_a_broker_restart() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let before = produce(&broker.bootstrap(), "java-restart", 30, &["--keys", "3"]).await;
    let broker = broker.restart(&[("num.partitions", "3")]).await;
    // A new producer (new producer id) continues every partition where the old one stopped.
    let after = produce(&broker.bootstrap(), "java-restart", 30, &["--keys", "3"]).await;
    for ack in &after {
        let last_before = before
            .iter()
            .filter(|a| a.partition == ack.partition)
            .map(|a| a.offset)
            .max()
            .unwrap_or(-1);
        assert!(
            ack.offset > last_before,
            "{ack:?} does not follow offset {last_before} written before the restart"
        );
    }
    let received = consume(&broker.bootstrap(), "java-restart", 60, &[]).await;
    assert_eq!(received.len(), 60);
}

/// Produces compressible records with `compression.type=codec`, checks that the stored batches
/// carry that codec, and reads them back with the Java consumer.
async fn compressed_round_trip(codec: &str, codec_id: i16) {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let topic = format!("java-{codec}");
    let acks = produce(
        &bootstrap,
        &topic,
        200,
        &["--compression", codec, "--value-size", "300"],
    )
    .await;

    assert_batches_compressed(broker.addr(), &topic, 3, codec, codec_id).await;

    let received = consume(&bootstrap, &topic, acks.len(), &[]).await;
    assert_consumed_what_was_acked(&acks, &received, "java");
}

#[tokio::test(flavor = "multi_thread")]
async fn java_gzip_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("gzip", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn java_snappy_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("snappy", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn java_lz4_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("lz4", 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn java_zstd_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("zstd", 4).await;
}
