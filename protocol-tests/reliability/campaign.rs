//! The crash campaign: producers (idempotent, acks=all, fsync before ack) and a consumer group
//! member committing offsets run throughout, while the `weir serve` process under them is
//! killed with SIGKILL at random moments and restarted on the same data folder and address.
//! The clients reconnect on their own, so every kill also exercises idempotent retries of
//! batches in flight, producer state rebuilt from the log, and the group restored from its log.
//!
//! After every restart, the restarted broker's log end offsets are checked: every record
//! acknowledged so far is below them, and they never move back.
//!
//! After the last cycle the data is checked five ways:
//!
//! 1. every acknowledged record is stored exactly once, at the offset it was acknowledged with
//!    (read straight from the partition folders with [`weir::log::PartitionLog`]);
//! 2. offsets are contiguous from 0 in every partition, and no record value appears twice;
//! 3. the indexes are valid: every offset is found through the offset index, timestamp lookups
//!    agree with a linear scan of all records, and every entry of every `.index` and
//!    `.timeindex` file on disk points at the batch it names;
//! 4. the group's committed offsets are never behind the last commit the broker acknowledged,
//!    and every record the group consumed is still stored where it was consumed;
//! 5. a consumer reading every partition from the start through the restarted broker gets
//!    exactly the records on disk, at the same offsets.
//!
//! `WEIR_CRASH_CYCLES` sets the number of cycles (default 10, the CI run; the README's long run
//! is 100) and `WEIR_CRASH_SEED` replays a run (the seed is printed first).
//!
//! ```text
//! WEIR_CRASH_CYCLES=100 cargo test --test protocol reliability::campaign -- --nocapture
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use weir::log::{BatchHeader, LogConfig, PartitionLog, HEADER_SIZE};

use super::Rng;
use crate::support::broker::ProcessBroker;
use crate::support::raw::RawClient;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

const TOPIC: &str = "campaign";
const PARTITIONS: i32 = 3;
const PRODUCERS: usize = 2;
const GROUP: &str = "weir-campaign";
const WAIT: Duration = Duration::from_secs(20);
/// fsync before every acknowledgement; small segments and a dense index so rolls, several
/// segments per partition and many index entries are part of every run.
const BROKER_ARGS: &[&str] = &[
    "--set",
    "log.flush.interval.messages=1",
    "--set",
    "log.segment.bytes=65536",
    "--set",
    "log.index.interval.bytes=512",
    "--set",
    "group.initial.rebalance.delay.ms=0",
];

/// What a campaign found; `lost`, `duplicates`, `consumed_lost` and `commits_behind` must be 0.
#[derive(Debug, Default)]
pub struct CampaignReport {
    pub seed: u64,
    pub cycles: usize,
    pub acked: usize,
    pub stored: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// Records stored twice because a producer re-sent them under a new epoch.
    pub resent_after_epoch_bump: usize,
    pub consumed: usize,
    pub consumed_lost: usize,
    pub commits_acked: usize,
    pub commits_behind: usize,
    pub segments: usize,
    pub index_entries: usize,
    pub timestamp_lookups: usize,
    /// I/O failures the brokers injected (`--io-faults`), by point.
    pub injected_failures: BTreeMap<String, usize>,
    pub elapsed: Duration,
}

/// A record the broker acknowledged, or the group consumed: where it is and what it was.
#[derive(Clone, Debug)]
struct Placed {
    partition: i32,
    offset: i64,
    value: Bytes,
}

#[derive(Clone, Default)]
struct Acks(Arc<Mutex<Vec<Placed>>>, Arc<AtomicUsize>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(message) = result {
            self.1.fetch_add(1, Ordering::Relaxed);
            let value = Bytes::copy_from_slice(message.payload().unwrap_or_default());
            self.0.lock().unwrap().push(Placed {
                partition: message.partition(),
                offset: message.offset(),
                value,
            });
        }
    }
}

/// Stops a background thread and hands back what it gathered.
struct Worker<T> {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<T>,
}

impl<T> Worker<T> {
    fn finish(self) -> T {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("campaign worker panicked")
    }
}

