//! Request capture and reset with real clients.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use weir::control::{Outcome, Query, Rule};
use weir::metadata::TopicSpec;

use super::common::control_broker;
use crate::support::rdkafka_clients::{committed, producer};
use crate::support::topics::create_topic;
use crate::support::wait::wait_until_async;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn capture_shows_what_an_application_sent_and_committed() {
    const TOPIC: &str = "captured";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    control.capture_start(Some(1000)).unwrap();

    let producer = producer(
        &bootstrap,
        &[("client.id", "orders-app"), ("linger.ms", "50")],
    );
    let values: Vec<String> = (0..3).map(|i| format!("secret-{i}")).collect();
    let sends: Vec<_> = values
        .iter()
        .map(|v| {
            producer.send(
                FutureRecord::<(), _>::to(TOPIC).payload(v),
                Duration::from_secs(10),
            )
        })
        .collect();
    for send in sends {
        send.await.expect("delivered");
    }
    let b = bootstrap.clone();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", "billing")
            .set("client.id", "billing-app")
            .create()
            .expect("consumer");
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(TOPIC, 0, Offset::Offset(42))
            .unwrap();
        offsets
            .find_partition(TOPIC, 0)
            .unwrap()
            .set_metadata("checkpoint-7");
        consumer.commit(&offsets, CommitMode::Sync).expect("commit");
    })
    .await
    .unwrap();

    // "It committed offset 42 for group billing."
    let commits = control
        .captured(&Query {
            api: Some("OffsetCommit".into()),
            group_id: Some("billing".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(commits.len(), 1, "{commits:#?}");
    let commit = &commits[0];
    assert_eq!(commit.client_id, "billing-app");
    assert_eq!(commit.outcome, Outcome::Answered);
    assert_eq!(commit.error, None);
    let p = &commit.summary.partitions[0];
    assert_eq!(
        (p.topic.as_str(), p.partition, p.offset),
        (TOPIC, 0, Some(42))
    );
    assert_eq!(p.metadata.as_deref(), Some("checkpoint-7"));
    assert_eq!(p.error, None);

    // Produce requests are summarised: record counts and sizes, never the records.
    let produced = control
        .captured(&Query {
            api: Some("produce".into()),
            client_id: Some("orders-app".into()),
            ..Query::default()
        })
        .unwrap();
    let records: i64 = produced
        .iter()
        .flat_map(|c| &c.summary.partitions)
        .map(|p| p.records.unwrap_or(0))
        .sum();
    assert_eq!(records, 3);
    let json = serde_json::to_string(&control.captured(&Query::default()).unwrap()).unwrap();
    assert!(
        !json.contains("secret-"),
        "record values are never captured"
    );

    let state = control.capture_state();
    assert!(state.enabled && state.held > 0 && state.capacity == 1000);
    assert_eq!(control.capture_clear(), state.held);
    control.capture_stop();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_deletes_topics_groups_and_offsets_and_creates_seeded_topics_again() {
    const SEEDED: &str = "seeded";
    const EXTRA: &str = "extra";
    const GROUP: &str = "reset-group";
    let seed = TopicSpec {
        name: SEEDED.into(),
        partitions: 2,
        configs: BTreeMap::new(),
    };
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .control()
        .set("group.initial.rebalance.delay.ms", "0")
        .seed_topics(vec![seed])
        .start()
        .await
        .expect("broker starts");
    let control = broker.control().unwrap();
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, EXTRA, 1, WAIT).await;
    let producer = producer(&bootstrap, &[]);
    for topic in [SEEDED, EXTRA] {
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload("before"),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    // A live group member that has committed.
    let member: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", GROUP)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "200")
        .set("fetch.wait.max.ms", "100")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("member");
    member.subscribe(&[SEEDED]).unwrap();
    // The member is polled all along (librdkafka rejoins only while polled); each record
    // is committed, then handed over.
    let member = std::sync::Arc::new(member);
    let (tx, mut records) = tokio::sync::mpsc::unbounded_channel::<String>();
    let polling = {
        let member = member.clone();
        tokio::spawn(async move {
            loop {
                let Ok(m) = member.recv().await else { continue };
                if member.commit_message(&m, CommitMode::Sync).is_err() {
                    continue;
                }
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                if tx.send(value).is_err() {
                    return;
                }
            }
        })
    };
    let first = tokio::time::timeout(WAIT, records.recv())
        .await
        .expect("a record");
    assert_eq!(first.as_deref(), Some("before"));
    control
        .add_fault(Rule::on(ApiKey::DeleteTopics).close())
        .unwrap();
    control.capture_start(None).unwrap();

    let report = control.reset().await.expect("reset");
    assert_eq!(
        (
            report.faults,
            report.groups,
            report.topics_deleted,
            report.topics_seeded
        ),
        (1, 1, 2, 1),
        "{report:?}"
    );
    assert!(control.faults().is_empty());
    assert!(control.capture_state().enabled, "capture stays on");
    let topics: Vec<String> = broker
        .broker()
        .topics
        .list()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(topics, vec![SEEDED.to_string()]);
    let b = bootstrap.clone();
    let offsets = tokio::task::spawn_blocking(move || committed(&b, GROUP, SEEDED, 2, WAIT))
        .await
        .unwrap();
    assert!(
        offsets.values().all(|(o, _)| *o == -1),
        "offsets forgotten: {offsets:?}"
    );

    // The live member finds its group gone and rejoins...
    let c = control.clone();
    wait_until_async("the member to rejoin", WAIT, || {
        let c = c.clone();
        async move {
            let synced = c
                .captured(&Query {
                    api: Some("SyncGroup".into()),
                    group_id: Some(GROUP.into()),
                    ..Query::default()
                })
                .ok()?;
            synced.iter().any(|s| s.error.is_none()).then_some(())
        }
    })
    .await;
    // ...and reads what the seeded topic gets now, from its start.
    for i in 0..2 {
        producer
            .send(
                FutureRecord::<(), _>::to(SEEDED)
                    .partition(i)
                    .payload("after"),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered after the reset");
    }
    for _ in 0..2 {
        let value = tokio::time::timeout(WAIT, records.recv())
            .await
            .expect("records after the reset");
        assert_eq!(value.as_deref(), Some("after"));
    }
    let b = bootstrap.clone();
    wait_until_async("the member's new commits", WAIT, || {
        let b = b.clone();
        async move {
            let offsets =
                tokio::task::spawn_blocking(move || committed(&b, GROUP, SEEDED, 2, WAIT))
                    .await
                    .ok()?;
            offsets.values().all(|(o, _)| *o == 1).then_some(())
        }
    })
    .await;
    polling.abort();
    broker.shutdown().await;
}
