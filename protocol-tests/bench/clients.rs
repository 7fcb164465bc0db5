//! librdkafka (through rdkafka) clients that drive the broker: bulk producers, consumers that
//! read everything back (by assignment or as a group), and the two latency probes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

// The statistics helper of the protocol tests; only part of it is used here.
#[allow(dead_code)]
#[path = "../support/stats.rs"]
mod stats;

use stats::Stats;

const SETUP: Duration = Duration::from_secs(20);

/// Client settings every client of this bench gets on top of its own (security settings for
/// the TLS and SASL workloads); empty for plaintext.
static SECURITY: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Sets the security settings of the clients created from now on.
pub fn set_security(settings: &[(&str, String)]) {
    let mut current = SECURITY.lock().unwrap_or_else(|p| p.into_inner());
    *current = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
}

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in SECURITY.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        config.set(k, v);
    }
    config
}
/// Upper bound for any one phase; a run that takes longer is reported as failed.
const PHASE_LIMIT: Duration = Duration::from_secs(300);

pub fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = client_config()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("admin client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(admin.create_topics(
        &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
        &AdminOptions::new().operation_timeout(Some(SETUP)),
    ));
    match result.expect("CreateTopics").as_slice() {
        [Ok(_)] => {}
        other => panic!("CreateTopics {topic}: {other:?}"),
    }
}

/// How records are produced.
#[derive(Clone, Copy, Debug)]
pub struct ProduceSpec {
    pub records: u64,
    pub record_size: usize,
    pub acks: i32,
    pub producers: usize,
}

#[derive(Default)]
struct Counting {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.delivered.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
        };
    }
}

fn producer_config(bootstrap: &str, acks: i32, linger_ms: u32) -> ClientConfig {
    let mut config = client_config();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks.to_string())
        .set("linger.ms", linger_ms.to_string())
        .set("batch.size", "1000000")
        .set("batch.num.messages", "1000000")
        .set("compression.type", compression())
        .set("message.timeout.ms", "60000");
    config
}

