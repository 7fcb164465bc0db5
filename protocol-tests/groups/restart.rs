//! Committed offsets (and their metadata strings) survive a broker restart: a new consumer in
//! the group resumes exactly at them.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::member::{lock, member_config, RdMember};
use super::raw::{describe_group, member_assignments, probe_generation};
use super::{
    assert_exactly_once, committed, create_topic, group_broker, produce, settings, wait_until, WAIT,
};

const TOPIC: &str = "durable";
const GROUP: &str = "durable-group";

/// Subscribes and polls until `count` records arrived; returns the first offset seen per
/// partition and the number of records per partition.
async fn consume(consumer: BaseConsumer, count: usize) -> (BaseConsumer, BTreeMap<i32, Vec<i64>>) {
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + WAIT;
        let mut got: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
        while got.values().map(Vec::len).sum::<usize>() < count {
            assert!(std::time::Instant::now() < deadline, "only got {got:?}");
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => got.entry(m.partition()).or_default().push(m.offset()),
                Some(Err(e)) => panic!("poll: {e}"),
                None => {}
            }
        }
        (consumer, got)
    })
    .await
    .expect("consumer thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_consumer_resumes_at_offsets_committed_before_a_broker_restart() {
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, TOPIC, 6, WAIT).await;
    produce(&bootstrap, TOPIC, 6, 10, "r").await;

    let consumer: BaseConsumer = member_config(&bootstrap, GROUP, &[])
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let (consumer, got) = consume(consumer, 60).await;
    assert!(got.values().all(|offsets| offsets.len() == 10), "{got:?}");
    // Commit partition p at offset 2 + p, with a metadata string.
    let mut tpl = TopicPartitionList::new();
    for p in 0..6 {
        tpl.add_partition_offset(TOPIC, p, Offset::Offset(2 + i64::from(p)))
            .expect("offset");
        tpl.find_partition(TOPIC, p)
            .expect("partition")
            .set_metadata(format!("state-{p}"));
    }
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    drop(consumer); // leaves the group

    let broker = broker.restart(&settings(&[])).await;
    let bootstrap = broker.bootstrap();
    let offsets = committed(&bootstrap, GROUP, TOPIC, 6, WAIT);
    let expected: BTreeMap<i32, (i64, String)> = (0..6)
        .map(|p| (p, (2 + i64::from(p), format!("state-{p}"))))
        .collect();
    assert_eq!(offsets, expected, "committed offsets after the restart");

    let consumer: BaseConsumer = member_config(&bootstrap, GROUP, &[])
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let remaining: usize = (0..6).map(|p| 10 - (2 + p)).sum();
    let (consumer, got) = consume(consumer, remaining).await;
    for p in 0..6 {
        let want: Vec<i64> = (2 + i64::from(p)..10).collect();
        assert_eq!(
            got.get(&p).cloned().unwrap_or_default(),
            want,
            "partition {p}"
        );
    }
    // And nothing older arrives afterwards.
    let (_consumer, extra) = tokio::task::spawn_blocking(move || {
        let mut extra = Vec::new();
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while std::time::Instant::now() < until {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                extra.push((m.partition(), m.offset()));
            }
        }
        (consumer, extra)
    })
    .await
    .expect("consumer thread");
    assert!(extra.is_empty(), "records read again: {extra:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_group_keeps_its_generation_and_assignments_across_a_broker_restart() {
    const GROUP: &str = "live-group";
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, TOPIC, 6, WAIT).await;
    let start = |name: &str| {
        let config = member_config(&bootstrap, GROUP, &[("session.timeout.ms", "10000")]);
        RdMember::start(name, config, TOPIC)
    };
    let (a, b) = (start("A"), start("B"));
    wait_until("two members with three partitions each", WAIT, || {
        (a.owned().len() == 3 && b.owned().len() == 3).then_some(())
    })
    .await;
    let before = describe_group(broker.addr(), GROUP).await;
    assert_eq!(before.group_state.as_str(), "Stable");
    let a_id = before.members[0].member_id.to_string();
    let generation = probe_generation(broker.addr(), GROUP, &a_id, None)
        .await
        .expect("generation");
    let rebalances = [&a, &b].map(|m| lock(&m.seen).rebalances.len());

    // Same port, so the running members reconnect to the restarted broker.
    let listen = broker.bootstrap();
    let broker = broker.restart(&settings(&[("listeners", &listen)])).await;
    assert_eq!(broker.bootstrap(), listen);
    let after = describe_group(broker.addr(), GROUP).await;
    assert_eq!(after.group_state.as_str(), "Stable", "{after:?}");
    assert_eq!(member_assignments(&after), member_assignments(&before));

    let produced = produce(&listen, TOPIC, 6, 2, "after").await;
    let records = wait_until("the members to consume after the restart", WAIT, || {
        let mut records = Vec::new();
        for m in [&a, &b] {
            let s = lock(&m.seen);
            assert!(s.failure.is_none(), "{}: {:?}", m.name, s.failure);
            records.extend(s.records.iter().cloned());
        }
        (records.len() >= produced.len()).then_some(records)
    })
    .await;
    assert_exactly_once(&records, &produced);
    assert_eq!(
        probe_generation(broker.addr(), GROUP, &a_id, None).await,
        Some(generation),
        "the group rebalanced across the restart"
    );
    assert_eq!([&a, &b].map(|m| lock(&m.seen).rebalances.len()), rebalances);
}