/// An idempotent acks=all producer writing values `p<id>-<n>-<padding>` until stopped, then
/// waiting for the answers to what is still in flight. Acknowledged records go to `acks`.
fn start_producer(bootstrap: &str, id: usize, seed: u64, acks: Acks) -> Worker<()> {
    let producer: BaseProducer<Acks> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", "60000")
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "200")
        .set("retry.backoff.ms", "20")
        .set("retry.backoff.max.ms", "200")
        .create_with_context(acks.clone())
        .expect("create idempotent producer");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut rng = Rng::new(seed);
        let mut n = 0u64;
        while !flag.load(Ordering::Relaxed) {
            if producer.in_flight_count() > 300 {
                producer.poll(Duration::from_millis(5));
                continue;
            }
            let key = format!("k{}", rng.below(64));
            let padding = "x".repeat(rng.below(160));
            let value = format!("p{id}-{n}-{padding}");
            match producer.send(BaseRecord::to(TOPIC).key(&key).payload(&value)) {
                Ok(()) => n += 1,
                Err(_) => {
                    producer.poll(Duration::from_millis(5));
                    continue;
                }
            }
            producer.poll(Duration::ZERO);
            // About 1,000 records a second per producer: enough to keep requests in flight at
            // every kill, few enough to check every offset afterwards.
            std::thread::sleep(Duration::from_micros(rng.range(200, 1800)));
        }
        // The broker is up: everything sent gets its answer.
        let _ = producer.flush(WAIT);
        drop(producer);
    });
    Worker { stop, thread }
}

/// What the group consumer saw: records consumed and, per partition, the highest commit the
/// broker acknowledged.
#[derive(Default)]
struct Consumed {
    records: Vec<Placed>,
    commits: BTreeMap<i32, i64>,
    commit_count: usize,
}

/// Records the offsets of every commit the broker acknowledged (partition by partition).
#[derive(Clone, Default)]
struct Commits {
    acked: Arc<Mutex<BTreeMap<i32, i64>>>,
    count: Arc<AtomicUsize>,
}

impl Commits {
    fn acknowledged(&self, positions: &BTreeMap<i32, i64>) {
        let mut acked = self.acked.lock().unwrap();
        for (&p, &next) in positions {
            let c = acked.entry(p).or_insert(next);
            *c = (*c).max(next);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// A static member of the group (so a restart does not wait for its old session to expire)
/// that consumes everything and commits every few records.
fn start_consumer(bootstrap: &str, commits: Commits) -> Worker<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("group.instance.id", "campaign-member")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("fetch.wait.max.ms", "50")
        .set("enable.partition.eof", "false")
        .set("reconnect.backoff.ms", "20")
        .set("reconnect.backoff.max.ms", "200")
        .create()
        .expect("create group consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut records = Vec::new();
        let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
        let mut since_commit = 0usize;
        let mut last_commit = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(20)) {
                records.push(Placed {
                    partition: message.partition(),
                    offset: message.offset(),
                    value: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
                });
                positions.insert(message.partition(), message.offset() + 1);
                since_commit += 1;
            }
            if since_commit > 0 && (since_commit >= 40 || last_commit.elapsed().as_millis() > 50) {
                let mut list = TopicPartitionList::new();
                for (&p, &next) in &positions {
                    list.add_partition_offset(TOPIC, p, Offset::Offset(next))
                        .expect("commit list");
                }
                // Synchronous: a commit caught by a kill is retried on the restarted broker or
                // fails; either way only an answered commit counts as acknowledged.
                if consumer.commit(&list, CommitMode::Sync).is_ok() {
                    commits.acknowledged(&positions);
                }
                since_commit = 0;
                last_commit = Instant::now();
            }
        }
        // The broker is up: the last commit gets its answer before the consumer closes.
        let mut list = TopicPartitionList::new();
        for (&p, &next) in &positions {
            list.add_partition_offset(TOPIC, p, Offset::Offset(next))
                .expect("commit list");
        }
        if !positions.is_empty() && consumer.commit(&list, CommitMode::Sync).is_ok() {
            commits.acknowledged(&positions);
        }
        drop(consumer);
        Consumed {
            records,
            commits: commits.acked.lock().unwrap().clone(),
            commit_count: commits.count.load(Ordering::Relaxed),
        }
    });
    Worker { stop, thread }
}

