//! Consumer groups (issue 3) with real clients: rdkafka members sharing partitions and taking
//! over from a crashed member (eager and cooperative-sticky), static membership, committed
//! offsets across a broker restart, the Java, kafka-python and kcat group consumers, and the
//! group admin APIs (DescribeGroups, ListGroups, DeleteGroups, OffsetDelete, JoinGroup's
//! MEMBER_ID_REQUIRED) through raw requests.
//!
//! Members commit every record synchronously before polling again, so "exactly once across the
//! group" is a fair expectation even through rebalances.

mod admin;
mod cooperative;
mod java_group;
mod kafka_python_group;
mod kcat_group;
mod kip848;
mod member;
mod raw;
mod rdkafka_group;
mod restart;
mod static_membership;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::process::Output;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::time::{sleep, timeout, Instant};

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, parse_received, stdout_lines};
use member::Consumed;

/// How long any one step of a test may take.
pub const WAIT: Duration = Duration::from_secs(25);

/// A broker for group tests: 6 partitions per topic, no initial rebalance delay, and a session
/// timeout floor low enough for 3 s sessions.
pub async fn group_broker(extra: &[(&str, &str)]) -> TestBroker {
    TestBroker::start_with(&settings(extra)).await
}

pub fn settings<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut s = vec![
        ("num.partitions", "6"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "1000"),
    ];
    s.extend_from_slice(extra);
    s
}

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    crate::support::topics::create_topic(bootstrap, name, partitions, WAIT).await;
}

/// Produces `per_partition` records to each of `partitions` partitions (keys
/// `<tag>-<partition>-<i>`) and returns (partition, offset) of each, as acknowledged.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    per_partition: usize,
    tag: &str,
) -> Vec<(i32, i64)> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "20000")
        .set("linger.ms", "5")
        .create()
        .expect("create producer");
    let mut acked = Vec::new();
    for i in 0..per_partition {
        for p in 0..partitions {
            let key = format!("{tag}-{p}-{i}");
            let record = FutureRecord::to(topic).partition(p).key(&key).payload("v");
            let delivery = timeout(WAIT, producer.send(record, WAIT))
                .await
                .expect("produce timed out")
                .unwrap_or_else(|(e, _)| panic!("produce {key}: {e}"));
            assert_eq!(delivery.partition, p);
            acked.push((delivery.partition, delivery.offset));
        }
    }
    acked.sort();
    acked
}

/// Polls `check` every 50 ms until it returns `Some`, failing with `what` after `limit`.
pub async fn wait_until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

/// Like [`wait_until`] for an async check.
pub async fn wait_until_async<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// Checks that `records` are exactly `expected` (partition, offset) pairs, each processed once.
pub fn assert_exactly_once(records: &[Consumed], expected: &[(i32, i64)]) {
    let mut seen: BTreeMap<(i32, i64), &Consumed> = BTreeMap::new();
    for r in records {
        if let Some(first) = seen.insert((r.partition, r.offset), r) {
            panic!(
                "record {}/{} consumed twice: {first:?} and {r:?}",
                r.partition, r.offset
            );
        }
    }
    let got: BTreeSet<(i32, i64)> = seen.keys().copied().collect();
    let want: BTreeSet<(i32, i64)> = expected.iter().copied().collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "consumed records differ from the produced ones: missing {missing:?}, unexpected {extra:?}"
    );
}

/// The group's committed offsets, read by a consumer that never joins the group.
pub fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, (i64, String)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer.committed_offsets(tpl, WAIT).expect("OffsetFetch");
    got.elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => o,
                Offset::Invalid => -1,
                other => panic!("unexpected committed offset {other:?}"),
            };
            (e.partition(), (offset, e.metadata().to_string()))
        })
        .collect()
}

/// Runs an external client's group consumer (`run(bootstrap, group, topic, expected)`) twice
/// in the same group: the first run reads the 30 records produced so far and commits; after 6
/// more are produced the second run reads exactly those. The group's committed offsets are
/// then at the end of every partition.
pub async fn external_group_consumer(
    group: &str,
    run: fn(String, String, String, usize) -> Output,
) {
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    let topic = format!("{group}-topic");
    create_topic(&bootstrap, &topic, 6).await;

    let first = produce(&bootstrap, &topic, 6, 5, "first").await;
    let output = {
        let (b, g, t) = (bootstrap.clone(), group.to_string(), topic.clone());
        blocking(move || run(b, g, t, 30)).await
    };
    check_run(&output, &first);

    let second = produce(&bootstrap, &topic, 6, 1, "second").await;
    let output = {
        let (b, g, t) = (bootstrap.clone(), group.to_string(), topic.clone());
        blocking(move || run(b, g, t, 6)).await
    };
    check_run(&output, &second);

    let offsets = committed(&bootstrap, group, &topic, 6);
    assert!(
        offsets.values().all(|(o, _)| *o == 6),
        "committed offsets {offsets:?}"
    );
}

/// The run's REC lines are exactly `expected`, and any COMMITTED line it printed is past them.
fn check_run(output: &Output, expected: &[(i32, i64)]) {
    let records: Vec<Consumed> = parse_received(output)
        .into_iter()
        .map(|r| Consumed {
            partition: r.partition,
            offset: r.offset,
            key: r.key,
            member: "client".into(),
        })
        .collect();
    assert_exactly_once(&records, expected);
    let ends: BTreeMap<i32, i64> = expected.iter().fold(BTreeMap::new(), |mut m, (p, o)| {
        let end = m.entry(*p).or_insert(0);
        *end = (*end).max(o + 1);
        m
    });
    for line in stdout_lines(output) {
        if let Some(rest) = line.strip_prefix("COMMITTED ") {
            let (p, o) = rest.split_once(' ').expect("COMMITTED p o");
            let (p, o): (i32, i64) = (p.parse().expect("p"), o.parse().expect("o"));
            assert_eq!(Some(&o), ends.get(&p), "{line} after reading {expected:?}");
        }
    }
}
