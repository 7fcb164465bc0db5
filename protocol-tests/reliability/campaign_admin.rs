//! The crash campaign for topic administration: a `weir serve` process is killed with SIGKILL
//! at random moments while a client creates topics, adds partitions, deletes topics and
//! produces acks=all records to them (fsync before every answer), with some registry writes and
//! folder creations failing on purpose (`--io-faults`). After every restart the broker is
//! checked against the answers it gave:
//!
//! - a topic whose creation was answered exists, with the partitions last answered, until its
//!   deletion is answered; a topic whose deletion was answered never comes back;
//! - every acknowledged record of a topic that exists reads back at its offset;
//! - the operation the kill cut off took effect whole or not at all: a creation, a deletion, a
//!   partition count between two answers;
//! - no partition folder is left that no topic owns.
//!
//! `WEIR_ADMIN_CRASH_CYCLES` sets the number of cycles (default 12), `WEIR_CRASH_SEED` replays
//! a run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
    ProduceRequest,
};
use kafka_protocol::protocol::Request;
use kafka_protocol::records::{
    Compression, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};

use super::Rng;
use crate::support::broker::ProcessBroker;
use crate::support::raw::*;

const PREFIX: &str = "adm";
const BROKER_ARGS: &[&str] = &[
    "--set",
    "log.flush.interval.messages=1",
    "--set",
    "log.segment.bytes=4096",
    "--set",
    "auto.create.topics.enable=false",
    "--io-faults",
    "dir-create:in=adm:skip=20:every=97,rename:in=topics.tmp:skip=2:every=23,\
     write:in=topics.tmp:skip=5:every=31",
];

/// A change the client asked for.
#[derive(Clone, Debug)]
enum Op {
    Create(String, i32),
    Grow(String, i32),
    Delete(String),
    Produce(String, i32, Bytes),
}

/// An acknowledged record: partition, offset, value.
type Acked = (i32, i64, Bytes);

/// What the broker acknowledged.
#[derive(Default, Clone, Debug)]
struct Model {
    /// Live topics: acknowledged partition count and acknowledged records.
    live: BTreeMap<String, (i32, Vec<Acked>)>,
    /// Topics whose deletion was acknowledged.
    deleted: BTreeSet<String>,
    next_topic: usize,
}

#[derive(Default, Debug)]
pub struct AdminCampaignReport {
    pub seed: u64,
    pub cycles: usize,
    pub created: usize,
    pub grown: usize,
    pub deleted: usize,
    pub refused: usize,
    pub records_acked: usize,
    pub records_lost: usize,
    pub cut_off: BTreeMap<&'static str, (usize, usize)>,
    pub orphan_folders: usize,
    pub injected_failures: BTreeMap<String, usize>,
    pub elapsed: Duration,
}

/// One request; `None` when the broker went away before answering.
async fn call<R: Request>(
    client: &mut RawClient,
    version: i16,
    request: &R,
) -> Option<R::Response> {
    client.try_call(version, request).await
}

