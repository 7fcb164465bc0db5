//! Transactions (issue 13) with real clients: the Java client's exactly-once pipeline with
//! transactions v2 and v1, the transactional APIs of confluent-kafka and kafka-python,
//! read_committed in every client that has it (rdkafka, confluent-kafka, Java, kafka-python,
//! aiokafka, Debian's kcat), zombie fencing, timeouts on a manual clock, hostile requests to
//! every transactional API, `weir txn`, and kill -9 of the broker in the middle of
//! transactions.

pub(crate) mod bad_input;
mod cli;
mod clients;
mod crash;
mod features;
mod java;
mod offline;
mod offsets;
mod rdkafka_txn;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::support::raw::{topic_name, RawClient};

/// How long any one step may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A transactional rdkafka producer, initialised.
pub fn txn_producer(
    bootstrap: &str,
    transactional_id: &str,
    settings: &[(&str, &str)],
) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", transactional_id)
        .set("linger.ms", "5");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let producer: FutureProducer = config.create().expect("create transactional producer");
    producer.init_transactions(WAIT).expect("init_transactions");
    producer
}

/// One transaction of `values` to `topic` (partition by key `i % partitions`), committed or
/// aborted. Blocking.
pub fn transaction(producer: &FutureProducer, topic: &str, values: &[String], commit: bool) {
    producer.begin_transaction().expect("begin_transaction");
    let mut deliveries = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let key = format!("k{i}");
        let record = FutureRecord::to(topic).key(&key).payload(v);
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("enqueue"),
        );
    }
    if commit {
        producer
            .commit_transaction(WAIT)
            .expect("commit_transaction");
    } else {
        producer.flush(WAIT).expect("flush");
        producer.abort_transaction(WAIT).expect("abort_transaction");
    }
    drop(deliveries);
}

/// Every value of `topic` (all `partitions`) from the beginning, read by librdkafka at
/// read_committed or read_uncommitted until the end it can fetch. Blocking.
pub fn read_values(bootstrap: &str, topic: &str, partitions: i32, committed: bool) -> Vec<String> {
    read_records(bootstrap, topic, partitions, committed)
        .into_iter()
        .map(|(_, value)| value)
        .collect()
}

/// [`read_values`] with each record's key: (key, value) pairs in the order read.
pub fn read_records(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    committed: bool,
) -> Vec<(String, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "txn-reader")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .set(
            "isolation.level",
            if committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let mut values = Vec::new();
    let mut at_end = std::collections::BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while at_end.len() < partitions as usize {
        assert!(
            Instant::now() < deadline,
            "{topic}: no end of partitions within {WAIT:?}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                values.push((text(m.key()), text(m.payload())));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("consume {topic}: {e}"),
        }
    }
    values
}

/// (last stable offset, high watermark) of a partition, from ListOffsets at read_committed
/// and read_uncommitted.
pub async fn stable_and_end(addr: SocketAddr, topic: &str, partition: i32) -> (i64, i64) {
    let mut client = RawClient::connect(addr).await;
    let at = |isolation: i8| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(isolation)
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(-1)])])
    };
    let committed = client.call(5, &at(1)).await;
    let uncommitted = client.call(5, &at(0)).await;
    let offset = |r: &kafka_protocol::messages::ListOffsetsResponse| {
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0, "ListOffsets {topic}/{partition}");
        p.offset
    };
    (offset(&committed), offset(&uncommitted))
}

/// Waits until every partition's last stable offset reached its high watermark.
pub async fn wait_stable(addr: SocketAddr, topic: &str, partitions: i32) {
    let deadline = Instant::now() + WAIT;
    for p in 0..partitions {
        loop {
            let (stable, end) = stable_and_end(addr, topic, p).await;
            if stable == end {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{topic}/{p}: stable at {stable}, end {end}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `values` sorted, for comparing what was read with what was committed.
pub fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}