async fn spawn_broker(listen: String, dir: PathBuf, extra: &[&str]) -> ProcessBroker {
    let args: Vec<String> = BROKER_ARGS
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ProcessBroker::spawn_on(&listen, &dir, &args)
    })
    .await
    .expect("spawn thread")
}

/// A free port outside the usual ephemeral range (so no client's local port takes it between
/// two cycles).
fn free_port(rng: &mut Rng) -> u16 {
    for _ in 0..200 {
        let port = rng.range(20_000, 30_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000..30000");
}

/// After a restart: every record in `acked` (acknowledged before the broker is asked) lies
/// below the log end the broker reports, and no log end moved back since `before`. Returns
/// the log ends.
async fn check_restart(
    listen: &str,
    acked: &[Placed],
    before: &BTreeMap<i32, i64>,
    label: &str,
) -> BTreeMap<i32, i64> {
    let mut acked_end: BTreeMap<i32, i64> = BTreeMap::new();
    for a in acked {
        let end = acked_end.entry(a.partition).or_insert(0);
        *end = (*end).max(a.offset + 1);
    }
    let mut raw = RawClient::connect(listen.parse().expect("listen address")).await;
    let mut ends = BTreeMap::new();
    for p in 0..PARTITIONS {
        let end = raw.latest_offset(TOPIC, p).await;
        let acked = acked_end.get(&p).copied().unwrap_or(0);
        assert!(
            end >= acked,
            "{label}: partition {p}: acknowledged offset {} is past the log end {end} (lost)",
            acked - 1
        );
        let previous = before.get(&p).copied().unwrap_or(0);
        assert!(
            end >= previous,
            "{label}: partition {p}: the log end moved back from {previous} to {end}"
        );
        ends.insert(p, end);
    }
    ends
}

/// Creates the campaign topic, trying again while injected failures make creation fail (a
/// failed creation leaves nothing behind, so a retry starts clean).
async fn create_topic_retrying(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let mut last = None;
    for _ in 0..20 {
        let created = tokio::time::timeout(
            WAIT,
            admin.create_topics(
                &[NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1))],
                &AdminOptions::new(),
            ),
        )
        .await
        .expect("CreateTopics timed out")
        .expect("CreateTopics");
        if created == vec![Ok(TOPIC.to_string())] {
            return;
        }
        last = Some(created);
    }
    panic!("CreateTopics kept failing: {last:?}");
}

/// Runs `cycles` SIGKILL/restart cycles on one data folder under running clients, then checks
/// everything. Panics on the first broken promise; returns the figures otherwise.
pub async fn run_campaign(cycles: usize, seed: u64) -> CampaignReport {
    run_campaign_with(cycles, seed, &[]).await
}

