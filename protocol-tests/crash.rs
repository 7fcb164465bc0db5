//! Durability across SIGKILL: a `weir serve` process is killed hard while an idempotent
//! acks=all producer is writing; after a restart on the same data every acknowledged record is
//! present exactly once, at the offset the broker acknowledged, with contiguous offsets.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::support::broker::ProcessBroker;

const TOPIC: &str = "crash-durability";
const PARTITIONS: i32 = 2;
const CYCLES: usize = 3;
const WAIT: Duration = Duration::from_secs(20);
const BROKER_ARGS: &[&str] = &["--set", "log.flush.interval.messages=1"];

/// A record the broker acknowledged: where it said it put it, and what it was.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Ack {
    partition: i32,
    offset: i64,
    key: String,
    value: String,
}

#[derive(Clone, Default)]
struct RecordAcks(Arc<Mutex<Vec<Ack>>>);

impl ClientContext for RecordAcks {}

impl ProducerContext for RecordAcks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(message) = result {
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            self.0.lock().unwrap().push(Ack {
                partition: message.partition(),
                offset: message.offset(),
                key: text(message.key()),
                value: text(message.payload()),
            });
        }
    }
}

/// Produces continuously from its own thread until told to stop.
struct BackgroundProducer {
    acks: RecordAcks,
    sent: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl BackgroundProducer {
    fn start(bootstrap: String, cycle: usize) -> BackgroundProducer {
        let acks = RecordAcks::default();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let producer: BaseProducer<RecordAcks> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.timeout.ms", "30000")
            .create_with_context(acks.clone())
            .expect("create idempotent producer");
        let thread = {
            let stop = stop.clone();
            let sent = sent.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Keep a bounded backlog so the kill lands mid-stream, not mid-queue.
                    if producer.in_flight_count() > 500 {
                        producer.poll(Duration::from_millis(5));
                        continue;
                    }
                    let key = format!("c{cycle}-k{}", i % 16);
                    let value = format!("c{cycle}-v{i}");
                    match producer.send(BaseRecord::to(TOPIC).key(&key).payload(&value)) {
                        Ok(()) => {
                            i += 1;
                            sent.store(i as usize, Ordering::Relaxed);
                        }
                        Err(_) => {
                            producer.poll(Duration::from_millis(5));
                            continue;
                        }
                    }
                    producer.poll(Duration::ZERO);
                    std::thread::sleep(Duration::from_micros(500));
                }
                // Dropping purges whatever was never acknowledged.
                drop(producer);
            })
        };
        BackgroundProducer {
            acks,
            sent,
            stop,
            thread,
        }
    }

    fn sent_count(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    fn ack_count(&self) -> usize {
        self.acks.0.lock().unwrap().len()
    }

    fn stop(self) -> Vec<Ack> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("producer thread panicked");
        let acks = self.acks.0.lock().unwrap().clone();
        acks
    }
}

async fn spawn_broker(dir: PathBuf) -> ProcessBroker {
    tokio::task::spawn_blocking(move || ProcessBroker::spawn(&dir, BROKER_ARGS))
        .await
        .expect("spawn thread")
}

