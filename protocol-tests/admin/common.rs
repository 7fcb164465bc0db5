//! Helpers shared by the admin tests: a raw connection, producing with rdkafka, reading broker
//! state.

use std::time::Duration;

use rdkafka::producer::FutureRecord;

use crate::support::broker::TestBroker;
use crate::support::raw::RawClient;
use crate::support::rdkafka_clients::producer;

/// A raw connection for exact checks: one request at a chosen version, nothing sent first.
pub async fn connect_raw(addr: std::net::SocketAddr) -> RawClient {
    RawClient::open(addr, "weir-admin-raw").await
}

/// Produces `count` records to `topic`/`partition`, one batch each (nothing lingers), and
/// returns their offsets.
pub async fn produce(bootstrap: &str, topic: &str, partition: i32, count: usize) -> Vec<i64> {
    let producer = producer(bootstrap, &[("linger.ms", "0")]);
    let mut offsets = Vec::with_capacity(count);
    for i in 0..count {
        let value = format!("value-{i}-{}", "x".repeat(64));
        let key = format!("key-{i}");
        let record = FutureRecord::to(topic)
            .partition(partition)
            .key(&key)
            .payload(&value);
        let delivery = producer
            .send(record, Duration::from_secs(20))
            .await
            .unwrap_or_else(|(e, _)| panic!("produce to {topic}/{partition}: {e}"));
        offsets.push(delivery.offset);
    }
    offsets
}

/// The overrides `topics.json` holds for `topic`, read from disk.
pub fn persisted_configs(broker: &TestBroker, topic: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(broker.dir.path().join("topics.json")).expect("topics.json");
    let file: serde_json::Value = serde_json::from_str(&text).expect("topics.json is JSON");
    file["topics"]
        .as_array()
        .expect("topics array")
        .iter()
        .find(|t| t["name"] == topic)
        .unwrap_or_else(|| panic!("{topic} is not in topics.json: {text}"))
        .clone()
}
