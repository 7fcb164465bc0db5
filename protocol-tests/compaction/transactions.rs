//! Transactions in a compacted topic, with real clients: an rdkafka transactional producer
//! commits and aborts, leaves one transaction open, and the log is read at read_committed and
//! read_uncommitted by rdkafka and by the Java client before cleaning (under `delete`) and
//! after (under `compact`); and kill -9 at file operations of a cleaning pass over
//! transactional data.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::ClientConfig;
use weir::log::{LogConfig, PartitionLog};

use super::CompactingBroker;
use crate::support::broker::ProcessBroker;
use crate::support::clients::{blocking, java, stdout_lines};
use crate::support::rdkafka_clients::producer;
use crate::txn::{read_values, stable_and_end, transaction, txn_producer, wait_stable, WAIT};

const TOPIC: &str = "txn-compacted";
/// Transactions committed and aborted (every third one aborts) over keys k0..k4.
const TRANSACTIONS: usize = 30;

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client")
}

fn committed(t: usize) -> bool {
    t % 3 != 1
}

/// The values of transaction `t`, one per key k0..k4: `c..` when it commits, `a..` when not.
fn values(t: usize) -> Vec<String> {
    let tag = if committed(t) { 'c' } else { 'a' };
    (0..5).map(|i| format!("{tag}{t}-{i}")).collect()
}

/// Plain records with their own keys, enough to roll a few 2 KiB segments.
fn filler(bootstrap: &str, prefix: &str) -> Vec<String> {
    let p = producer(bootstrap, &[]);
    let mut out = Vec::new();
    for i in 0..40 {
        let (k, v) = (
            format!("{prefix}{i}"),
            format!("{prefix}{i}-{}", "x".repeat(60)),
        );
        tokio::runtime::Handle::current()
            .block_on(p.send(FutureRecord::to(TOPIC).key(&k).payload(&v), WAIT))
            .expect("filler acknowledged");
        out.push(v);
    }
    out
}

