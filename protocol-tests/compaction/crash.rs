//! kill -9 during cleaning passes, at each file operation of a pass: the broker runs with an
//! I/O fault rule that stalls the chosen operation (`--io-faults POINT:in=FILE:stall`), the
//! test kills it as soon as it stalls there, restarts it on the same folder and checks that
//! every key's latest acknowledged value is served, offsets only grow, no file of the pass is
//! left behind, and the folder opens cleanly with the log's own recovery (every batch read back
//! and CRC-checked).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureRecord;
use rdkafka::ClientConfig;
use weir::log::{LogConfig, PartitionLog};

use super::{latest, read_all};
use crate::support::broker::ProcessBroker;
use crate::support::rdkafka_clients::producer;

const TOPIC: &str = "crashed";

/// (point, file fragment, skip): the operations a pass makes, in order.
const STALLS: &[(&str, &str, u64)] = &[
    ("segment-create", ".log.cleaned", 0),
    ("write", ".log.cleaned", 0),
    ("fsync", ".log.cleaned", 0),
    ("write", "cleaner-swap.tmp", 0),
    ("rename", "cleaner-swap.tmp", 0),
    ("remove", "crashed-0/0000", 0),
    ("rename", ".index.cleaned", 0),
    ("rename", ".log.cleaned", 0),
    ("remove", "crashed-0/cleaner-swap", 0),
    ("write", "cleaner-checkpoint.tmp", 0),
    ("rename", "cleaner-checkpoint.tmp", 0),
    // The same points in a later pass, over already cleaned segments.
    ("rename", "cleaner-swap.tmp", 1),
    ("rename", ".log.cleaned", 2),
];

const ARGS: &[&str] = &[
    "--set",
    "log.flush.interval.messages=1",
    "--set",
    "log.cleaner.backoff.ms=20",
];

async fn create(bootstrap: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let topic = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.bytes", "2048")
        .set("min.cleanable.dirty.ratio", "0.01");
    let created = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
}

/// Produces rounds of updates to 20 keys until the broker stalls (or `limit` rounds); returns
/// the latest acknowledged value per key.
async fn produce_until_stalled(
    broker: &ProcessBroker,
    acked: &mut BTreeMap<String, Option<String>>,
    what: &str,
) {
    let p = producer(&broker.addr.to_string(), &[("message.timeout.ms", "3000")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    for round in 0.. {
        if !broker.injected.lock().unwrap().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: no stall within 30 s");
        for k in 0..20 {
            let key = format!("key-{k}");
            let value = format!("{round}");
            let sent = p
                .send(
                    FutureRecord::to(TOPIC).key(&key).payload(&value),
                    Duration::from_secs(3),
                )
                .await;
            if sent.is_ok() {
                acked.insert(key, Some(value));
            } else if !broker.injected.lock().unwrap().is_empty() {
                return;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_killed_at_any_step_of_a_cleaning_pass_keeps_every_latest_value() {
    for &(point, file, skip) in STALLS {
        let what = format!("{point} {file} #{skip}");
        let dir = tempfile::tempdir().unwrap();
        let broker = super::spawn_stalling(dir.path(), ARGS, (point, file, skip));
        create(&broker.addr.to_string()).await;
        let mut acked = BTreeMap::new();
        produce_until_stalled(&broker, &mut acked, &what).await;
        broker.kill_hard();

        let broker = ProcessBroker::spawn(dir.path(), ARGS);
        let records = read_all(&broker.addr.to_string(), TOPIC);
        let found = latest(&records);
        for (key, value) in &acked {
            assert_eq!(found.get(key), Some(value), "{what}: latest value of {key}");
        }
        assert!(records.windows(2).all(|w| w[0].0 < w[1].0), "{what}");
        broker.kill_hard();

        let folder = dir.path().join(format!("{TOPIC}-0"));
        let config = LogConfig {
            compact: true,
            delete: false,
            ..LogConfig::default()
        };
        let log = PartitionLog::open(folder.clone(), config).expect("the log opens");
        let mut bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
        let batches = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut bytes)
            .expect("every batch decodes with a good CRC");
        let stored: usize = batches.iter().map(|b| b.records.len()).sum();
        assert!(stored >= acked.len(), "{what}");
        drop(log);
        let leftovers: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.starts_with("cleaner-swap"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
}
