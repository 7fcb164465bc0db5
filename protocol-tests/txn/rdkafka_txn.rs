//! librdkafka (rdkafka 0.39, librdkafka 2.12) against weir's transactions, in process.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use weir::clock::ManualClock;

use super::{read_values, sorted, stable_and_end, transaction, txn_producer, wait_stable};
use crate::support::broker::TestBroker;
use crate::support::clients::blocking;
use crate::support::topics::create_topic;

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn read_committed_stops_at_an_open_transaction_and_never_shows_aborted_records() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "rc", 2, super::WAIT).await;
    let b = bootstrap.clone();
    let (open, p1) = blocking(move || {
        let p1 = txn_producer(&b, "rc-1", &[]);
        transaction(&p1, "rc", &values("c1", 10), true);
        transaction(&p1, "rc", &values("a1", 10), false);
        // A second producer's transaction stays open while the first commits more.
        let open = txn_producer(&b, "rc-2", &[]);
        open.begin_transaction().unwrap();
        for v in values("open", 6) {
            let key = v.clone();
            open.send_result(
                rdkafka::producer::FutureRecord::to("rc")
                    .key(&key)
                    .payload(&v),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        }
        open.flush(super::WAIT).unwrap();
        transaction(&p1, "rc", &values("c2", 10), true);
        (open, p1)
    })
    .await;
    // Each partition stops where the open transaction starts.
    for p in 0..2 {
        let (stable, end) = stable_and_end(broker.addr(), "rc", p).await;
        assert!(stable < end, "partition {p}: stable {stable}, end {end}");
    }
    let b = bootstrap.clone();
    let seen = blocking(move || read_values(&b, "rc", 2, true)).await;
    assert!(seen.iter().all(|v| v.starts_with("c1-")), "{seen:?}");
    assert_eq!(seen.len(), 10);

    blocking(move || {
        open.abort_transaction(super::WAIT).unwrap();
        drop(p1);
    })
    .await;
    wait_stable(broker.addr(), "rc", 2).await;
    let b = bootstrap.clone();
    let committed = blocking(move || read_values(&b, "rc", 2, true)).await;
    let mut want = values("c1", 10);
    want.extend(values("c2", 10));
    assert_eq!(sorted(committed), sorted(want));
    let b = bootstrap.clone();
    let everything = blocking(move || read_values(&b, "rc", 2, false)).await;
    assert_eq!(
        everything.len(),
        36,
        "read_uncommitted sees aborted records too"
    );
    assert_eq!(
        everything.iter().filter(|v| v.starts_with("a1-")).count(),
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zombie_producer_is_fenced_by_a_new_instance_of_its_transactional_id() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "zombie", 1, super::WAIT).await;
    let b = bootstrap.clone();
    let commit_error = blocking(move || {
        let zombie = txn_producer(&b, "app", &[]);
        zombie.begin_transaction().unwrap();
        for v in values("zombie", 5) {
            zombie
                .send_result(rdkafka::producer::FutureRecord::<(), _>::to("zombie").payload(&v))
                .map_err(|(e, _)| e)
                .unwrap();
        }
        zombie.flush(super::WAIT).unwrap();
        // The new instance fences the old one and aborts its open transaction.
        let fresh = txn_producer(&b, "app", &[]);
        transaction(&fresh, "zombie", &values("fresh", 3), true);
        zombie.commit_transaction(super::WAIT).err()
    })
    .await;
    let e = commit_error.expect("the zombie's commit must fail");
    assert!(
        matches!(&e, KafkaError::Transaction(t) if t.is_fatal()
            && matches!(t.code(), RDKafkaErrorCode::Fenced | RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch)),
        "{e:?}"
    );
    let b = bootstrap.clone();
    let seen = blocking(move || read_values(&b, "zombie", 1, true)).await;
    assert_eq!(sorted(seen), values("fresh", 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_transaction_is_aborted_once_its_timeout_passes_on_the_broker_clock() {
    let clock = ManualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let handle = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .data_dir(dir.path())
        .clock(clock.clock())
        .start()
        .await
        .unwrap();
    let addr = handle.addr();
    let bootstrap = addr.to_string();
    create_topic(&bootstrap, "slow", 1, super::WAIT).await;
    let b = bootstrap.clone();
    let producer = blocking(move || {
        let p = txn_producer(&b, "slow-app", &[("transaction.timeout.ms", "20000")]);
        p.begin_transaction().unwrap();
        for v in values("late", 4) {
            p.send_result(rdkafka::producer::FutureRecord::<(), _>::to("slow").payload(&v))
                .map_err(|(e, _)| e)
                .unwrap();
        }
        p.flush(super::WAIT).unwrap();
        p
    })
    .await;
    let (stable, end) = stable_and_end(addr, "slow", 0).await;
    assert_eq!((stable, end), (0, 4));
    // Within the timeout nothing happens, however many cleanup intervals (10 s) pass.
    clock.advance(Duration::from_millis(19_000));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stable_and_end(addr, "slow", 0).await, (0, 4));
    // Past it, the next cleanup aborts the transaction.
    clock.advance(Duration::from_millis(10_000));
    wait_stable(addr, "slow", 1).await;
    let b = bootstrap.clone();
    let seen = blocking(move || read_values(&b, "slow", 1, true)).await;
    assert!(seen.is_empty(), "{seen:?}");
    let error = blocking(move || producer.commit_transaction(super::WAIT).err()).await;
    assert!(error.is_some(), "the timed-out transaction cannot commit");
    handle.shutdown().await;
}
