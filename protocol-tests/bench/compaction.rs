//! `--only compaction`: the log cleaner on one broker process.
//!
//! 1. A compacted topic gets `records` records of 1 KiB over `records / 10` keys (10% live
//!    keys) while its `min.cleanable.dirty.ratio` is 1.0 (nothing cleaned), and rolls.
//! 2. Cleaner throughput: the ratio drops to 0.01 and the time until the partition's size (as
//!    DescribeLogDirs reports it) falls gives MB/s of dirty log cleaned.
//! 3. Broker RSS sampled during the pass, against RSS before it and the dedupe buffer.
//! 4. Produce throughput while a second such pass runs (the producer starts once the pass's
//!    thread is seen and the pass is checked to be still running when it ends), as a ratio of
//!    the same produce run once the cleaner is idle (same broker, same run; a plain topic,
//!    acks=1).

use std::time::{Duration, Instant};

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, IncrementalAlterConfigsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

use super::clients::{self, ProduceSpec};
use super::process::BrokerProcess;

pub struct CompactionFigures {
    pub dirty_mb: f64,
    pub clean_secs: f64,
    pub produce_while_cleaning: f64,
    pub produce_idle: f64,
    /// Median of the rounds' ratios (while cleaning / idle).
    pub produce_ratio: f64,
    /// Every pass was still running when its producer finished.
    pub overlapped: bool,
    pub rss_before_mib: f64,
    pub rss_peak_cleaning_mib: f64,
    pub dedupe_mib: f64,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn size(addr: &str, topic: &str) -> i64 {
    block_on(async {
        let mut client = weir::client::Client::connect(addr, "bench", Duration::from_secs(10))
            .await
            .expect("client");
        let response = client
            .call(|_| {
                DescribeLogDirsRequest::default().with_topics(Some(vec![
                    DescribableLogDirTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(vec![0]),
                ]))
            })
            .await
            .expect("DescribeLogDirs");
        response.results[0].topics[0].partitions[0].partition_size
    })
}

fn set_ratio(addr: &str, topic: &str, ratio: &str) {
    block_on(async {
        let mut client = weir::client::Client::connect(addr, "bench", Duration::from_secs(10))
            .await
            .expect("client");
        client
            .call(|_| {
                IncrementalAlterConfigsRequest::default().with_resources(vec![
                    AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(StrBytes::from_string(topic.to_string()))
                        .with_configs(vec![AlterableConfig::default()
                            .with_name(StrBytes::from_static_str("min.cleanable.dirty.ratio"))
                            .with_config_operation(0)
                            .with_value(Some(StrBytes::from_string(ratio.to_string())))]),
                ])
            })
            .await
            .expect("IncrementalAlterConfigs");
    })
}

fn produce_keyed(addr: &str, topic: &str, records: u64, keys: u64) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("acks", "1")
        .create()
        .expect("producer");
    let value = vec![b'x'; 1024];
    for i in 0..records {
        let key = format!("key-{:08}", i % keys);
        let mut record = BaseRecord::to(topic).key(&key).payload(&value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
}

/// Whether a cleaning pass is running: the cleaner gives each pass an OS thread of its own
/// named `weir-cleaner` (`src/partition/background.rs`).
fn cleaner_running(broker: &BrokerProcess) -> bool {
    std::fs::read_dir(format!("/proc/{}/task", broker.pid()))
        .map(|tasks| {
            tasks.filter_map(|t| t.ok()).any(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "weir-cleaner")
            })
        })
        .unwrap_or(false)
}