fn record_batch(value: &Bytes) -> Bytes {
    let mut record = sample_records(1, 1).remove(0);
    record.value = Some(value.clone());
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

fn choose(rng: &mut Rng, model: &mut Model, serial: &mut u64) -> Op {
    let live: Vec<&String> = model.live.keys().collect();
    let roll = rng.below(100);
    if live.len() < 2 || (roll < 15 && live.len() < 6) {
        model.next_topic += 1;
        return Op::Create(
            format!("{PREFIX}{}", model.next_topic),
            1 + rng.below(16) as i32,
        );
    }
    let name = live[rng.below(live.len())].clone();
    let count = model.live[&name].0;
    match roll {
        15..=26 => Op::Grow(name, count + 1 + rng.below(10) as i32),
        27..=34 => Op::Delete(name),
        _ => {
            *serial += 1;
            let value = Bytes::from(format!("{name}-{serial}"));
            Op::Produce(name, rng.below(count as usize) as i32, value)
        }
    }
}

/// Runs operations until the broker goes away; returns the one it cut off, if any.
async fn run_ops(
    addr: std::net::SocketAddr,
    mut model: Model,
    mut rng: Rng,
    mut serial: u64,
    report: &mut AdminCampaignReport,
) -> (Model, Option<Op>, u64) {
    let mut client = RawClient::connect(addr).await;
    let create_version = client.version::<CreateTopicsRequest>(5);
    let grow_version = client.version::<CreatePartitionsRequest>(3);
    let delete_version = client.version::<DeleteTopicsRequest>(4);
    let produce_version = client.version::<ProduceRequest>(9);
    loop {
        let op = choose(&mut rng, &mut model, &mut serial);
        let answered = match &op {
            Op::Create(name, n) => {
                let request = CreateTopicsRequest::default()
                    .with_topics(vec![CreatableTopic::default()
                        .with_name(topic_name(name))
                        .with_num_partitions(*n)
                        .with_replication_factor(1)])
                    .with_timeout_ms(10_000);
                call(&mut client, create_version, &request).await.map(|r| {
                    let ok = r.topics[0].error_code == 0;
                    if ok {
                        model.live.insert(name.clone(), (*n, Vec::new()));
                        report.created += 1;
                    }
                    ok
                })
            }
            Op::Grow(name, to) => {
                let request = CreatePartitionsRequest::default()
                    .with_topics(vec![CreatePartitionsTopic::default()
                        .with_name(topic_name(name))
                        .with_count(*to)])
                    .with_timeout_ms(10_000);
                call(&mut client, grow_version, &request).await.map(|r| {
                    let ok = r.results[0].error_code == 0;
                    if ok {
                        if let Some(t) = model.live.get_mut(name) {
                            t.0 = *to;
                        }
                        report.grown += 1;
                    }
                    ok
                })
            }
            Op::Delete(name) => {
                let request = DeleteTopicsRequest::default()
                    .with_topic_names(vec![topic_name(name)])
                    .with_timeout_ms(10_000);
                call(&mut client, delete_version, &request).await.map(|r| {
                    let ok = r.responses[0].error_code == 0;
                    if ok {
                        model.live.remove(name);
                        model.deleted.insert(name.clone());
                        report.deleted += 1;
                    }
                    ok
                })
            }
            Op::Produce(name, p, value) => {
                let request = produce_request(name, vec![(*p, record_batch(value))]);
                call(&mut client, produce_version, &request).await.map(|r| {
                    let answer = &r.responses[0].partition_responses[0];
                    let ok = answer.error_code == 0;
                    if ok {
                        if let Some(t) = model.live.get_mut(name) {
                            t.1.push((*p, answer.base_offset, value.clone()));
                        }
                        report.records_acked += 1;
                    }
                    ok
                })
            }
        };
        match answered {
            Some(true) => {}
            Some(false) => report.refused += 1,
            None => return (model, Some(op), serial),
        }
    }
}

/// Topic name -> partition count, as Metadata reports it.
async fn topics(client: &mut RawClient) -> BTreeMap<String, i32> {
    let version = client.version::<MetadataRequest>(9);
    let response = client
        .call(version, &MetadataRequest::default().with_topics(None))
        .await;
    response
        .topics
        .iter()
        .filter_map(|t| Some((t.name.as_ref()?.to_string(), t.partitions.len() as i32)))
        .collect()
}

/// Offset -> value of every record of a partition.
async fn stored(client: &mut RawClient, topic: &str, partition: i32) -> BTreeMap<i64, Bytes> {
    let mut out = BTreeMap::new();
    let mut next = 0;
    loop {
        let (error, high_watermark, mut records) = client.fetch(topic, partition, next).await;
        assert_eq!(error, code::NONE, "fetch {topic}/{partition} at {next}");
        if next >= high_watermark || records.is_empty() {
            return out;
        }
        for set in RecordBatchDecoder::decode_all(&mut records).expect("decode stored batches") {
            for r in set.records {
                next = r.offset + 1;
                out.insert(r.offset, r.value.unwrap_or_default());
            }
        }
    }
}

/// Partition folders in `data` of campaign topics: (topic, partition).
fn folders(data: &Path) -> Vec<(String, i32)> {
    std::fs::read_dir(data)
        .expect("list data folder")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (topic, p) = name.rsplit_once('-')?;
            (topic.starts_with(PREFIX) && e.path().is_dir())
                .then(|| Some((topic.to_string(), p.parse().ok()?)))
                .flatten()
        })
        .collect()
}

/// Checks the restarted broker against `model` and the cut-off operation, and brings the model
/// up to what the broker now holds.
async fn check(
    addr: std::net::SocketAddr,
    data: &Path,
    model: &mut Model,
    cut: Option<Op>,
    report: &mut AdminCampaignReport,
) {
    let mut client = RawClient::connect(addr).await;
    let now = topics(&mut client).await;
    let mut took = |what: &'static str, effect: bool| {
        let e = report.cut_off.entry(what).or_default();
        if effect {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    };
    match &cut {
        Some(Op::Create(name, n)) => match now.get(name) {
            Some(count) => {
                assert_eq!(count, n, "{name}: a creation cut off took effect in part");
                model.live.insert(name.clone(), (*n, Vec::new()));
                took("create", true);
            }
            None => took("create", false),
        },
        Some(Op::Grow(name, to)) => {
            let before = model.live[name].0;
            let count = now.get(name).copied();
            assert!(
                count == Some(before) || count == Some(*to),
                "{name}: {count:?} partitions after an addition from {before} to {to} was cut off"
            );
            took("add partitions", count == Some(*to));
            if let Some(t) = model.live.get_mut(name) {
                t.0 = count.unwrap_or(before);
            }
        }
        Some(Op::Delete(name)) => {
            let gone = !now.contains_key(name);
            took("delete", gone);
            if gone {
                model.live.remove(name);
                model.deleted.insert(name.clone());
            }
        }
        Some(Op::Produce(..)) => took("produce", false),
        None => {}
    }
    for name in &model.deleted {
        assert!(!now.contains_key(name), "deleted topic {name} came back");
    }
    for (name, (count, records)) in &model.live {
        assert_eq!(
            now.get(name),
            Some(count),
            "{name}: acknowledged with {count} partitions"
        );
        let mut by_partition: BTreeMap<i32, Vec<(i64, &Bytes)>> = BTreeMap::new();
        for (p, offset, value) in records {
            by_partition.entry(*p).or_default().push((*offset, value));
        }
        for (p, acked) in by_partition {
            let have = stored(&mut client, name, p).await;
            for (offset, value) in acked {
                if have.get(&offset) != Some(value) {
                    report.records_lost += 1;
                    println!("{name}/{p}: acknowledged record at {offset} lost");
                }
            }
        }
    }
    for (topic, p) in folders(data) {
        if now.get(&topic).is_none_or(|count| p >= *count) {
            report.orphan_folders += 1;
            println!("orphan folder {topic}-{p}");
        }
    }
}

