//! The cost of transactions, each figure a ratio to its baseline measured on the same broker
//! in the same run, interleaved, median of 3 (1 with `--quick`):
//!
//! - produce: the same records from librdkafka producers (linger.ms=0) with
//!   `enable.idempotence=true` (the baseline) and with a `transactional.id`, committing every
//!   100 records; with one producer and with four (each its own transactional id), so the
//!   figure shows both the commit round trips of one producer and what the broker sustains;
//!   then one producer committing every 1,000 records. Each row has a second row with the
//!   broker's CPU seconds per GB produced, both ways;
//! - the same with the Java 4.3 client, which uses transactions v2 (no AddPartitionsToTxn),
//!   one producer and four, run by `TxnBench` from protocol-tests/java (needs
//!   `protocol-tests/run.sh --deps-only`);
//! - commit latency: `commit_transaction()` once the transaction's records were delivered
//!   (EndTxn: the decision logged, markers written to the partition, the answer), p50/p99 over
//!   the transactions of one producer;
//! - fetch: one log of 100-record transactions, every tenth aborted, read from the start to
//!   its end by a consumer at read_uncommitted (the baseline: every record) and at
//!   read_committed (the broker stops at the last stable offset and sends the aborted
//!   transactions; librdkafka drops their records).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::clients;
use crate::process::BrokerProcess;

const TXN_RECORDS: u64 = 100;
const RECORD_SIZE: usize = 1024;
const WAIT: Duration = Duration::from_secs(60);

/// A producer whose delivery reports are served by its own thread, as `commit_transaction`
/// needs (it waits for them; with reports served only by the caller it waits 100 ms more).
type TxnProducer = ThreadedProducer<DefaultProducerContext>;

fn producer(bootstrap: &str, transactional_id: Option<&str>) -> TxnProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Both producers send at once (linger.ms=0; batches form while requests are in
        // flight): a transaction waits for its records before it commits, so a linger would
        // be paid at every commit.
        .set("linger.ms", "0")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "1000000")
        .set("message.timeout.ms", "60000");
    if let Some(id) = transactional_id {
        config.set("transactional.id", id);
    }
    let producer: TxnProducer = config.create().expect("producer");
    producer
        .client()
        .fetch_metadata(None, WAIT)
        .expect("producer metadata");
    if transactional_id.is_some() {
        producer.init_transactions(WAIT).expect("init_transactions");
    }
    producer
}

fn send(producer: &TxnProducer, topic: &str, partition: i32, body: &[u8]) {
    let mut record = BaseRecord::<(), [u8]>::to(topic)
        .payload(body)
        .partition(partition);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("produce: {e}"),
        }
    }
}