/// Reads every partition from the beginning and checks the acknowledged records against it.
fn verify(bootstrap: &str, acked: &[Ack], label: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka refuses `assign` without one; nothing subscribes or commits.
        .set("group.id", "weir-crash-verify")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("create consumer");
    let mut total = 0;
    for partition in 0..PARTITIONS {
        let (low, high) = consumer
            .fetch_watermarks(TOPIC, partition, WAIT)
            .unwrap_or_else(|e| panic!("{label}: watermarks of {partition}: {e}"));
        assert_eq!(low, 0, "{label}: log start of partition {partition}");

        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(TOPIC, partition, Offset::Beginning)
            .unwrap();
        consumer.assign(&assignment).expect("assign");
        let mut stored: Vec<(i64, String, String)> = Vec::new();
        let deadline = Instant::now() + WAIT;
        while (stored.len() as i64) < high {
            assert!(
                Instant::now() < deadline,
                "{label}: partition {partition}: read {} of {high} records before timing out",
                stored.len()
            );
            if let Some(message) = consumer.poll(Duration::from_millis(200)) {
                let message = message.unwrap_or_else(|e| panic!("{label}: consume: {e}"));
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                stored.push((
                    message.offset(),
                    text(message.key()),
                    text(message.payload()),
                ));
            }
        }

        let offsets: Vec<i64> = stored.iter().map(|s| s.0).collect();
        assert_eq!(
            offsets,
            (0..high).collect::<Vec<_>>(),
            "{label}: partition {partition}: offsets not contiguous from 0"
        );
        let mut seen: HashMap<&str, i64> = HashMap::new();
        for (offset, _, value) in &stored {
            if let Some(first) = seen.insert(value, *offset) {
                panic!(
                    "{label}: partition {partition}: {value} stored twice, at {first} and {offset}"
                );
            }
        }
        for ack in acked.iter().filter(|a| a.partition == partition) {
            let at = stored.get(ack.offset as usize).unwrap_or_else(|| {
                panic!("{label}: acknowledged {ack:?} is past the log end {high} (lost)")
            });
            assert_eq!(
                (&at.1, &at.2),
                (&ack.key, &ack.value),
                "{label}: partition {partition} offset {}: acknowledged record replaced",
                ack.offset
            );
        }
        total += stored.len();
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_records_survive_sigkill_exactly_once_at_their_offsets() {
    tokio::time::timeout(Duration::from_secs(55), run_crash_cycles())
        .await
        .expect("crash cycles took longer than 55 s");
}

async fn run_crash_cycles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acked: Vec<Ack> = Vec::new();
    let mut stored_before = 0;

    for cycle in 0..CYCLES {
        let broker = spawn_broker(dir.path().to_path_buf()).await;
        let bootstrap = broker.bootstrap();
        if cycle == 0 {
            let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .create()
                .expect("admin client");
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
            assert_eq!(created, vec![Ok(TOPIC.to_string())]);
        } else {
            let so_far = acked.clone();
            let label = format!("after kill {cycle}");
            let b = bootstrap.clone();
            stored_before = tokio::task::spawn_blocking(move || verify(&b, &so_far, &label))
                .await
                .unwrap();
        }

        // Produce until a fair number of acknowledgements, then kill while still producing.
        let producer = BackgroundProducer::start(bootstrap.clone(), cycle);
        let target = 150 + 100 * cycle;
        let deadline = Instant::now() + WAIT;
        while producer.ack_count() < target {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: only {} acknowledgements in {WAIT:?}",
                producer.ack_count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Then keep streaming a little (a different time each cycle) so the kill lands while
        // produce requests are in flight.
        tokio::time::sleep(Duration::from_millis(30 + 45 * cycle as u64)).await;
        broker.kill_hard();
        let acked_at_kill = producer.ack_count();
        let sent_at_kill = producer.sent_count();
        let new_acks = tokio::task::spawn_blocking(move || producer.stop())
            .await
            .unwrap();
        assert!(new_acks.len() >= target);
        println!(
            "cycle {cycle}: {} acks ({acked_at_kill} acked of {sent_at_kill} sent when killed), \
             {stored_before} records stored before",
            new_acks.len()
        );
        let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        for ack in &new_acks {
            per_partition
                .entry(ack.partition)
                .or_default()
                .push(ack.offset);
        }
        for (partition, offsets) in per_partition {
            let mut sorted = offsets.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                offsets.len(),
                "cycle {cycle}: partition {partition}: two acks at one offset"
            );
        }
        acked.extend(new_acks);
    }

    let broker = spawn_broker(dir.path().to_path_buf()).await;
    let bootstrap = broker.bootstrap();
    let label = "after the last kill".to_string();
    let all = acked.clone();
    let stored = tokio::task::spawn_blocking(move || verify(&bootstrap, &all, &label))
        .await
        .unwrap();
    assert!(
        stored >= acked.len(),
        "fewer records stored ({stored}) than acknowledged ({})",
        acked.len()
    );
    assert!(stored >= stored_before, "the log shrank across a restart");
    println!(
        "{} acknowledged, {stored} stored after {CYCLES} kills",
        acked.len()
    );
}
