//! A failed fsync takes the partition offline. After a failed fsync the kernel may have dropped
//! the pages it could not write, so what the broker would read back may never reach the disk:
//! Kafka stops serving the log (its log directory goes offline) and answers
//! KAFKA_STORAGE_ERROR until a restart recovers it from what is really on disk. weir takes the
//! one partition offline (its data folder holds every partition; the others find out at their
//! own fsync). The failure is injected with the log's fault hook, in process.

use kafka_protocol::messages::{MetadataRequest, ProduceRequest};
use weir::log::faults::{self, Point, Rule};

use crate::support::broker::TestBroker;
use crate::support::raw::*;

const KAFKA_STORAGE_ERROR: i16 = 56;
const LEADER_NOT_AVAILABLE: i16 = 5;
/// Every produce is fsynced before it is answered.
const SETTINGS: &[(&str, &str)] = &[("log.flush.interval.messages", "1")];

fn one_record() -> bytes::Bytes {
    valid_batch(1, 10).freeze()
}

/// (error code, leader id, offline replicas) of each partition of `topic`, by index.
async fn partition_metadata(client: &mut RawClient, topic: &str) -> Vec<(i16, i32, Vec<i32>)> {
    let version = client.version::<MetadataRequest>(9);
    let request = MetadataRequest::default().with_topics(Some(vec![
        kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
            .with_name(Some(topic_name(topic))),
    ]));
    let response = client.call(version, &request).await;
    let mut partitions: Vec<_> = response.topics[0]
        .partitions
        .iter()
        .map(|p| {
            (
                p.partition_index,
                p.error_code,
                p.leader_id.0,
                p.offline_replicas.iter().map(|r| r.0).collect::<Vec<_>>(),
            )
        })
        .collect();
    partitions.sort();
    partitions
        .into_iter()
        .map(|(_, e, l, o)| (e, l, o))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_fsync_takes_the_partition_offline_until_a_restart() {
    let broker = TestBroker::start_with(SETTINGS).await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("sick", 2, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    let produce = |p: i32| (p, one_record());
    for p in [0, 1] {
        let acked = client.produce(version, "sick", vec![produce(p)]).await;
        assert_eq!(acked, vec![(p, code::NONE, 0)]);
    }
    let node = partition_metadata(&mut client, "sick").await[0].1;

    // One fsync of partition 0 fails; the disk works again right after.
    let fault = faults::arm(Rule::once(Point::Fsync, &broker.dir.path().join("sick-0")));
    let acked = client.produce(version, "sick", vec![produce(0)]).await;
    assert_eq!(
        acked[0].1, KAFKA_STORAGE_ERROR,
        "the produce whose fsync failed"
    );
    assert_eq!(fault.failed(), 1);
    drop(fault);

    // Partition 0 serves nothing, not even what it holds in memory...
    let acked = client.produce(version, "sick", vec![produce(0)]).await;
    assert_eq!(
        acked[0].1, KAFKA_STORAGE_ERROR,
        "produce to the offline partition"
    );
    let (error, _, _) = client.fetch("sick", 0, 0).await;
    assert_eq!(
        error, KAFKA_STORAGE_ERROR,
        "fetch from the offline partition"
    );
    let (error, _) = client.list_offsets("sick", 0, -1).await;
    assert_eq!(
        error, KAFKA_STORAGE_ERROR,
        "ListOffsets of the offline partition"
    );
    let metadata = partition_metadata(&mut client, "sick").await;
    assert_eq!(
        metadata[0],
        (LEADER_NOT_AVAILABLE, -1, vec![node]),
        "Metadata shows partition 0 without a leader, its replica offline"
    );
    // ...while partition 1 carries on.
    assert_eq!(metadata[1], (code::NONE, node, vec![]));
    let acked = client.produce(version, "sick", vec![produce(1)]).await;
    assert_eq!(acked, vec![(1, code::NONE, 1)]);
    let (error, high, records) = client.fetch("sick", 1, 0).await;
    assert_eq!((error, high), (code::NONE, 2));
    assert!(!records.is_empty());

    // A restart recovers partition 0 from its files: the acknowledged record is there and it
    // takes records again.
    let broker = broker.restart(SETTINGS).await;
    let mut client = RawClient::connect(broker.addr()).await;
    let (error, high, records) = client.fetch("sick", 0, 0).await;
    assert_eq!(error, code::NONE);
    assert!(high >= 1 && !records.is_empty(), "high watermark {high}");
    let acked = client.produce(version, "sick", vec![produce(0)]).await;
    assert_eq!((acked[0].1, acked[0].2), (code::NONE, high));
    assert_eq!(
        partition_metadata(&mut client, "sick").await[0].0,
        code::NONE
    );
}
