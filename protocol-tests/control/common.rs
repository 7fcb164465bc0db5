//! What the control-plane tests share: a broker with its control plane, and reading a topic
//! back whole.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use weir::control::ControlHandle;
use weir::BrokerHandle;

/// A broker on port 0 in a temporary folder with its control plane, no delay before a new
/// group's first rebalance, and `settings` on top.
pub async fn control_broker(settings: &[(&str, &str)]) -> (BrokerHandle, ControlHandle) {
    let mut builder = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .control()
        .set("group.initial.rebalance.delay.ms", "0");
    for (key, value) in settings {
        builder = builder.set(key, value);
    }
    let broker = builder.start().await.expect("broker starts");
    let control = broker.control().expect("control plane enabled");
    (broker, control)
}

/// Every record of `topic` (partitions `0..partitions`) as value -> (partition, offset), read
/// from offset 0 until `count` records arrived; fails after `wait`. Blocking.
pub fn read_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    wait: Duration,
) -> BTreeMap<String, Vec<(i32, i64)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "weir-control-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("create reader");
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .expect("assign");
    }
    consumer.assign(&assignment).expect("assign");
    let mut seen: BTreeMap<String, Vec<(i32, i64)>> = BTreeMap::new();
    let mut total = 0;
    let deadline = Instant::now() + wait;
    while total < count {
        assert!(
            Instant::now() < deadline,
            "read {total} of {count} records of {topic} in {wait:?}"
        );
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("consume");
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            seen.entry(value)
                .or_default()
                .push((m.partition(), m.offset()));
            total += 1;
        }
    }
    seen
}

/// Asserts `seen` holds each of `values` exactly once and nothing else.
pub fn assert_each_once(seen: &BTreeMap<String, Vec<(i32, i64)>>, values: &[String]) {
    for v in values {
        match seen.get(v).map(Vec::len) {
            Some(1) => {}
            Some(n) => panic!("{v} stored {n} times: {:?}", seen[v]),
            None => panic!("{v} was lost"),
        }
    }
    assert_eq!(seen.len(), values.len(), "records nobody sent: {seen:?}");
}
