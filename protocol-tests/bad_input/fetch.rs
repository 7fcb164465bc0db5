//! Fetch requests that would make the broker copy data it then drops. Kafka merges a partition
//! listed several times in one Fetch into one entry, and reads from a partition only what fits
//! the response (the first partition with data excepted, KIP-74). No client sends such
//! requests, so they are built by hand; what the broker read is taken from its process's
//! `/proc/<pid>/io` (`rchar`: bytes read by read and pread calls, segment files included).

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProduceRequest};

use crate::support::broker::ProcessBroker;
use crate::support::raw::*;

/// Value bytes of the one record of each large batch (a batch just under 1 MB, within the
/// default message.max.bytes).
const LARGE_VALUE: usize = 1_000_000;

/// Bytes the process has read so far (files and sockets).
fn read_so_far(broker: &ProcessBroker) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{}/io", broker.child.id()))
        .expect("read /proc/<pid>/io (Linux only)");
    io.lines()
        .find_map(|l| l.strip_prefix("rchar:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rchar line in /proc/<pid>/io")
}

/// A `weir serve` process with `partitions` partitions of `topic`, each holding one large
/// batch at offset 0, and a client connected to it.
async fn broker_with_large_batches(
    dir: &std::path::Path,
    topic: &str,
    partitions: i32,
) -> (ProcessBroker, RawClient, Bytes) {
    let broker = ProcessBroker::spawn(dir, &[]);
    let mut client = RawClient::connect(broker.addr).await;
    client.create_topic(topic, partitions, &[]).await;
    let batch = valid_batch(1, LARGE_VALUE).freeze();
    let version = client.version::<ProduceRequest>(9);
    for p in 0..partitions {
        let acked = client
            .produce(version, topic, vec![(p, batch.clone())])
            .await;
        assert_eq!(acked, vec![(p, code::NONE, 0)], "produce to partition {p}");
    }
    (broker, client, batch)
}

fn fetch_of(topic: &str, entries: Vec<FetchPartition>) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(entries)])
}

fn entry(partition: i32, partition_max_bytes: i32) -> FetchPartition {
    FetchPartition::default()
        .with_partition(partition)
        .with_fetch_offset(0)
        .with_partition_max_bytes(partition_max_bytes)
}

/// (partition, error code, record bytes) of every partition answered, in order.
fn answered(response: &FetchResponse) -> Vec<(i32, i16, Bytes)> {
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| {
            (
                p.partition_index,
                p.error_code,
                p.records.clone().expect("records are never null"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partition_listed_many_times_in_one_fetch_is_answered_and_read_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (broker, mut client, batch) = broker_with_large_batches(dir.path(), "twice", 1).await;
    let version = client.version::<FetchRequest>(12);
    // 2,000 entries for the same partition, each asking for one byte: the first is answered
    // whole (KIP-74), the others are the same partition again.
    let request = fetch_of("twice", (0..2000).map(|_| entry(0, 1)).collect());
    let before = read_so_far(&broker);
    let response = client.call(version, &request).await;
    let read = read_so_far(&broker) - before;

    let answered = answered(&response);
    assert_eq!(
        answered.len(),
        1,
        "the repeated partition must be answered once, not {} times",
        answered.len()
    );
    let (partition, error, records) = &answered[0];
    assert_eq!((*partition, *error), (0, code::NONE));
    assert_eq!(&records[8..], &batch[8..], "the stored batch, whole");
    // One batch and the request, not 2,000 copies of the batch (2 GB).
    assert!(
        read < 4 * LARGE_VALUE as u64,
        "the broker read {read} bytes to answer one batch"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn later_partitions_of_a_fetch_read_only_what_fits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (broker, mut client, batch) = broker_with_large_batches(dir.path(), "fits", 21).await;
    let version = client.version::<FetchRequest>(12);
    // Partition 0 is the first with data and comes back whole; the 20 others ask for one byte
    // each, which none of their batches fits.
    let mut entries = vec![entry(0, 2 << 20)];
    entries.extend((1..21).map(|p| entry(p, 1)));
    let before = read_so_far(&broker);
    let response = client.call(version, &fetch_of("fits", entries)).await;
    let read = read_so_far(&broker) - before;

    let answered = answered(&response);
    assert_eq!(answered.len(), 21);
    assert_eq!(&answered[0].2[8..], &batch[8..], "partition 0 whole");
    for (partition, error, records) in &answered[1..] {
        assert_eq!(*error, code::NONE, "partition {partition}");
        assert!(
            records.is_empty(),
            "partition {partition}: a 1 MB batch returned for a 1-byte limit"
        );
    }
    // Partition 0's batch, not the 20 batches that were dropped (20 MB).
    assert!(
        read < 4 * LARGE_VALUE as u64,
        "the broker read {read} bytes to answer one batch"
    );
}