/// The VAL lines of the Java `TxnRead` at `isolation`.
fn java_read(bootstrap: &str, isolation: &str) -> Vec<String> {
    stdout_lines(&java("TxnRead", &[bootstrap, TOPIC, isolation]))
        .into_iter()
        .filter_map(|l| l.strip_prefix("VAL ").map(str::to_string))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Reads with rdkafka and Java at both levels: (read_committed, read_uncommitted), sorted, the
/// two clients agreeing.
async fn read_both(bootstrap: &str) -> (Vec<String>, Vec<String>) {
    let b = bootstrap.to_string();
    blocking(move || {
        let rc = sorted(read_values(&b, TOPIC, 1, true));
        let ru = sorted(read_values(&b, TOPIC, 1, false));
        assert_eq!(
            sorted(java_read(&b, "read_committed")),
            rc,
            "Java read_committed"
        );
        assert_eq!(
            sorted(java_read(&b, "read_uncommitted")),
            ru,
            "Java read_uncommitted"
        );
        (rc, ru)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn cleaning_removes_aborted_records_keeps_committed_ones_and_stops_at_an_open_transaction() {
    let broker = CompactingBroker::start(&[("transaction.max.timeout.ms", "3600000")]).await;
    let bootstrap = broker.bootstrap();
    let admin = admin(&bootstrap);
    // Created under `delete`, so the log can be read before any cleaning.
    let new = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1))
        .set("segment.bytes", "2048")
        .set("min.cleanable.dirty.ratio", "0.01")
        .set("delete.retention.ms", "1000");
    assert!(admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap()[0]
        .is_ok());

    // Committed and aborted transactions, plain records, then a transaction left open with
    // more plain records after it (so it starts in a sealed segment).
    let (p, first_filler, later_filler): (FutureProducer, Vec<String>, Vec<String>) = blocking({
        let b = bootstrap.clone();
        move || {
            let p = txn_producer(
                &b,
                "compacted-txn",
                &[("transaction.timeout.ms", "3600000")],
            );
            for t in 0..TRANSACTIONS {
                transaction(&p, TOPIC, &values(t), committed(t));
            }
            let first = filler(&b, "f");
            p.begin_transaction().expect("begin");
            p.send_result(FutureRecord::to(TOPIC).key("k0").payload("open"))
                .map_err(|(e, _)| e)
                .expect("enqueue");
            p.flush(WAIT).expect("flush");
            let later = filler(&b, "g");
            (p, first, later)
        }
    })
    .await;
    let last_commit = (0..TRANSACTIONS).rev().find(|t| committed(*t)).unwrap();
    let all_committed: Vec<String> = (0..TRANSACTIONS)
        .filter(|t| committed(*t))
        .flat_map(values)
        .collect();
    let all_aborted: Vec<String> = (0..TRANSACTIONS)
        .filter(|t| !committed(*t))
        .flat_map(values)
        .collect();

    let (rc, ru) = read_both(&bootstrap).await;
    assert_eq!(
        rc,
        sorted([all_committed.clone(), first_filler.clone()].concat())
    );
    let everything = [
        all_committed,
        all_aborted,
        first_filler.clone(),
        vec!["open".into()],
        later_filler.clone(),
    ]
    .concat();
    assert_eq!(ru, sorted(everything));

    // Compact it: the cleaner runs up to the open transaction.
    let since = broker.clock.now_ms();
    let compact =
        AlterConfig::new(ResourceSpecifier::Topic(TOPIC)).set("cleanup.policy", "compact");
    let changed = admin
        .alter_configs([&compact], &AdminOptions::new())
        .await
        .unwrap();
    assert!(changed[0].is_ok(), "{changed:?}");
    broker.wait_clean(TOPIC, since).await;
    let (stable, end) = stable_and_end(broker.handle.addr(), TOPIC, 0).await;
    assert!(
        stable < end,
        "the open transaction holds the last stable offset"
    );

    // One record per key below the open transaction, the latest committed one; aborted
    // records gone for both isolation levels; the open transaction and what follows it
    // untouched (visible only at read_uncommitted).
    let latest_committed = values(last_commit);
    let (rc, ru) = read_both(&bootstrap).await;
    assert_eq!(
        rc,
        sorted([latest_committed.clone(), first_filler.clone()].concat())
    );
    let expected_ru = [
        latest_committed.clone(),
        first_filler.clone(),
        vec!["open".into()],
        later_filler.clone(),
    ]
    .concat();
    assert_eq!(ru, sorted(expected_ru));

    // The producer goes on after cleaning: its epoch and sequences survived.
    let b = bootstrap.clone();
    let since = broker.clock.now_ms();
    blocking(move || {
        p.commit_transaction(WAIT)
            .expect("commit the open transaction");
        transaction(&p, TOPIC, &values(TRANSACTIONS), true);
    })
    .await;
    wait_stable(broker.handle.addr(), TOPIC, 1).await;
    broker.wait_clean(TOPIC, since).await;
    let rc = blocking(move || read_values(&b, TOPIC, 1, true)).await;
    // The last transaction is the latest of k0..k4 (older values of those keys may be left in
    // the active segment, which is never cleaned); no aborted record anywhere.
    for v in values(TRANSACTIONS)
        .iter()
        .chain(&first_filler)
        .chain(&later_filler)
    {
        assert!(rc.contains(v), "{v} missing from {rc:?}");
    }
    assert!(rc.iter().all(|v| !v.starts_with('a')), "{rc:?}");
    let k_values: Vec<&String> = rc
        .iter()
        .filter(|v| v.starts_with('c') || *v == "open")
        .collect();
    assert_eq!(
        &k_values[k_values.len() - 5..],
        values(TRANSACTIONS).iter().collect::<Vec<_>>()
    );
}

/// (point, file fragment, skip) of cleaning passes to stall and kill the broker at.
const STALLS: &[(&str, &str, u64)] = &[
    ("write", ".log.cleaned", 0),
    ("rename", "cleaner-swap.tmp", 0),
    ("rename", ".txnindex.cleaned", 0),
    ("rename", ".log.cleaned", 1),
];

const CRASH_TOPIC: &str = "txn-crashed";

const ARGS: &[&str] = &[
    "--set",
    "log.flush.interval.messages=1",
    "--set",
    "log.cleaner.backoff.ms=20",
    "--set",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms=200",
];

/// What a producer learnt before the kill: the latest committed value per key, the (key,
/// value) records of the transaction whose outcome it did not learn, and every aborted value.
type Outcomes = (BTreeMap<String, String>, Vec<(String, String)>, Vec<String>);

/// Transactions over keys key-0..key-9 (every third aborted) until the broker reports the
/// stall.
fn transact_until_stalled(broker: &ProcessBroker, what: &str) -> Outcomes {
    let settings = [
        ("transaction.timeout.ms", "3000"),
        ("message.timeout.ms", "3000"),
        ("socket.timeout.ms", "3000"),
    ];
    let p = txn_producer(&broker.addr.to_string(), "crash-compacted", &settings);
    let (mut acked, mut aborted) = (BTreeMap::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    for t in 0.. {
        assert!(Instant::now() < deadline, "{what}: no stall within 60 s");
        let stalled = !broker.injected.lock().unwrap().is_empty();
        if stalled || p.begin_transaction().is_err() {
            return (acked, Vec::new(), aborted);
        }
        let commit = t % 3 != 1;
        let records: Vec<(String, String)> = (0..10)
            .map(|k| {
                (
                    format!("key-{k}"),
                    format!("{}{t}-{k}", if commit { 'c' } else { 'a' }),
                )
            })
            .collect();
        for (k, v) in &records {
            if p.send_result(FutureRecord::to(CRASH_TOPIC).key(k).payload(v))
                .is_err()
            {
                return (acked, records, aborted);
            }
        }
        let short = Duration::from_secs(4);
        let ended = if commit {
            p.commit_transaction(short)
        } else {
            p.abort_transaction(short)
        };
        match ended {
            Ok(()) if commit => acked.extend(records),
            Ok(()) => aborted.extend(records.into_iter().map(|(_, v)| v)),
            Err(_) if commit => return (acked, records, aborted),
            Err(_) => {
                aborted.extend(records.into_iter().map(|(_, v)| v));
                return (acked, Vec::new(), aborted);
            }
        }
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_killed_during_a_pass_over_transactional_data_restarts_consistent() {
    for &(point, file, skip) in STALLS {
        let what = format!("{point} {file} #{skip}");
        let dir = tempfile::tempdir().unwrap();
        let broker = super::spawn_stalling(dir.path(), ARGS, (point, file, skip));
        let admin = admin(&broker.addr.to_string());
        let new = NewTopic::new(CRASH_TOPIC, 1, TopicReplication::Fixed(1))
            .set("cleanup.policy", "compact")
            .set("segment.bytes", "2048")
            .set("min.cleanable.dirty.ratio", "0.01");
        assert!(admin
            .create_topics([&new], &AdminOptions::new())
            .await
            .unwrap()[0]
            .is_ok());
        let (acked, unknown, aborted) = blocking({
            let what = what.clone();
            move || {
                let r = transact_until_stalled(&broker, &what);
                broker.kill_hard();
                r
            }
        })
        .await;
        assert!(!acked.is_empty(), "{what}");

        let broker = ProcessBroker::spawn(dir.path(), ARGS);
        // A transaction cut by the kill is completed or aborted after its timeout.
        wait_stable(broker.addr, CRASH_TOPIC, 1).await;
        let b = broker.addr.to_string();
        let rc = blocking(move || read_values_keyed(&b, true)).await;
        for (key, value) in &acked {
            let found = rc.get(key);
            let cut = unknown.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            assert!(
                found == Some(value) || (found.is_some() && found == cut),
                "{what}: {key} is {found:?}, committed {value}"
            );
        }
        for v in rc.values() {
            assert!(
                !aborted.contains(v),
                "{what}: aborted {v} at read_committed"
            );
        }
        broker.kill_hard();

        // The log opens offline with the same answers, twice over.
        let folder = dir.path().join(format!("{CRASH_TOPIC}-0"));
        let config = LogConfig {
            compact: true,
            delete: false,
            ..LogConfig::default()
        };
        let answers = |log: &PartitionLog| {
            let end = log.log_end_offset();
            (
                log.last_stable_offset(),
                end,
                log.aborted_transactions(0, end),
            )
        };
        let log = PartitionLog::open(folder.clone(), config.clone()).expect("the log opens");
        let first = answers(&log);
        assert_eq!(first.0, first.1, "{what}: no open transaction left");
        let mut bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
        let batches = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes)
            .expect("every batch decodes with a good CRC");
        for a in &first.2 {
            let marker = batches
                .iter()
                .flat_map(|b| b.records.iter())
                .any(|r| r.control && r.offset == a.last_offset && r.producer_id == a.producer_id);
            assert!(marker, "{what}: index entry {a:?} without its marker");
        }
        drop(log);
        let log = PartitionLog::open(folder.clone(), config).expect("the log opens again");
        assert_eq!(answers(&log), first, "{what}");
        let leftovers: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.starts_with("cleaner-swap"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
}

/// The last value per key of CRASH_TOPIC read by librdkafka at an isolation level.
fn read_values_keyed(bootstrap: &str, committed: bool) -> BTreeMap<String, String> {
    crate::txn::read_records(bootstrap, CRASH_TOPIC, 1, committed)
        .into_iter()
        .collect()
}