/// [`run_campaign`] with more `weir serve` arguments (settings, `--io-faults`).
pub async fn run_campaign_with(cycles: usize, seed: u64, extra: &[&str]) -> CampaignReport {
    println!("crash campaign: {cycles} cycles, seed {seed} (WEIR_CRASH_SEED={seed} replays it)");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_path_buf();
    let mut rng = Rng::new(seed);
    let listen = format!("127.0.0.1:{}", free_port(&mut rng));

    let mut broker = spawn_broker(listen.clone(), data.clone(), extra).await;
    let mut injected = vec![broker.injected.clone()];
    create_topic_retrying(&listen).await;
    let acks = Acks::default();
    let acked_now = acks.1.clone();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|id| start_producer(&listen, id, rng.next_u64(), acks.clone()))
        .collect();
    let commits_now = Commits::default();
    let consumer = start_consumer(&listen, commits_now.clone());
    let mut log_ends = BTreeMap::new();

    for cycle in 0..cycles {
        // Let the clients make some progress on this incarnation (a random amount), then kill
        // at a random moment: while produce requests, fetches and offset commits are in flight.
        let start = Instant::now();
        let acks_before = acked_now.load(Ordering::Relaxed);
        let commits_before = commits_now.count.load(Ordering::Relaxed);
        let want_acks = rng.range(0, 400) as usize;
        let want_commit = rng.below(3) != 0;
        while start.elapsed() < WAIT
            && (acked_now.load(Ordering::Relaxed) < acks_before + want_acks
                || (want_commit && commits_now.count.load(Ordering::Relaxed) == commits_before))
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let progressed = start.elapsed();
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        let killed_after = start.elapsed();
        broker.kill_hard();
        println!(
            "cycle {cycle}: killed {killed_after:?} after the start ({:?} to progress), {} acks \
             and {} commits so far",
            progressed,
            acked_now.load(Ordering::Relaxed),
            commits_now.count.load(Ordering::Relaxed),
        );
        // Sometimes restart at once, sometimes after the clients noticed.
        tokio::time::sleep(Duration::from_millis(rng.range(0, 100))).await;
        broker = spawn_broker(listen.clone(), data.clone(), extra).await;
        injected.push(broker.injected.clone());
        let label = format!("after kill {}", cycle + 1);
        let acked_so_far = acks.0.lock().unwrap().clone();
        log_ends = check_restart(&listen, &acked_so_far, &log_ends, &label).await;
    }

    // Drain: producers get answers for everything in flight, the consumer commits once more.
    let (acked, seen) = tokio::task::spawn_blocking(move || {
        producers.into_iter().for_each(Worker::finish);
        let acked = acks.0.lock().unwrap().clone();
        (acked, consumer.finish())
    })
    .await
    .expect("stop clients");
    // A last kill after the clients are gone, then the group's committed offsets and the
    // watermarks as a restarted broker reports them.
    broker.kill_hard();
    let broker = spawn_broker(listen.clone(), data.clone(), extra).await;
    injected.push(broker.injected.clone());
    check_restart(&listen, &acked, &log_ends, "after the last kill").await;
    let (committed, high, served) = tokio::task::spawn_blocking(move || {
        let (committed, high) = committed_and_high(&listen);
        let served = read_through_broker(&listen, &high);
        (committed, high, served)
    })
    .await
    .expect("offsets thread");
    broker.kill_hard();

    let mut report = CampaignReport {
        seed,
        cycles,
        acked: acked.len(),
        consumed: seen.records.len(),
        commits_acked: seen.commit_count,
        injected_failures: injected.iter().fold(BTreeMap::new(), |mut all, one| {
            for (point, n) in one.lock().unwrap().iter() {
                *all.entry(point.clone()).or_insert(0) += n;
            }
            all
        }),
        ..CampaignReport::default()
    };
    let stored = tokio::task::spawn_blocking(move || read_back(&data))
        .await
        .expect("read back");
    report.elapsed = started.elapsed();
    check(
        &stored,
        &served,
        &acked,
        &seen.records,
        &seen.commits,
        &committed,
        &high,
        &mut report,
    );
    drop(dir);
    report
}

/// Committed offsets of the campaign group and the high watermarks, per partition.
fn committed_and_high(bootstrap: &str) -> (BTreeMap<i32, i64>, BTreeMap<i32, i64>) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .create()
        .expect("offsets consumer");
    let mut list = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        list.add_partition(TOPIC, p);
    }
    let committed = consumer
        .committed_offsets(list, WAIT)
        .expect("OffsetFetch after the last kill");
    let mut by_partition = BTreeMap::new();
    for e in committed.elements() {
        if let Offset::Offset(o) = e.offset() {
            by_partition.insert(e.partition(), o);
        }
    }
    let mut high = BTreeMap::new();
    for p in 0..PARTITIONS {
        let (_, h) = consumer
            .fetch_watermarks(TOPIC, p, WAIT)
            .expect("watermarks after the last kill");
        high.insert(p, h);
    }
    (by_partition, high)
}

