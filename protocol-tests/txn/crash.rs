//! kill -9 of a `weir serve` process in the middle of transactions: every transaction whose
//! commit was acknowledged is committed on every partition after the restart, exactly once;
//! every transaction is all or nothing; open ones are aborted once their timeout passes, so
//! every partition's last stable offset reaches its end again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProducerId, TransactionalId,
};
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};
use rdkafka::producer::{FutureRecord, Producer};

use super::{read_values, txn_producer, wait_stable, WAIT};
use crate::support::broker::ProcessBroker;
use crate::support::clients::blocking;
use crate::support::raw::{produce_request, s, sample_records, topic_name, RawClient};
use crate::support::topics::create_topic;

const PARTITIONS: i32 = 3;
const PRODUCERS: usize = 4;
const RECORDS: usize = 8;

/// Broker settings for these tests: timed-out transactions are looked for every 200 ms.
const SETTINGS: &[&str] = &[
    "--set",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
];

fn spawn(dir: &std::path::Path, extra: &[&str]) -> ProcessBroker {
    let mut args = SETTINGS.to_vec();
    args.extend_from_slice(extra);
    ProcessBroker::spawn(dir, &args)
}

/// One producer thread: transactions of RECORDS values "p<i>-r<round>-t<k>-<j>" until `stop`
/// or an error; each acknowledged commit is recorded in `committed`.
fn produce_until_stopped(
    bootstrap: String,
    i: usize,
    round: usize,
    stop: Arc<AtomicBool>,
    committed: Arc<Mutex<Vec<String>>>,
) {
    let settings = [
        ("transaction.timeout.ms", "3000"),
        ("message.timeout.ms", "3000"),
        ("socket.timeout.ms", "3000"),
    ];
    let producer = txn_producer(&bootstrap, &format!("crash-{i}"), &settings);
    let short = Duration::from_secs(4);
    for k in 0.. {
        if stop.load(Ordering::Acquire) || producer.begin_transaction().is_err() {
            return;
        }
        let txn = format!("p{i}-r{round}-t{k}");
        for j in 0..RECORDS {
            let value = format!("{txn}-{j}");
            let key = format!("{j}");
            if producer
                .send_result(FutureRecord::to("crash").key(&key).payload(&value))
                .is_err()
            {
                return;
            }
        }
        match producer.commit_transaction(short) {
            Ok(()) => committed.lock().unwrap().push(txn),
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_in_the_middle_of_many_transactions_keeps_every_commit_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = spawn(dir.path(), &[]);
    create_topic(&broker.addr.to_string(), "crash", PARTITIONS, WAIT).await;
    let committed = Arc::new(Mutex::new(Vec::new()));
    for round in 0..2 {
        let bootstrap = broker.addr.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..PRODUCERS)
            .map(|i| {
                let (b, s, c) = (bootstrap.clone(), stop.clone(), committed.clone());
                std::thread::spawn(move || produce_until_stopped(b, i, round, s, c))
            })
            .collect();
        // Kill once this round's producers have committed a few dozen transactions, while
        // they are in the middle of more.
        let target = committed.lock().unwrap().len() + 30;
        let deadline = Instant::now() + WAIT;
        while committed.lock().unwrap().len() < target {
            assert!(
                Instant::now() < deadline,
                "round {round}: producers stalled"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // One transaction is surely open with its records in the log when the kill comes.
        let open = left_open(&bootstrap, round).await;
        broker.kill_hard();
        stop.store(true, Ordering::Release);
        for t in threads {
            blocking(move || t.join().unwrap()).await;
        }
        drop(open);
        broker = spawn(dir.path(), &[]);
        // Transactions left open by the kill are aborted once their 3 s timeout passes.
        wait_stable(broker.addr, "crash", PARTITIONS).await;
    }

    let bootstrap = broker.addr.to_string();
    let (read_committed, everything) = blocking(move || {
        (
            read_values(&bootstrap, "crash", PARTITIONS, true),
            read_values(&bootstrap, "crash", PARTITIONS, false),
        )
    })
    .await;
    let unique: BTreeSet<&String> = read_committed.iter().collect();
    assert_eq!(
        unique.len(),
        read_committed.len(),
        "a committed record twice"
    );
    // Values by transaction.
    let mut by_txn: BTreeMap<String, usize> = BTreeMap::new();
    for v in &read_committed {
        let (txn, _) = v.rsplit_once('-').unwrap();
        *by_txn.entry(txn.to_string()).or_default() += 1;
    }
    for (txn, n) in &by_txn {
        assert_eq!(*n, RECORDS, "transaction {txn} is partly visible");
    }
    let acked = committed.lock().unwrap().clone();
    for txn in &acked {
        assert_eq!(
            by_txn.get(txn),
            Some(&RECORDS),
            "acknowledged {txn} is missing"
        );
    }
    // The transactions the kills left open were aborted: read_uncommitted shows their records,
    // read_committed never does.
    for round in 0..2 {
        for j in 0..RECORDS {
            let value = format!("open-r{round}-{j}");
            assert!(everything.contains(&value), "{value} was written");
            assert!(!read_committed.contains(&value), "{value} was aborted");
        }
    }
}

/// A transaction of RECORDS values "open-r<round>-<j>" whose records are in the log (each
/// delivery acknowledged) and that is never committed.
async fn left_open(bootstrap: &str, round: usize) -> rdkafka::producer::FutureProducer {
    let b = bootstrap.to_string();
    let producer = blocking(move || {
        let settings = [
            ("transaction.timeout.ms", "3000"),
            ("message.timeout.ms", "3000"),
        ];
        let producer = txn_producer(&b, &format!("crash-open-{round}"), &settings);
        producer.begin_transaction().expect("begin");
        producer
    })
    .await;
    let deliveries: Vec<_> = (0..RECORDS)
        .map(|j| {
            let (key, value) = (format!("{j}"), format!("open-r{round}-{j}"));
            producer
                .send_result(FutureRecord::to("crash").key(&key).payload(&value))
                .map_err(|(e, _)| e)
                .expect("queued")
        })
        .collect();
    for delivery in deliveries {
        delivery
            .await
            .expect("delivery report")
            .expect("in the log");
    }
    producer
}

/// One transactional batch of `count` records.
fn txn_batch(pid: i64, epoch: i16, count: usize) -> bytes::Bytes {
    let records: Vec<_> = sample_records(count, 10)
        .into_iter()
        .map(|mut r| {
            r.producer_id = pid;
            r.producer_epoch = epoch;
            r.sequence = r.offset as i32;
            r.transactional = true;
            r
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_after_a_commit_is_decided_but_before_every_marker_is_written() {
    let dir = tempfile::tempdir().unwrap();
    // The second write to partition decided-1 (its marker, after the data) fails.
    let broker = spawn(dir.path(), &["--io-faults", "write:in=decided-1:skip=1"]);
    let mut c = RawClient::connect(broker.addr).await;
    c.create_topic("decided", 2, &[]).await;
    let id = TransactionalId(s("decider"));
    let init = c
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(id.clone()))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    let (pid, epoch) = (init.producer_id, init.producer_epoch);
    let added = c
        .call(
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(id.clone())
                .with_v3_and_below_producer_id(pid)
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(topic_name("decided"))
                    .with_partitions(vec![0, 1])]),
        )
        .await;
    assert!(added.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .all(|p| p.partition_error_code == 0));
    let request = produce_request(
        "decided",
        vec![
            (0, txn_batch(pid.0, epoch, 3)),
            (1, txn_batch(pid.0, epoch, 3)),
        ],
    )
    .with_transactional_id(Some(id.clone()));
    let produced = c.call(9, &request).await;
    assert!(produced.responses[0]
        .partition_responses
        .iter()
        .all(|p| p.error_code == 0));
    let ended = c
        .call(
            3,
            &EndTxnRequest::default()
                .with_transactional_id(id)
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_committed(true),
        )
        .await;
    assert_eq!(ended.error_code, 0, "the commit is acknowledged");
    assert!(
        broker
            .injected
            .lock()
            .unwrap()
            .get("write")
            .copied()
            .unwrap_or(0)
            > 0,
        "the marker write failed"
    );
    let bootstrap = broker.addr.to_string();
    let before = blocking(move || read_values(&bootstrap, "decided", 2, true)).await;
    assert_eq!(before.len(), 3, "only partition 0 has its marker yet");
    broker.kill_hard();

    let broker = spawn(dir.path(), &[]);
    wait_stable(broker.addr, "decided", 2).await;
    let bootstrap = broker.addr.to_string();
    let after = blocking(move || read_values(&bootstrap, "decided", 2, true)).await;
    assert_eq!(
        after.len(),
        6,
        "committed on every partition after the restart"
    );
}