/// Waits until every record was delivered (reports are served by the producer's thread).
/// (`flush()` is not used: rdkafka's polls once more after the queue is empty, up to 100 ms.)
fn drain(producer: &TxnProducer) {
    let deadline = Instant::now() + WAIT;
    while producer.in_flight_count() > 0 {
        assert!(Instant::now() < deadline, "deliveries not reported in time");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Sends `count` records; with `txn`, in transactions of that many records (the last one
/// shorter), committed, or aborted when `abort_every` says so (one in every n, the last
/// transaction committed).
/// Each commit waits for the transaction's records to be delivered and is timed alone;
/// returns those times.
fn produce_one(
    producer: &TxnProducer,
    topic: &str,
    partition: i32,
    count: u64,
    txn: Option<u64>,
    abort_every: Option<u64>,
) -> Vec<Duration> {
    let body: Vec<u8> = (0..RECORD_SIZE).map(|i| b'a' + (i % 26) as u8).collect();
    let mut commits = Vec::new();
    let Some(txn_records) = txn else {
        for _ in 0..count {
            send(producer, topic, partition, &body);
        }
        drain(producer);
        return commits;
    };
    let mut sent = 0;
    let mut n = 0u64;
    while sent < count {
        producer.begin_transaction().expect("begin_transaction");
        let size = txn_records.min(count - sent);
        for _ in 0..size {
            send(producer, topic, partition, &body);
        }
        sent += size;
        n += 1;
        if abort_every.is_some_and(|every| n % every == every / 2) {
            // librdkafka aborts only once the delivery reports were served.
            drain(producer);
            producer.abort_transaction(WAIT).expect("abort_transaction");
            continue;
        }
        // Delivered first, so the time below is the commit alone: commit_transaction would
        // wait for them itself, but with rdkafka's event-driven reports it then waits up to
        // 100 ms longer.
        drain(producer);
        let began = Instant::now();
        producer
            .commit_transaction(WAIT)
            .expect("commit_transaction");
        commits.push(began.elapsed());
    }
    commits
}

struct Produced {
    secs: f64,
    /// Broker CPU seconds over the run.
    cpu: f64,
}

/// `producers` producers (transactional or idempotent) each send `records / producers`
/// records to their own partition of `topic`; timed from a common start to the last commit or
/// acknowledgement.
fn produce(
    broker: &BrokerProcess,
    topic: &str,
    partitions: i32,
    records: u64,
    producers: usize,
    txn: Option<u64>,
) -> Produced {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let bootstrap = broker.addr.as_str();
    clients::create_topic(bootstrap, topic, partitions);
    let start = Arc::new(Barrier::new(producers + 1));
    let threads: Vec<_> = (0..producers)
        .map(|i| {
            let (bootstrap, topic, start) =
                (bootstrap.to_string(), topic.to_string(), start.clone());
            std::thread::spawn(move || {
                let id = format!("bench-{run}-{i}");
                let p = producer(&bootstrap, txn.map(|_| id.as_str()));
                start.wait();
                produce_one(&p, &topic, i as i32, records / producers as u64, txn, None)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let cpu = broker.cpu_seconds();
    for t in threads {
        t.join().expect("producer thread");
    }
    Produced {
        secs: began.elapsed().as_secs_f64(),
        cpu: broker.cpu_seconds() - cpu,
    }
}

/// Reads partition 0 of `topic` from the start until `expect` records arrived; the seconds
/// from assignment to the last one.
fn consume(bootstrap: &str, topic: &str, committed: bool, expect: u64) -> f64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "weir-bench-txn")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.queue.backoff.ms", "1")
        .set(
            "isolation.level",
            if committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .create()
        .expect("consumer");
    consumer
        .client()
        .fetch_metadata(Some(topic), WAIT)
        .expect("consumer metadata");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    let began = Instant::now();
    consumer.assign(&tpl).expect("assign");
    let mut got = 0;
    while got < expect {
        assert!(began.elapsed() < WAIT * 5, "consume phase over time");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                assert_eq!(m.payload_len(), RECORD_SIZE);
                got += 1;
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    began.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    crate::percentile(sorted, p)
}

pub fn run(quick: bool) -> Vec<String> {
    let broker = BrokerProcess::start(&[]);
    let addr = broker.addr.clone();
    let repeats = if quick { 1 } else { 3 };
    let records: u64 = if quick { 50_000 } else { 200_000 };
    let mb = (records * RECORD_SIZE as u64) as f64 / 1e6;
    let mut rows = Vec::new();
    // The goal's case (transactions of 100) with one producer and with four, and larger
    // transactions to show where the per-transaction round trips stop mattering.
    for (producers, txn_records) in [(1usize, TXN_RECORDS), (4, TXN_RECORDS), (1, 1_000)] {
        eprintln!(
            "running transactional produce ({records} x 1 KiB, {producers} producer(s), idempotent and transactions of {txn_records}; {repeats}x)"
        );
        let (mut idem, mut txn) = (Vec::new(), Vec::new());
        let (mut idem_cpu, mut txn_cpu) = (Vec::new(), Vec::new());
        for round in 0..repeats {
            let partitions = producers as i32;
            let i = produce(
                &broker,
                &format!("idem-{producers}-{txn_records}-{round}"),
                partitions,
                records,
                producers,
                None,
            );
            let t = produce(
                &broker,
                &format!("txn-{producers}-{txn_records}-{round}"),
                partitions,
                records,
                producers,
                Some(txn_records),
            );
            idem.push(mb / i.secs);
            txn.push(mb / t.secs);
            idem_cpu.push(i.cpu / (mb / 1e3));
            txn_cpu.push(t.cpu / (mb / 1e3));
        }
        let (idem, txn) = (crate::median(idem), crate::median(txn));
        rows.push(format!(
            "| produce 1 KiB records, {producers} producer(s) on {producers} partition(s), acks=all, transactions of {txn_records} | {idem:.0} MB/s | {txn:.0} MB/s | {:.2}x |",
            txn / idem
        ));
        let (idem_cpu, txn_cpu) = (crate::median(idem_cpu), crate::median(txn_cpu));
        rows.push(format!(
            "| broker CPU per GB of the row above | {idem_cpu:.2} s | {txn_cpu:.2} s | {:.2}x |",
            txn_cpu / idem_cpu
        ));
    }
    for producers in [1, 4] {
        rows.push(java_row(
            &addr,
            if quick { 50_000 } else { 100_000 },
            repeats,
            producers,
        ));
    }
    eprintln!("running commit latency ({records} records, transactions of {TXN_RECORDS})");
    clients::create_topic(&addr, "txn-latency", 1);
    let p = producer(&addr, Some("bench-latency"));
    let mut commits = produce_one(&p, "txn-latency", 0, records, Some(TXN_RECORDS), None);
    drop(p);
    commits.sort();
    rows.push(format!(
        "| commit latency (commit_transaction once the records were delivered; n={}) | | p50 {:.2} ms, p99 {:.2} ms | |",
        commits.len(),
        percentile(&commits, 0.50),
        percentile(&commits, 0.99)
    ));

    // One log, 10% of its transactions aborted, read both ways.
    let topic = "txn-fetch";
    clients::create_topic(&addr, topic, 1);
    let p = producer(&addr, Some("bench-fetch-log"));
    let commits_only = produce_one(&p, topic, 0, records, Some(TXN_RECORDS), Some(10));
    drop(p);
    let committed_records = commits_only.len() as u64 * TXN_RECORDS;
    eprintln!("running read_committed and read_uncommitted fetch ({records} records, {committed_records} committed; {repeats}x)");
    let (mut plain, mut rc) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        plain.push(mb / consume(&addr, topic, false, records));
        rc.push(mb / consume(&addr, topic, true, committed_records));
    }
    let (plain, rc) = (crate::median(plain), crate::median(rc));
    rows.push(format!(
        "| fetch a 1-partition log of {records} x 1 KiB in transactions of {TXN_RECORDS}, 10% aborted, from the start to its end (MB/s of log read) | {plain:.0} MB/s (read_uncommitted) | {rc:.0} MB/s (read_committed) | {:.2}x |",
        rc / plain
    ));
    broker.stop();
    rows
}

/// The Java 4.3 client, which uses transactions v2 when the broker offers `transaction.version`
/// 2 (as weir does): no AddPartitionsToTxn, so a transaction is its Produce and its EndTxn.
/// `TxnBench` (protocol-tests/java) runs both kinds in one JVM, rounds interleaved, each
/// round with `producers` producers of each kind; the row is the median round.
fn java_row(addr: &str, records: u64, rounds: usize, producers: usize) -> String {
    let label = format!(
        "| produce 1 KiB records, Java 4.3 client (transactions v2), {producers} producer(s) on {producers} partition(s), acks=all, linger.ms=0, transactions of {TXN_RECORDS}"
    );
    let deps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests/.deps");
    let (jars, classes) = (deps.join("jars"), deps.join("java-classes"));
    if !classes.join("TxnBench.class").exists() {
        eprintln!("skipping the Java row: run `bash protocol-tests/run.sh --deps-only` first");
        return format!("{label} | not measured (no Java test programs) | | |");
    }
    eprintln!("running transactional produce with the Java client ({records} x 1 KiB, {producers} producer(s); {rounds}x)");
    let classpath = format!("{}/*:{}", jars.display(), classes.display());
    let output = std::process::Command::new("java")
        .args(["-cp", &classpath, "TxnBench", addr])
        .arg(format!("java-bench-{producers}"))
        .arg(records.to_string())
        .arg(rounds.to_string())
        .arg(TXN_RECORDS.to_string())
        .args(["--producers", &producers.to_string()])
        .output()
        .expect("java");
    assert!(
        output.status.success(),
        "TxnBench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (mut idem, mut txn) = (Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        // ROUND r IDEM mb TXN mb
        let f: Vec<&str> = line.split_whitespace().collect();
        if let ["ROUND", _, "IDEM", i, "TXN", t] = f.as_slice() {
            idem.push(i.parse::<f64>().expect("IDEM figure"));
            txn.push(t.parse::<f64>().expect("TXN figure"));
        }
    }
    let ratios: Vec<f64> = idem.iter().zip(&txn).map(|(i, t)| t / i).collect();
    let (idem, txn, ratio) = (
        crate::median(idem),
        crate::median(txn),
        crate::median(ratios),
    );
    format!("{label} | {idem:.0} MB/s | {txn:.0} MB/s | {ratio:.2}x |")
}