/// Every record of every partition as the restarted broker serves it to a consumer reading
/// from the start: (offset, value) up to the high watermark.
fn read_through_broker(
    bootstrap: &str,
    high: &BTreeMap<i32, i64>,
) -> BTreeMap<i32, Vec<(i64, Bytes)>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka refuses `assign` without one; nothing subscribes or commits.
        .set("group.id", "weir-campaign-read-back")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("read-back consumer");
    let mut out = BTreeMap::new();
    for (&p, &end) in high {
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(TOPIC, p, Offset::Beginning)
            .expect("assignment");
        consumer.assign(&assignment).expect("assign");
        let mut records = Vec::new();
        let deadline = Instant::now() + WAIT;
        while (records.len() as i64) < end {
            assert!(
                Instant::now() < deadline,
                "partition {p}: read {} of {end} records through the broker",
                records.len()
            );
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                let message = message.unwrap_or_else(|e| panic!("read back partition {p}: {e}"));
                let value = Bytes::copy_from_slice(message.payload().unwrap_or_default());
                records.push((message.offset(), value));
            }
        }
        out.insert(p, records);
    }
    out
}

/// Where a record is stored: partition, offset, (producer id, epoch, sequence).
type Place = (i32, i64, (i64, i16, i32));

/// One stored record.
struct Stored {
    offset: i64,
    timestamp: i64,
    value: Bytes,
    /// Producer id, epoch and sequence, to tell how a duplicate came about.
    producer: (i64, i16, i32),
}

/// Everything one partition folder holds, read back through the log's own index paths.
struct PartitionData {
    records: Vec<Stored>,
    segments: usize,
    index_entries: usize,
    timestamp_lookups: usize,
}

/// Opens every partition folder the way the broker does (recovery included), reads every
/// record, checks offset and timestamp lookups against a linear scan, then checks the index
/// files the log leaves on disk.
fn read_back(data_dir: &Path) -> BTreeMap<i32, PartitionData> {
    let mut out = BTreeMap::new();
    for p in 0..PARTITIONS {
        let dir = data_dir.join(format!("{TOPIC}-{p}"));
        let log = PartitionLog::open(dir.clone(), LogConfig::default())
            .unwrap_or_else(|e| panic!("reopen {}: {e}", dir.display()));
        assert_eq!(log.log_start_offset(), 0, "partition {p}: log start moved");
        let end = log.log_end_offset();

        // Everything, batch by batch from the start.
        let mut records: Vec<Stored> = Vec::new();
        let mut next = 0;
        while next < end {
            let mut bytes = log
                .read(next, 1 << 20)
                .unwrap_or_else(|e| panic!("partition {p}: read at {next}: {e}"));
            assert!(
                !bytes.is_empty(),
                "partition {p}: empty read at {next} < {end}"
            );
            let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes)
                .unwrap_or_else(|e| panic!("partition {p}: decode at {next}: {e}"));
            for set in sets {
                for r in set.records {
                    records.push(Stored {
                        offset: r.offset,
                        timestamp: r.timestamp,
                        value: r.value.unwrap_or_default(),
                        producer: (r.producer_id, r.producer_epoch, r.sequence),
                    });
                }
            }
            next = records.last().map_or(next, |r| r.offset + 1);
        }

        // Every offset through the offset index: the read starts with the batch holding it.
        for offset in 0..end {
            let bytes = log
                .read(offset, 1)
                .unwrap_or_else(|e| panic!("partition {p}: read at {offset}: {e}"));
            let header = BatchHeader::parse(&bytes)
                .unwrap_or_else(|e| panic!("partition {p}: batch at {offset}: {e}"));
            assert!(
                header.base_offset <= offset && offset <= header.last_offset(),
                "partition {p}: offset {offset} read as batch {}..={}",
                header.base_offset,
                header.last_offset()
            );
        }

        // Timestamp lookups agree with a scan: the first record with a timestamp >= t.
        let mut probes: Vec<i64> = records.iter().map(|r| r.timestamp).collect();
        probes.sort_unstable();
        probes.dedup();
        let step = (probes.len() / 300).max(1);
        let mut probes: Vec<i64> = probes.into_iter().step_by(step).collect();
        if let (Some(&first), Some(&last)) = (probes.first(), probes.last()) {
            probes.extend([first - 1, first + 1, last + 1, i64::MIN + 1]);
        }
        for &t in &probes {
            let expected = records
                .iter()
                .find(|r| r.timestamp >= t)
                .map(|r| (r.offset, r.timestamp));
            let got = log
                .lookup_timestamp(t)
                .unwrap_or_else(|e| panic!("partition {p}: lookup_timestamp({t}): {e}"))
                .map(|l| (l.offset, l.timestamp));
            assert_eq!(got, expected, "partition {p}: lookup_timestamp({t})");
        }
        let max = records.iter().map(|r| r.timestamp).max();
        let expected_max = max.and_then(|m| {
            records
                .iter()
                .find(|r| r.timestamp == m)
                .map(|r| (r.offset, r.timestamp))
        });
        let got_max = log
            .max_timestamp()
            .unwrap_or_else(|e| panic!("partition {p}: max_timestamp: {e}"))
            .map(|l| (l.offset, l.timestamp));
        assert_eq!(got_max, expected_max, "partition {p}: max_timestamp");

        let segments = log.segment_count();
        // Closing writes the indexes as the log keeps them; check them on disk.
        drop(log);
        let index_entries = check_index_files(&dir);
        out.insert(
            p,
            PartitionData {
                records,
                segments,
                index_entries,
                timestamp_lookups: probes.len() + 1,
            },
        );
    }
    out
}