/// `WEIR_BENCH_COMPRESSION` (none, gzip, snappy, lz4, zstd); none by default.
fn compression() -> String {
    std::env::var("WEIR_BENCH_COMPRESSION").unwrap_or_else(|_| "none".into())
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Produces `spec.records` records (split over `spec.producers` clients, each on its own
/// thread) with linger.ms=5 and 1 MB batches. Returns the time from the common start to the
/// last acknowledgement.
pub fn produce(bootstrap: &str, topic: &str, spec: ProduceSpec) -> Duration {
    let start = Arc::new(Barrier::new(spec.producers + 1));
    let threads: Vec<_> = (0..spec.producers)
        .map(|i| {
            let share = spec.records / spec.producers as u64
                + u64::from((i as u64) < spec.records % spec.producers as u64);
            let (bootstrap, topic, start) =
                (bootstrap.to_string(), topic.to_string(), start.clone());
            std::thread::spawn(move || produce_one(&bootstrap, &topic, spec, share, &start))
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for t in threads {
        t.join().expect("producer thread");
    }
    began.elapsed()
}

fn produce_one(bootstrap: &str, topic: &str, spec: ProduceSpec, count: u64, start: &Barrier) {
    let producer: BaseProducer<Counting> = producer_config(bootstrap, spec.acks, 5)
        .create_with_context(Counting::default())
        .expect("producer");
    // Connect and learn the partitions before the clock starts.
    producer
        .client()
        .fetch_metadata(Some(topic), SETUP)
        .expect("producer metadata");
    let body = payload(spec.record_size);
    start.wait();
    let deadline = Instant::now() + PHASE_LIMIT;
    for i in 0..count {
        let mut record = BaseRecord::<(), [u8]>::to(topic).payload(&body[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                    assert!(Instant::now() < deadline, "produce phase over time");
                }
                Err((e, _)) => panic!("produce: {e}"),
            }
        }
        if i % 4096 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(PHASE_LIMIT).expect("flush");
    let ctx = producer.context();
    let failed = ctx.failed.load(Ordering::Relaxed);
    assert_eq!(failed, 0, "{failed} records were not acknowledged");
    assert_eq!(ctx.delivered.load(Ordering::Relaxed), count);
}

fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = client_config();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // librdkafka pauses a partition's fetches for fetch.queue.backoff.ms (default 1 s)
        // whenever its prefetch queue is over queued.min.messages (100,000): with 100 B
        // records that measures the pause, not the broker.
        .set("fetch.queue.backoff.ms", "1");
    config
}

/// What reading everything back measured.
pub struct Consumed {
    /// First fetch (or, for a group, first record) to the last record.
    pub elapsed: Duration,
    pub bytes: u64,
    /// For a group: subscribe to the moment every member had received records.
    pub group_ready: Option<Duration>,
}

/// One consumer assigned every partition from the beginning reads `records` records.
pub fn consume_assigned(bootstrap: &str, topic: &str, partitions: i32, records: u64) -> Consumed {
    let consumer: BaseConsumer = consumer_config(bootstrap, "weir-bench-assign")
        .create()
        .expect("consumer");
    consumer
        .client()
        .fetch_metadata(Some(topic), SETUP)
        .expect("consumer metadata");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    let began = Instant::now();
    consumer.assign(&tpl).expect("assign");
    let (mut got, mut bytes) = (0u64, 0u64);
    while got < records {
        assert!(began.elapsed() < PHASE_LIMIT, "consume phase over time");
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                got += 1;
                bytes += m.payload_len() as u64;
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    Consumed {
        elapsed: began.elapsed(),
        bytes,
        group_ready: None,
    }
}

/// `members` consumers in one new group subscribe to `topic` and together read `records`.
pub fn consume_group(bootstrap: &str, topic: &str, members: usize, records: u64) -> Consumed {
    let total = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let group = format!("weir-bench-group-{}", std::process::id());
    let start = Arc::new(Barrier::new(members + 1));
    let threads: Vec<_> = (0..members)
        .map(|_| {
            let (bootstrap, topic, group) =
                (bootstrap.to_string(), topic.to_string(), group.clone());
            let (total, bytes, start) = (total.clone(), bytes.clone(), start.clone());
            std::thread::spawn(move || {
                let consumer: BaseConsumer = consumer_config(&bootstrap, &group)
                    .create()
                    .expect("group consumer");
                start.wait();
                let subscribed = Instant::now();
                consumer.subscribe(&[&topic]).expect("subscribe");
                let mut first = None;
                let mut last = subscribed;
                while total.load(Ordering::Relaxed) < records {
                    assert!(subscribed.elapsed() < PHASE_LIMIT, "group phase over time");
                    match consumer.poll(Duration::from_millis(20)) {
                        Some(Ok(m)) => {
                            let now = Instant::now();
                            first.get_or_insert(now);
                            last = now;
                            bytes.fetch_add(m.payload_len() as u64, Ordering::Relaxed);
                            total.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(Err(e)) => panic!("group consume: {e}"),
                        None => {}
                    }
                }
                (subscribed, first, last)
            })
        })
        .collect();
    start.wait();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("group consumer thread"))
        .collect();
    let subscribed = results
        .iter()
        .map(|r| r.0)
        .min()
        .unwrap_or_else(Instant::now);
    let firsts: Vec<Instant> = results.iter().filter_map(|r| r.1).collect();
    let first = firsts.iter().min().copied().unwrap_or(subscribed);
    let all_ready = firsts.iter().max().copied().unwrap_or(subscribed);
    let last = results.iter().map(|r| r.2).max().unwrap_or(first);
    Consumed {
        elapsed: last.duration_since(first),
        bytes: bytes.load(Ordering::Relaxed),
        group_ready: (firsts.len() == members).then(|| all_ready.duration_since(subscribed)),
    }
}

/// Records each acknowledgement's latency (the opaque is the send time).
#[derive(Default)]
struct Timing {
    latencies: Mutex<Vec<Duration>>,
    failed: AtomicU64,
}

impl ClientContext for Timing {}

impl ProducerContext for Timing {
    type DeliveryOpaque = Box<Instant>;
    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        let elapsed = sent.elapsed();
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        } else if let Ok(mut l) = self.latencies.lock() {
            l.push(elapsed);
        }
    }
}

/// Sends `count` records of `size` bytes at `rate` per second with linger.ms=0 and acks=1,
/// one at a time, and returns the acknowledgement latencies after `warmup` records.
/// `stamp` lets the caller write into each payload just before it is sent.
pub fn paced_produce(
    bootstrap: &str,
    topic: &str,
    count: usize,
    warmup: usize,
    rate: u32,
    size: usize,
    stamp: &dyn Fn(&mut [u8], usize),
) -> Vec<Duration> {
    let producer: BaseProducer<Timing> = producer_config(bootstrap, 1, 0)
        .create_with_context(Timing::default())
        .expect("producer");
    producer
        .client()
        .fetch_metadata(Some(topic), SETUP)
        .expect("producer metadata");
    let mut body = payload(size.max(16));
    let interval = Duration::from_secs(1) / rate;
    let began = Instant::now();
    for i in 0..count {
        let due = began + interval * i as u32;
        while Instant::now() < due {
            producer.poll(due.saturating_duration_since(Instant::now()));
        }
        stamp(&mut body, i);
        let record = BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
            .key(&[] as &[u8])
            .payload(&body[..])
            .partition(0);
        if let Err((e, _)) = producer.send::<[u8], [u8]>(record) {
            panic!("paced produce: {e}");
        }
        // Wait for this acknowledgement (or the next send time) before sending again.
        let next = due + interval;
        while ack_count(producer.context()) < i + 1 && Instant::now() < next {
            producer.poll(Duration::from_micros(200));
        }
    }
    producer.flush(SETUP).expect("flush");
    let ctx = producer.context();
    assert_eq!(
        ctx.failed.load(Ordering::Relaxed),
        0,
        "paced produce failed"
    );
    let mut latencies = ctx.latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.drain(..warmup.min(latencies.len()));
    latencies
}

fn ack_count(ctx: &Timing) -> usize {
    ctx.latencies.lock().map(|l| l.len()).unwrap_or(0) + ctx.failed.load(Ordering::Relaxed) as usize
}

/// Producer-to-consumer latency: a consumer long-polls partition 0 while records stamped
/// with their send time are produced at `rate`; returns latencies after `warmup` records.
pub fn end_to_end(
    bootstrap: &str,
    topic: &str,
    count: usize,
    warmup: usize,
    rate: u32,
) -> Vec<Duration> {
    let base = Instant::now();
    let stats = Stats::default();
    let consumer: BaseConsumer<Stats> =
        Stats::enable(&mut consumer_config(bootstrap, "weir-bench-e2e"))
            .create_with_context(stats.clone())
            .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::with_capacity(count);
        let deadline = Instant::now() + PHASE_LIMIT;
        while out.len() < count && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let now = base.elapsed();
                let sent = m
                    .payload()
                    .and_then(|p| p.get(..8))
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                out.push(now.saturating_sub(Duration::from_nanos(sent)));
            }
        }
        out
    });
    // The first record goes out once the consumer is long-polling.
    let deadline = Instant::now() + SETUP;
    while stats.fetch_in_flight(topic, 0).is_none() {
        assert!(Instant::now() < deadline, "the e2e consumer never fetched");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stamp = move |body: &mut [u8], _i: usize| {
        let nanos = base.elapsed().as_nanos() as u64;
        body[..8].copy_from_slice(&nanos.to_be_bytes());
    };
    paced_produce(bootstrap, topic, count, 0, rate, 100, &stamp);
    let mut latencies = reader.join().expect("e2e consumer");
    latencies.drain(..warmup.min(latencies.len()));
    latencies
}
