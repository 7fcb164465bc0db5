//! What the suite does itself, around the clients under test: the records group and seek
//! scenarios read (written with rdkafka), and a raw Fetch that shows each stored batch's codec
//! and producer id.

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::producer::FutureRecord;

use crate::support::clients::fetched_records;
use crate::support::raw::stored_batches;
use crate::support::rdkafka_clients::producer;

pub const WAIT: Duration = Duration::from_secs(30);

/// Runs a future from a blocking thread of the test's runtime (cells run on the blocking pool).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

/// Writes `records` (partition, key, timestamp) with rdkafka and returns (partition, offset)
/// of each, in order.
pub fn write(bootstrap: &str, topic: &str, records: &[(i32, String, i64)]) -> Vec<(i32, i64)> {
    let producer = producer(bootstrap, &[]);
    block_on(async {
        let mut pending = Vec::new();
        for (partition, key, timestamp) in records {
            let record = FutureRecord::to(topic)
                .partition(*partition)
                .key(key)
                .payload(key)
                .timestamp(*timestamp);
            pending.push(producer.send_result(record).expect("queue record"));
        }
        let mut acked = Vec::new();
        for delivery in pending {
            let delivery = tokio::time::timeout(WAIT, delivery)
                .await
                .expect("delivery timed out")
                .expect("delivery future")
                .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
            acked.push((delivery.partition, delivery.offset));
        }
        acked
    })
}

/// One stored record batch, as a raw Fetch returns it.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    pub partition: i32,
    pub codec: i16,
    pub producer_id: i64,
    pub base_sequence: i32,
    pub records: i32,
}

pub const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];

pub fn codec_id(codec: &str) -> i16 {
    CODECS
        .iter()
        .position(|c| *c == codec)
        .map(|i| i as i16)
        .unwrap_or_else(|| panic!("unknown codec {codec}"))
}

/// Every batch of `partitions` partitions of `topic`, read with one raw Fetch v4 each.
pub async fn batches(addr: SocketAddr, topic: &str, partitions: i32) -> Vec<Batch> {
    let mut out = Vec::new();
    for partition in 0..partitions {
        let records = fetched_records(addr, topic, partition).await;
        out.extend(stored_batches(&records).into_iter().map(|b| Batch {
            partition,
            codec: b.codec(),
            producer_id: b.producer_id,
            base_sequence: b.base_sequence,
            records: b.records,
        }));
    }
    out
}
