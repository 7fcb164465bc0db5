//! What the suite does itself, around the clients under test: topics, the records group and
//! seek scenarios read (written with rdkafka), and a raw Fetch that shows each stored batch's
//! codec and producer id.

use std::net::SocketAddr;
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

pub const WAIT: Duration = Duration::from_secs(30);

/// Runs a future from a blocking thread of the test's runtime (cells run on the blocking pool).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

pub fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    block_on(crate::support::topics::create_topic(
        bootstrap, name, partitions, WAIT,
    ));
}

/// Writes `records` (partition, key, timestamp) with rdkafka and returns (partition, offset)
/// of each, in order.
pub fn write(bootstrap: &str, topic: &str, records: &[(i32, String, i64)]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "20000")
        .set("linger.ms", "5")
        .create()
        .expect("create producer");
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

/// The group's committed offset per partition (-1 when none), read by a consumer that never
/// joins the group.
pub fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, WAIT).expect("OffsetFetch");
    got.elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => -1,
        })
        .collect()
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
        let records = crate::support::clients::fetched_records(addr, topic, partition).await;
        let mut rest = &records[..];
        // baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8, crc u32,
        // attributes i16, lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64,
        // producerId i64, producerEpoch i16, baseSequence i32, records i32
        while rest.len() >= 61 {
            let len = i32::from_be_bytes(rest[8..12].try_into().expect("4 bytes"));
            let total = 12 + usize::try_from(len).expect("batch length");
            if rest.len() < total {
                break;
            }
            let be_i64 = |at: usize| i64::from_be_bytes(rest[at..at + 8].try_into().expect("8"));
            let be_i32 = |at: usize| i32::from_be_bytes(rest[at..at + 4].try_into().expect("4"));
            out.push(Batch {
                partition,
                codec: i16::from_be_bytes([rest[21], rest[22]]) & 0x07,
                producer_id: be_i64(43),
                base_sequence: be_i32(53),
                records: be_i32(57),
            });
            rest = &rest[total..];
        }
    }
    out
}
