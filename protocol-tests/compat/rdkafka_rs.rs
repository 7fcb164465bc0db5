//! rdkafka-rs (the Rust binding of librdkafka) driven in the test process. Its group members
//! run as child processes (the `rdkafka_member` example, built by `cargo test`) so that the
//! suite can kill one: rdkafka's `Drop` always closes a consumer gracefully.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::contract::{self, Ack, Job, Rec};
use super::driver::{Client, Info, Member, Seek, Topics};
use super::harness::{block_on, WAIT};

pub struct RdkafkaRs;

/// Each record's (partition, offset) or delivery error, by send index.
type Outcomes = BTreeMap<usize, Result<(i32, i64), String>>;

#[derive(Default)]
struct Deliveries(Mutex<Outcomes>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<usize>;

    fn delivery(&self, result: &DeliveryResult<'_>, index: Box<usize>) {
        let outcome = match result {
            Ok(m) => Ok((m.partition(), m.offset())),
            Err((e, _)) => Err(e.to_string()),
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(*index, outcome);
    }
}

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn rec<M: Message>(m: &M) -> Rec {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| format!("{}={}", h.key, text(h.value).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".to_string());
    Rec {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        key: text(m.key()),
        value: text(m.payload()).unwrap_or_default(),
        headers,
    }
}

fn reader(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "compat-rdkafka-reader")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("create consumer")
}

fn partitions(consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
    let md = consumer
        .fetch_metadata(Some(topic), WAIT)
        .expect("metadata");
    md.topics()[0].partitions().iter().map(|p| p.id()).collect()
}

fn first_after(consumer: &BaseConsumer) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            return m.offset();
        }
    }
    -1
}

impl Client for RdkafkaRs {
    fn name(&self) -> &'static str {
        "rdkafka-rs"
    }

    fn info(&self) -> Info {
        let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
        Info {
            version: format!("0.39 (librdkafka {librdkafka})"),
            codecs: ["none", "gzip", "snappy", "lz4", "zstd"]
                .map(str::to_string)
                .to_vec(),
        }
    }

    fn topics(&self, bootstrap: &str, auto: &str, admin_topic: &str) -> Topics {
        let acks = self.produce_records(bootstrap, auto, "none", false, 0, 1);
        assert_eq!(acks.len(), 1);
        let consumer = reader(bootstrap);
        let auto_partitions = partitions(&consumer, auto).len();

        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .expect("create admin client");
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let created = block_on(admin.create_topics(
            &[NewTopic::new(admin_topic, 4, TopicReplication::Fixed(1))],
            &options,
        ))
        .expect("CreateTopics");
        assert_eq!(created, vec![Ok(admin_topic.to_string())]);
        let described = partitions(&consumer, admin_topic).len();
        let deleted =
            block_on(admin.delete_topics(&[admin_topic], &options)).expect("DeleteTopics");
        assert_eq!(deleted, vec![Ok(admin_topic.to_string())]);
        let deadline = Instant::now() + WAIT;
        loop {
            let md = consumer.fetch_metadata(None, WAIT).expect("metadata");
            if !md.topics().iter().any(|t| t.name() == admin_topic) {
                break;
            }
            assert!(Instant::now() < deadline, "deleted topic still listed");
            std::thread::sleep(Duration::from_millis(200));
        }
        Topics {
            auto_partitions,
            described: Some(described),
        }
    }

    fn produce(&self, bootstrap: &str, ts_base: i64, jobs: &[Job]) -> Option<Vec<Ack>> {
        let mut acks = Vec::new();
        for job in jobs {
            acks.extend(self.produce_records(
                bootstrap,
                &job.topic,
                &job.codec,
                job.idempotent,
                ts_base,
                contract::COUNT,
            ));
        }
        Some(acks)
    }

    fn consume(&self, bootstrap: &str, topics: &[(String, usize)]) -> Vec<Rec> {
        let consumer = reader(bootstrap);
        let mut tpl = TopicPartitionList::new();
        for (topic, _) in topics {
            for p in partitions(&consumer, topic) {
                tpl.add_partition_offset(topic, p, Offset::Beginning)
                    .expect("offset");
            }
        }
        consumer.assign(&tpl).expect("assign");
        let total: usize = topics.iter().map(|(_, n)| n).sum();
        let mut recs = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut settle = None;
        while Instant::now() < settle.unwrap_or(deadline) {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => recs.push(rec(&m)),
                Some(Err(e)) => panic!("consume: {e}"),
                None => {}
            }
            if recs.len() >= total && settle.is_none() {
                settle = Some(Instant::now() + Duration::from_millis(500));
            }
        }
        recs
    }

    fn member(&self, bootstrap: &str, group: &str, topic: &str, name: &str) -> Member {
        let mut cmd = Command::new(member_exe());
        cmd.args([bootstrap, group, topic]);
        Member::spawn(name, cmd, |_| None)
    }

    fn seek(&self, bootstrap: &str, topic: &str, ts: i64) -> Seek {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "compat-rdkafka-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .expect("create consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .expect("offset");
        consumer.assign(&tpl).expect("assign");
        let mut read = 0;
        let deadline = Instant::now() + WAIT;
        while read < contract::SEEK_RECORDS && Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
                read += 1;
            }
        }
        let mut lines = vec![format!("READ {read}")];
        let seek = |offset| consumer.seek(topic, 0, offset, WAIT).expect("seek");
        seek(Offset::Beginning);
        lines.push(format!("BEGINNING {}", first_after(&consumer)));
        seek(Offset::Offset(contract::SEEK_OFFSET));
        lines.push(format!("OFFSET {}", first_after(&consumer)));
        let mut query = TopicPartitionList::new();
        query
            .add_partition_offset(topic, 0, Offset::Offset(ts + contract::SEEK_TS_DELTA))
            .expect("offset");
        let found = consumer
            .offsets_for_times(query, WAIT)
            .expect("offsets_for_times");
        let found = found.elements()[0].offset();
        seek(found);
        lines.push(format!("TIMESTAMP {}", first_after(&consumer)));
        seek(Offset::End);
        let mut late = 0;
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
                late += 1;
            }
        }
        let position = consumer.position().expect("position");
        if let Some(Offset::Offset(p)) = position.elements().first().map(|e| e.offset()) {
            lines.push(format!("ENDPOS {p}"));
        }
        lines.push(format!("END {late}"));
        lines
    }
}

