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
pub(crate) mod member;
mod raw;
mod rdkafka_group;
mod restart;
mod static_membership;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::Duration;

use rdkafka::producer::FutureRecord;
use tokio::time::timeout;

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, parse_received, stdout_lines};
pub use crate::support::rdkafka_clients::committed;
use crate::support::rdkafka_clients::producer;
pub use crate::support::topics::create_topic;
pub use crate::support::wait::{wait_until, wait_until_async};
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

/// Produces `per_partition` records to each of `partitions` partitions (keys
/// `<tag>-<partition>-<i>`) and returns (partition, offset) of each, as acknowledged.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    per_partition: usize,
    tag: &str,
) -> Vec<(i32, i64)> {
    let producer = producer(bootstrap, &[]);
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
    create_topic(&bootstrap, &topic, 6, WAIT).await;

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

    let offsets = committed(&bootstrap, group, &topic, 6, WAIT);
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