/// Every `.index` entry names the position of a batch starting at the offset it claims; every
/// `.timeindex` entry names a batch whose largest timestamp it is, and no earlier batch of the
/// segment is later. Returns the number of entries checked.
fn check_index_files(dir: &Path) -> usize {
    let mut checked = 0;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list partition folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    names.sort();
    for log_path in names {
        let base: i64 = log_path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("segment name {}", log_path.display()));
        let log = std::fs::read(&log_path).expect("read segment");
        // Batch headers by position.
        let mut batches: BTreeMap<u32, BatchHeader> = BTreeMap::new();
        let mut pos = 0usize;
        while pos + HEADER_SIZE <= log.len() {
            let h = BatchHeader::parse(&log[pos..])
                .unwrap_or_else(|e| panic!("{}: batch at {pos}: {e}", log_path.display()));
            batches.insert(pos as u32, h);
            pos += h.size();
        }
        assert_eq!(pos, log.len(), "{}: trailing bytes", log_path.display());

        let index = std::fs::read(log_path.with_extension("index")).unwrap_or_default();
        assert_eq!(index.len() % 8, 0, "{}: index length", log_path.display());
        let mut previous: Option<(u32, u32)> = None;
        for entry in index.chunks_exact(8) {
            let rel = u32::from_be_bytes(entry[0..4].try_into().unwrap());
            let position = u32::from_be_bytes(entry[4..8].try_into().unwrap());
            if let Some((r, q)) = previous {
                assert!(
                    rel > r && position > q,
                    "{}: index entries not increasing",
                    log_path.display()
                );
            }
            let h = batches.get(&position).unwrap_or_else(|| {
                panic!(
                    "{}: index entry ({rel}, {position}) is not at a batch",
                    log_path.display()
                )
            });
            assert_eq!(
                h.base_offset,
                base + i64::from(rel),
                "{}: index entry ({rel}, {position}) names another batch",
                log_path.display()
            );
            previous = Some((rel, position));
            checked += 1;
        }

        let time_index = std::fs::read(log_path.with_extension("timeindex")).unwrap_or_default();
        assert_eq!(
            time_index.len() % 12,
            0,
            "{}: timeindex length",
            log_path.display()
        );
        let mut previous_ts = i64::MIN;
        for entry in time_index.chunks_exact(12) {
            let ts = i64::from_be_bytes(entry[0..8].try_into().unwrap());
            let rel = u32::from_be_bytes(entry[8..12].try_into().unwrap());
            assert!(
                ts > previous_ts,
                "{}: time index not increasing",
                log_path.display()
            );
            previous_ts = ts;
            let offset = base + i64::from(rel);
            let carrier = batches
                .values()
                .find(|h| h.base_offset == offset)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: time entry ({ts}, {rel}) is not at a batch",
                        log_path.display()
                    )
                });
            assert_eq!(
                carrier.max_timestamp,
                ts,
                "{}: time entry ({ts}, {rel}) names a batch with another max timestamp",
                log_path.display()
            );
            let later = batches
                .values()
                .take_while(|h| h.base_offset <= offset)
                .find(|h| h.max_timestamp > ts);
            assert!(
                later.is_none(),
                "{}: a batch before time entry ({ts}, {rel}) is later than it",
                log_path.display()
            );
            checked += 1;
        }
    }
    checked
}

