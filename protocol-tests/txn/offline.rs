//! A transaction over a partition that a failed fsync took offline. Its transactional produce
//! is refused with KAFKA_STORAGE_ERROR; a commit decided while the partition is offline stays
//! in PrepareCommit (the marker kept for a retry, as Kafka retries KAFKA_STORAGE_ERROR) rather
//! than completing without it, and the restart writes the marker, so the records the
//! transaction committed there are read at read_committed and none is aborted.

use weir::log::faults::{self, Point, Rule};

use super::bad_input::{add, batch, end, init, produce};
use super::{read_values, sorted, stable_and_end, wait_stable};
use crate::support::broker::TestBroker;
use crate::support::clients::blocking;
use crate::support::raw::{encode_one_batch, sample_records, RawClient};

const NONE: i16 = 0;
const CONCURRENT_TRANSACTIONS: i16 = 51;
const KAFKA_STORAGE_ERROR: i16 = 56;
/// Every append is fsynced before it is answered.
const SETTINGS: &[(&str, &str)] = &[
    ("log.flush.interval.messages", "1"),
    ("transaction.max.timeout.ms", "60000"),
];
const TOPIC: &str = "txn-offline";

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_over_an_offline_partition_is_finished_by_the_restart() {
    let broker = TestBroker::start_with(SETTINGS).await;
    let mut c = RawClient::connect(broker.addr()).await;
    c.create_topic(TOPIC, 2, &[]).await;
    let (code, pid, epoch) = init(&mut c, 4, "sick", 60_000, (-1, -1)).await;
    assert_eq!(code, NONE);
    assert_eq!(
        add(&mut c, 3, "sick", pid, epoch, &[(TOPIC, 0), (TOPIC, 1)]).await,
        vec![NONE, NONE]
    );
    for p in [0, 1] {
        let records = batch(pid, epoch, 0, 2, true);
        assert_eq!(
            produce(&mut c, 9, Some("sick"), (TOPIC, p), records).await,
            NONE
        );
    }

    // Another producer's append to partition 0 fails its fsync: the partition goes offline
    // with the transaction's two records acknowledged in it.
    let fault = faults::arm(Rule::once(
        Point::Fsync,
        &broker.dir.path().join(format!("{TOPIC}-0")),
    ));
    let mut plain = sample_records(1, 10);
    plain[0].value = Some("plain".into());
    let plain = encode_one_batch(plain).freeze();
    assert_eq!(
        produce(&mut c, 9, None, (TOPIC, 0), plain).await,
        KAFKA_STORAGE_ERROR
    );
    assert_eq!(fault.failed(), 1);
    drop(fault);
    let more = batch(pid, epoch, 2, 1, true);
    assert_eq!(
        produce(&mut c, 9, Some("sick"), (TOPIC, 0), more).await,
        KAFKA_STORAGE_ERROR,
        "a transactional produce to the offline partition"
    );

    // The commit is decided (Kafka answers EndTxn once PrepareCommit is written); partition 1
    // takes its marker, partition 0 cannot, so the transaction is not complete.
    let (code, _, _) = end(&mut c, 3, "sick", pid, epoch, true).await;
    assert_eq!(code, NONE);
    let (stable, high) = stable_and_end(broker.addr(), TOPIC, 1).await;
    assert_eq!(
        (stable, high),
        (3, 3),
        "partition 1: two records and the marker"
    );
    assert_eq!(
        init(&mut c, 4, "sick", 60_000, (pid, epoch)).await.0,
        CONCURRENT_TRANSACTIONS,
        "still in PrepareCommit, its marker to partition 0 pending"
    );

    // The restart recovers partition 0 from its files and finishes the commit there.
    let broker = broker.restart(SETTINGS).await;
    wait_stable(broker.addr(), TOPIC, 2).await;
    let bootstrap = broker.bootstrap();
    let committed = blocking(move || read_values(&bootstrap, TOPIC, 2, true)).await;
    // The plain record whose fsync failed may or may not have reached the disk.
    let written: Vec<String> = sorted(committed)
        .into_iter()
        .filter(|v| v != "plain")
        .collect();
    let value = |i: usize| sample_records(2, 10)[i].value.clone().unwrap();
    let value = |i| String::from_utf8_lossy(&value(i)).into_owned();
    assert_eq!(
        written,
        vec![value(0), value(0), value(1), value(1)],
        "the transaction's committed records on both partitions, read_committed"
    );
    let mut c = RawClient::connect(broker.addr()).await;
    let (code, same, bumped) = init(&mut c, 4, "sick", 60_000, (pid, epoch)).await;
    assert_eq!((code, same), (NONE, pid), "the transaction completed");
    assert!(bumped > epoch);
}