impl RdkafkaRs {
    fn produce_records(
        &self,
        bootstrap: &str,
        topic: &str,
        codec: &str,
        idempotent: bool,
        ts_base: i64,
        count: usize,
    ) -> Vec<Ack> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", bootstrap)
            .set("compression.codec", codec)
            .set("message.timeout.ms", "30000");
        if idempotent {
            config.set("enable.idempotence", "true");
        }
        let producer: ThreadedProducer<Deliveries> = config
            .create_with_context(Deliveries::default())
            .expect("create producer");
        for i in 0..count {
            let key = contract::key(i);
            let value = contract::value(topic, i);
            let seq = i.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "seq",
                    value: Some(&seq),
                })
                .insert(Header {
                    key: "client",
                    value: Some("rdkafka-rs"),
                });
            let mut record = BaseRecord::with_opaque_to(topic, Box::new(i))
                .payload(&value)
                .headers(headers);
            if ts_base > 0 {
                record = record.timestamp(ts_base + i as i64);
            }
            if let Some(k) = &key {
                record = record.key(k);
            }
            producer
                .send(record)
                .unwrap_or_else(|(e, _)| panic!("queue record: {e}"));
        }
        producer.flush(WAIT).expect("flush");
        let done = producer
            .context()
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (0..count)
            .map(|i| match done.get(&i) {
                Some(Ok((partition, offset))) => Ack {
                    topic: topic.to_string(),
                    index: i,
                    partition: *partition,
                    offset: *offset,
                },
                Some(Err(e)) => panic!("delivery of {topic} #{i}: {e}"),
                None => panic!("no delivery report for {topic} #{i}"),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The member child process.

/// The `rdkafka_member` example binary, which a plain `cargo test` builds into
/// `<target>/<profile>/examples/` next to the test binaries.
fn member_exe() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let member = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in <target>/<profile>/deps")
        .join("examples")
        .join("rdkafka_member");
    assert!(
        member.exists(),
        "{} is missing: run the tests with a plain `cargo test` (which builds examples) or \
         `cargo build --example rdkafka_member` first",
        member.display()
    );
    member
}