async fn spawn(listen: &str, data: &Path) -> ProcessBroker {
    let (listen, data) = (listen.to_string(), data.to_path_buf());
    tokio::task::spawn_blocking(move || ProcessBroker::spawn_on(&listen, &data, BROKER_ARGS))
        .await
        .expect("spawn thread")
}

fn add_injected(report: &mut AdminCampaignReport, broker: &ProcessBroker) {
    for (point, n) in broker.injected.lock().unwrap().iter() {
        *report.injected_failures.entry(point.clone()).or_insert(0) += n;
    }
}

pub async fn run_admin_campaign(cycles: usize, seed: u64) -> AdminCampaignReport {
    println!("admin crash campaign: {cycles} cycles, seed {seed} (WEIR_CRASH_SEED replays it)");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let data: PathBuf = dir.path().to_path_buf();
    let mut rng = Rng::new(seed);
    let listen = "127.0.0.1:0".to_string();
    let mut report = AdminCampaignReport {
        seed,
        cycles,
        ..AdminCampaignReport::default()
    };
    let mut model = Model::default();
    let mut serial = 0;
    for cycle in 0..cycles {
        let broker = spawn(&listen, &data).await;
        let addr = broker.addr;
        let ops_rng = Rng::new(rng.next_u64());
        let runner = {
            let model = model.clone();
            let mut partial = AdminCampaignReport::default();
            tokio::spawn(async move {
                let out = run_ops(addr, model, ops_rng, serial, &mut partial).await;
                (out, partial)
            })
        };
        tokio::time::sleep(Duration::from_millis(rng.range(50, 600))).await;
        add_injected(&mut report, &broker);
        broker.kill_hard();
        let ((next, cut, next_serial), partial) = runner.await.expect("operations task");
        model = next;
        serial = next_serial;
        report.created += partial.created;
        report.grown += partial.grown;
        report.deleted += partial.deleted;
        report.refused += partial.refused;
        report.records_acked += partial.records_acked;
        println!("cycle {cycle}: killed during {cut:?}");

        let broker = spawn(&listen, &data).await;
        check(broker.addr, &data, &mut model, cut, &mut report).await;
        add_injected(&mut report, &broker);
        broker.kill_hard();
    }
    report.elapsed = started.elapsed();
    println!("{report:#?}");
    report
}

fn cycles_from_env() -> usize {
    std::env::var("WEIR_ADMIN_CRASH_CYCLES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(12)
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_campaign_of_topic_creation_growth_and_deletion_loses_and_resurrects_nothing() {
    let cycles = cycles_from_env();
    let seed = Rng::seed_from_env("WEIR_CRASH_SEED");
    let budget = Duration::from_secs(60 + 10 * cycles as u64);
    let report = tokio::time::timeout(budget, run_admin_campaign(cycles, seed))
        .await
        .unwrap_or_else(|_| panic!("admin campaign (seed {seed}) took longer than {budget:?}"));
    assert_eq!(
        report.records_lost, 0,
        "acknowledged records lost: {report:?}"
    );
    assert_eq!(
        report.orphan_folders, 0,
        "orphan partition folders: {report:?}"
    );
    assert!(report.created > 0 && report.records_acked > 0, "{report:?}");
    println!(
        "admin crash campaign: {} cycles, {} topics created, {} grown, {} deleted, {} refused \
         (injected {:?}), {} records acknowledged, {} lost, cut off (took effect, did not) {:?}, \
         {} orphan folders, {:.1} s (seed {})",
        report.cycles,
        report.created,
        report.grown,
        report.deleted,
        report.refused,
        report.injected_failures,
        report.records_acked,
        report.records_lost,
        report.cut_off,
        report.orphan_folders,
        report.elapsed.as_secs_f64(),
        report.seed
    );
}