/// Lets the cleaner at `topic` (written by [`fill`]) and waits until its size halves: the
/// pass's duration. Samples RSS meanwhile into `peak`.
fn clean(broker: &BrokerProcess, topic: &str, before: i64, peak: &mut u64) -> Duration {
    set_ratio(&broker.addr, topic, "0.01");
    let began = Instant::now();
    loop {
        *peak = (*peak).max(broker.memory().rss_kib);
        if size(&broker.addr, topic) * 2 < before {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "cleaning did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A compacted topic of `records` 1 KiB records over `records / 10` keys that the cleaner
/// leaves alone until its ratio drops; returns its size.
fn fill(broker: &BrokerProcess, topic: &str, records: u64) -> i64 {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .expect("admin");
    let table = NewTopic::new(topic, 1, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.bytes", "16777216")
        .set("min.cleanable.dirty.ratio", "1.0");
    block_on(admin.create_topics([&table], &AdminOptions::new())).expect("create");
    produce_keyed(&broker.addr, topic, records, records / 10);
    // One more segment's worth so the last full one is sealed.
    produce_keyed(&broker.addr, topic, 16_384, 16_384);
    size(&broker.addr, topic)
}

/// One broker, with the cleaner's I/O capped at `cap` bytes/s if given.
pub fn run(records: u64, cap: Option<u64>) -> CompactionFigures {
    let dedupe = 128u64 << 20;
    let mut settings = vec![
        "log.cleaner.backoff.ms=50".to_string(),
        format!("log.cleaner.dedupe.buffer.size={dedupe}"),
    ];
    if let Some(cap) = cap {
        settings.push(format!("log.cleaner.io.max.bytes.per.second={cap}"));
    }
    let broker = BrokerProcess::start(&settings);
    clients::create_topic(&broker.addr, "plain", 1);
    // A third of the log the pass cleans, so that the pass outlasts the producer.
    let spec = ProduceSpec {
        records: records / 3,
        record_size: 1024,
        acks: 1,
        producers: 1,
    };

    // A pass alone: the cleaner's speed and memory.
    let before = fill(&broker, "table", records);
    let rss_before = broker.memory().rss_kib;
    let mut peak = rss_before;
    let cleaned = clean(&broker, "table", before, &mut peak);

    // Passes with a producer running from their start to their end, each followed by the same
    // produce with the cleaner idle; the median of five such pairs.
    let (mut while_cleaning, mut idle, mut overlapped) = (Vec::new(), Vec::new(), true);
    for round in 0..5 {
        let topic = format!("table-{round}");
        let before = fill(&broker, &topic, records);
        set_ratio(&broker.addr, &topic, "0.01");
        let began = Instant::now();
        while !cleaner_running(&broker) {
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "the cleaner did not start"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let during = clients::produce(&broker.addr, "plain", spec);
        let outlasted = cleaner_running(&broker) && size(&broker.addr, &topic) * 2 >= before;
        let mut ignored = 0;
        clean(&broker, &topic, before, &mut ignored);
        let after = clients::produce(&broker.addr, "plain", spec);
        eprintln!(
            "  round {round}: produce {:.2} s while cleaning{}, {:.2} s idle",
            during.as_secs_f64(),
            if outlasted {
                ""
            } else {
                " (the pass ended first)"
            },
            after.as_secs_f64()
        );
        overlapped &= outlasted;
        while_cleaning.push(during);
        idle.push(after);
    }
    broker.stop();
    let mb = (records * 1024) as f64 / 1e6;
    let per_sec = |d: &Duration| (spec.records * 1024) as f64 / 1e6 / d.as_secs_f64();
    let ratios = while_cleaning
        .iter()
        .zip(&idle)
        .map(|(w, i)| per_sec(w) / per_sec(i))
        .collect();
    CompactionFigures {
        dirty_mb: mb,
        clean_secs: cleaned.as_secs_f64(),
        produce_while_cleaning: crate::median(while_cleaning.iter().map(per_sec).collect()),
        produce_idle: crate::median(idle.iter().map(per_sec).collect()),
        produce_ratio: crate::median(ratios),
        overlapped,
        rss_before_mib: rss_before as f64 / 1024.0,
        rss_peak_cleaning_mib: peak as f64 / 1024.0,
        dedupe_mib: (dedupe >> 20) as f64,
    }
}
