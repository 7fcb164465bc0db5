//! The table-in-a-topic pattern stream processors use: an application in a consumer group
//! counts events per key, writes every change of its table to a compacted changelog topic and
//! commits its input offsets; restarted, it restores the table by reading the changelog from
//! the beginning (compacted meanwhile), then goes on from its committed offsets. The table it
//! ends with must be exactly the counts of all events.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

use super::{read_all, CompactingBroker};
use crate::support::clients::blocking;

const INPUT: &str = "events";
const CHANGELOG: &str = "counts-changelog";
const KEYS: usize = 50;

fn produce_events(bootstrap: &str, from: usize, to: usize) {
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for i in from..to {
        let key = format!("user-{}", i % KEYS);
        let value = i.to_string();
        loop {
            match p.send(BaseRecord::to(INPUT).key(&key).payload(&value)) {
                Ok(()) => break,
                Err(_) => {
                    p.poll(Duration::from_millis(10));
                }
            }
        }
    }
    p.flush(Duration::from_secs(20)).unwrap();
}

/// One run of the application: restores its table from the changelog, then processes input
/// until it has seen `until` events in all (by their values), writing each change.
fn run_app(bootstrap: &str, until: usize) -> BTreeMap<String, u64> {
    let mut table: BTreeMap<String, u64> = read_all(bootstrap, CHANGELOG)
        .into_iter()
        .filter_map(|(_, k, v)| Some((k, v?.parse().ok()?)))
        .collect();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "counting-app")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        // The broker clock runs ahead of real time here (see mod.rs).
        .set("session.timeout.ms", "600000")
        .set("max.poll.interval.ms", "600000")
        .create()
        .unwrap();
    consumer.subscribe(&[INPUT]).unwrap();
    let changelog: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_max = 0usize;
    let mut uncommitted = 0;
    while seen_max + 1 < until {
        assert!(Instant::now() < deadline, "app stuck at event {seen_max}");
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = m.expect("consume");
        let key = String::from_utf8_lossy(m.key().unwrap()).into_owned();
        let n: usize = String::from_utf8_lossy(m.payload().unwrap())
            .parse()
            .unwrap();
        seen_max = seen_max.max(n);
        let count = table.entry(key.clone()).or_insert(0);
        *count += 1;
        let value = count.to_string();
        while changelog
            .send(BaseRecord::to(CHANGELOG).key(&key).payload(&value))
            .is_err()
        {
            changelog.poll(Duration::from_millis(10));
        }
        uncommitted += 1;
        if uncommitted == 100 || seen_max + 1 >= until {
            // The changes are acknowledged before the input offsets are committed.
            changelog.flush(Duration::from_secs(20)).unwrap();
            consumer.commit_message(&m, CommitMode::Sync).unwrap();
            uncommitted = 0;
        }
    }
    consumer.unsubscribe();
    table
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_restores_its_table_from_a_compacted_changelog_after_a_restart() {
    let broker = CompactingBroker::start(&[]).await;
    let bootstrap = broker.bootstrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let topics = [
        NewTopic::new(INPUT, 1, TopicReplication::Fixed(1)),
        NewTopic::new(CHANGELOG, 1, TopicReplication::Fixed(1))
            .set("cleanup.policy", "compact")
            .set("segment.bytes", "4096")
            .set("min.cleanable.dirty.ratio", "0.01"),
    ];
    for r in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .unwrap()
    {
        r.unwrap();
    }
    let b = bootstrap.clone();
    let first = blocking(move || {
        produce_events(&b, 0, 1_500);
        run_app(&b, 1_500)
    })
    .await;
    // While the application is down its changelog is compacted (all but its active segment).
    let b = bootstrap.clone();
    blocking(move || produce_events(&b, 1_500, 3_000)).await;
    broker.wait_clean(CHANGELOG, 0).await;
    let changelog_records = read_all(&bootstrap, CHANGELOG).len();
    assert!(
        changelog_records < 1_500 / 2,
        "compacted: {changelog_records} records"
    );

    let b = bootstrap.clone();
    let restored = blocking(move || run_app(&b, 3_000)).await;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..3_000 {
        *expected.entry(format!("user-{}", i % KEYS)).or_insert(0) += 1;
    }
    assert_eq!(restored, expected, "table after the restart");
    assert!(first.values().sum::<u64>() >= 1_500);
    let offsets = read_all(&bootstrap, CHANGELOG);
    let latest = super::latest(&offsets);
    for (k, v) in &expected {
        assert_eq!(
            latest.get(k),
            Some(&Some(v.to_string())),
            "changelog for {k}"
        );
    }
}