#[allow(clippy::too_many_arguments)]
fn check(
    stored: &BTreeMap<i32, PartitionData>,
    served: &BTreeMap<i32, Vec<(i64, Bytes)>>,
    acked: &[Placed],
    consumed: &[Placed],
    commits: &BTreeMap<i32, i64>,
    committed: &BTreeMap<i32, i64>,
    high: &BTreeMap<i32, i64>,
    report: &mut CampaignReport,
) {
    let mut where_stored: HashMap<&[u8], Vec<Place>> = HashMap::new();
    for (&p, data) in stored {
        let offsets: Vec<i64> = data.records.iter().map(|r| r.offset).collect();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert!(
            offsets == expected,
            "partition {p}: offsets are not contiguous from 0"
        );
        assert_eq!(
            high.get(&p).copied(),
            Some(offsets.len() as i64),
            "partition {p}: the broker's high watermark differs from the log on disk"
        );
        let on_disk: Vec<(i64, &Bytes)> =
            data.records.iter().map(|r| (r.offset, &r.value)).collect();
        let through_broker: Vec<(i64, &Bytes)> = served
            .get(&p)
            .map(|s| s.iter().map(|(o, v)| (*o, v)).collect())
            .unwrap_or_default();
        assert!(
            through_broker == on_disk,
            "partition {p}: the restarted broker serves {} records, other than the {} on disk",
            through_broker.len(),
            on_disk.len()
        );
        for r in &data.records {
            where_stored
                .entry(&r.value)
                .or_default()
                .push((p, r.offset, r.producer));
        }
        report.stored += data.records.len();
        report.segments += data.segments;
        report.index_entries += data.index_entries;
        report.timestamp_lookups += data.timestamp_lookups;
    }
    // A record stored twice by one producer under two epochs was re-sent by the client after
    // it bumped its epoch while the record was possibly persisted (librdkafka does that when a
    // failed append and a lost connection coincide; no broker can tell the copies apart).
    // Anything else stored twice is the broker's fault.
    let resent = |places: &[Place]| {
        let (pid, epoch, _) = places[0].2;
        places.iter().all(|(_, _, (p, _, _))| *p == pid)
            && places.iter().skip(1).all(|(_, _, (_, e, _))| *e != epoch)
    };
    for places in where_stored.values().filter(|w| w.len() > 1) {
        if resent(places) {
            report.resent_after_epoch_bump += 1;
        } else {
            report.duplicates += 1;
        }
    }
    for (value, places) in where_stored.iter().filter(|(_, w)| w.len() > 1).take(5) {
        println!(
            "stored more than once: {:?} at {places:?} (partition, offset, (producer, epoch, \
             sequence))",
            String::from_utf8_lossy(&value[..value.len().min(24)])
        );
    }

    let at = |p: i32, o: i64| -> Option<&Bytes> {
        let data = stored.get(&p)?;
        data.records.get(usize::try_from(o).ok()?).map(|r| &r.value)
    };
    let mut lost_examples = Vec::new();
    for a in acked {
        if at(a.partition, a.offset) != Some(&a.value) {
            report.lost += 1;
            if lost_examples.len() < 5 {
                lost_examples.push(format!("{a:?}"));
            }
        }
    }
    for c in consumed {
        if at(c.partition, c.offset) != Some(&c.value) {
            report.consumed_lost += 1;
        }
    }
    for (&p, &acked_commit) in commits {
        let now = committed.get(&p).copied().unwrap_or(-1);
        let end = high.get(&p).copied().unwrap_or(0);
        if now < acked_commit || now > end {
            report.commits_behind += 1;
            println!("partition {p}: committed {now}, acknowledged {acked_commit}, log end {end}");
        }
    }
    println!("{report:#?}");
    assert_eq!(
        report.lost, 0,
        "acknowledged records lost: {lost_examples:?}"
    );
    assert_eq!(report.duplicates, 0, "records stored more than once");
    assert_eq!(report.consumed_lost, 0, "consumed records no longer stored");
    assert_eq!(
        report.commits_behind, 0,
        "committed offsets behind acknowledged commits"
    );
    assert!(report.stored >= report.acked);
    assert_eq!(
        commits.len(),
        PARTITIONS as usize,
        "the group acknowledged no commit for some partition: {commits:?}"
    );
}

