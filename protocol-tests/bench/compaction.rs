//! `--only compaction`: the log cleaner on one broker process.
//!
//! 1. A compacted topic gets `records` records of 1 KiB over `records / 10` keys (10% live
//!    keys) while its `min.cleanable.dirty.ratio` is 1.0 (nothing cleaned), and rolls.
//! 2. Cleaner throughput: the ratio drops to 0.01 and the time until the partition's size (as
//!    DescribeLogDirs reports it) falls gives MB/s of dirty log cleaned.
//! 3. Produce throughput while that pass runs, as a ratio of the same produce run once the
//!    cleaner is idle (same broker, same run; a plain topic, acks=1).
//! 4. Broker RSS sampled during the pass, against RSS before it and the dedupe buffer.

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

pub fn run(records: u64) -> CompactionFigures {
    let dedupe = 128u64 << 20;
    let broker = BrokerProcess::start(&[
        "log.cleaner.backoff.ms=50".to_string(),
        format!("log.cleaner.dedupe.buffer.size={dedupe}"),
    ]);
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.addr)
        .create()
        .expect("admin");
    let table = NewTopic::new("table", 1, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact")
        .set("segment.bytes", "16777216")
        .set("min.cleanable.dirty.ratio", "1.0");
    block_on(admin.create_topics([&table], &AdminOptions::new())).expect("create");
    clients::create_topic(&broker.addr, "plain", 1);
    produce_keyed(&broker.addr, "table", records, records / 10);
    // One more segment's worth so the last full one is sealed.
    produce_keyed(&broker.addr, "table", 16_384, 16_384);
    let before = size(&broker.addr, "table");
    let rss_before = broker.memory().rss_kib;
    let spec = ProduceSpec {
        records: records / 2,
        record_size: 1024,
        acks: 1,
        producers: 1,
    };

    set_ratio(&broker.addr, "table", "0.01");
    let began = Instant::now();
    let addr = broker.addr.clone();
    let producing = std::thread::spawn(move || clients::produce(&addr, "plain", spec));
    let mut peak = rss_before;
    let cleaned = loop {
        peak = peak.max(broker.memory().rss_kib);
        if size(&broker.addr, "table") * 2 < before {
            break began.elapsed();
        }
        assert!(
            began.elapsed() < Duration::from_secs(300),
            "cleaning did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let while_cleaning = producing.join().expect("producer");
    let idle = clients::produce(&broker.addr, "plain", spec);
    broker.stop();
    let mb = (records * 1024) as f64 / 1e6;
    let per_sec = |d: Duration| (spec.records * 1024) as f64 / 1e6 / d.as_secs_f64();
    CompactionFigures {
        dirty_mb: mb,
        clean_secs: cleaned.as_secs_f64(),
        produce_while_cleaning: per_sec(while_cleaning),
        produce_idle: per_sec(idle),
        rss_before_mib: rss_before as f64 / 1024.0,
        rss_peak_cleaning_mib: peak as f64 / 1024.0,
        dedupe_mib: (dedupe >> 20) as f64,
    }
}