fn cycles_from_env() -> usize {
    std::env::var("WEIR_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(10)
}

/// Where segment rolls and group-log compactions fail (injected I/O errors; the counts skip
/// the files the first start and the topic's creation make): creating a segment's `.log` or
/// index, the folder fsync after it, removing what a failed roll created, and in a compaction
/// writing, fsyncing and renaming the snapshot and the folder fsync after the rename.
const ROLL_AND_COMPACTION_FAULTS: &str = "segment-create:in=campaign-:skip=3:every=5,\
     index-create:in=campaign-:skip=6:every=7,\
     dir-sync:in=campaign-:skip=3:every=6,\
     remove:in=campaign-:every=2,\
     write:in=groups.log.tmp:every=4,\
     fsync:in=groups.log.tmp:every=5,\
     rename:in=groups.log.tmp:every=3,\
     dir-sync:in=__groups:skip=1:every=3";

/// CI: 10 cycles (< 60 s). `WEIR_CRASH_CYCLES=100` runs the long campaign the README quotes.
#[tokio::test(flavor = "multi_thread")]
async fn crash_campaign_loses_no_acknowledged_record_or_commit() {
    let cycles = cycles_from_env();
    let seed = Rng::seed_from_env("WEIR_CRASH_SEED");
    let budget = Duration::from_secs(30 + 10 * cycles as u64);
    let report = tokio::time::timeout(budget, run_campaign(cycles, seed))
        .await
        .unwrap_or_else(|_| panic!("campaign (seed {seed}) took longer than {budget:?}"));
    assert_eq!(
        report.resent_after_epoch_bump, 0,
        "without failing appends no producer had to re-send under a new epoch"
    );
    println!(
        "crash campaign: {} cycles, {} records acknowledged, {} lost, {} duplicates, {} stored, \
         {} consumed, {} commits acknowledged ({} behind), {:.1} s (seed {})",
        report.cycles,
        report.acked,
        report.lost,
        report.duplicates,
        report.stored,
        report.consumed,
        report.commits_acked,
        report.commits_behind,
        report.elapsed.as_secs_f64(),
        report.seed
    );
}

/// The campaign again, with segment rolls and group-log compactions failing under it: rolls
/// every 64 KiB, a group log compacted once past 4 KiB. Failed appends and commits are answered
/// as failures (clients retry them); what was acknowledged is all there after every kill.
#[tokio::test(flavor = "multi_thread")]
async fn crash_campaign_with_failing_segment_rolls_and_group_log_compactions_loses_nothing() {
    let cycles = cycles_from_env();
    let seed = Rng::seed_from_env("WEIR_CRASH_SEED");
    let budget = Duration::from_secs(30 + 10 * cycles as u64);
    let extra = [
        "--set",
        "log.segment.bytes=16384",
        "--set",
        "offsets.topic.segment.bytes=4096",
        "--io-faults",
        ROLL_AND_COMPACTION_FAULTS,
    ];
    let report = tokio::time::timeout(budget, run_campaign_with(cycles, seed, &extra))
        .await
        .unwrap_or_else(|_| panic!("campaign (seed {seed}) took longer than {budget:?}"));
    for point in ["segment-create", "index-create", "dir-sync", "rename"] {
        assert!(
            report.injected_failures.contains_key(point),
            "no {point} failure was injected: {report:?}"
        );
    }
    println!(
        "crash campaign with failing rolls and compactions: {} cycles, I/O failures \
         injected {:?}, {} records acknowledged, {} lost, {} duplicates ({} re-sent by a \
         producer under a new epoch), {} segments, {} commits acknowledged ({} behind), {:.1} s \
         (seed {})",
        report.cycles,
        report.injected_failures,
        report.acked,
        report.lost,
        report.duplicates,
        report.resent_after_epoch_bump,
        report.segments,
        report.commits_acked,
        report.commits_behind,
        report.elapsed.as_secs_f64(),
        report.seed
    );
}
