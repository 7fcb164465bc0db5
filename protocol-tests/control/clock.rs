//! The manual clock with real clients: a dead member's default 45 s session expires the moment
//! the clock passes it, and a day of retention goes by in a call.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::ClientConfig;
use weir::control::Query;
use weir::metadata::TopicSpec;

use crate::groups::member::PyMember;
use crate::support::rdkafka_clients::producer;
use crate::support::topics::create_topic;
use crate::support::wait::{wait_for, wait_until_async};

const WAIT: Duration = Duration::from_secs(30);

async fn manual_broker(
    seeds: Vec<TopicSpec>,
) -> (weir::BrokerHandle, weir::control::ControlHandle) {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .manual_clock()
        .set("group.initial.rebalance.delay.ms", "0")
        .seed_topics(seeds)
        .start()
        .await
        .expect("broker starts");
    let control = broker.control().expect("control plane");
    (broker, control)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_members_45_s_session_expires_when_the_clock_passes_it_and_its_partitions_move() {
    const TOPIC: &str = "virtual-session";
    const GROUP: &str = "virtual-session-group";
    let (broker, control) = manual_broker(Vec::new()).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 4, WAIT).await;
    // librdkafka's default session timeout, 45 s.
    let args = ["--session-ms", "45000"];
    let mut stays = PyMember::start("stays", &bootstrap, GROUP, TOPIC, &args);
    let mut dies = PyMember::start("dies", &bootstrap, GROUP, TOPIC, &args);
    wait_for("both members to own two partitions each", WAIT, || {
        stays.check_alive();
        dies.check_alive();
        stays.owned().len() == 2 && dies.owned().len() == 2
    })
    .await;
    dies.kill_hard();
    control.capture_start(None).unwrap();

    // Clients keep real time: the live member has heartbeated only in real time. Moving the
    // clock 46 s at once would pass its session deadline as well, so the clock goes 44 s
    // first, the live member heartbeats (at the new time), and then the last 2 s pass only
    // the dead member's deadline.
    let before = control.advance(Duration::from_secs(44)).unwrap().now_ms;
    let c = control.clone();
    wait_for(
        "the live member to heartbeat on the advanced clock",
        WAIT,
        move || {
            let beats = c
                .captured(&Query {
                    api: Some("Heartbeat".into()),
                    ..Query::default()
                })
                .unwrap();
            beats
                .iter()
                .any(|h| h.time_ms >= before && h.error.is_none())
        },
    )
    .await;
    let started = Instant::now();
    control.advance(Duration::from_secs(2)).unwrap();
    wait_for("the live member to own all four partitions", WAIT, || {
        stays.check_alive();
        stays.owned() == BTreeSet::from([0, 1, 2, 3])
    })
    .await;
    let took = started.elapsed();
    eprintln!("partitions reassigned {took:?} after the clock passed the dead member's session");
    // Without the clock this takes the whole 45 s session of real time.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    drop(stays);
    broker.shutdown().await;
}

fn watermarks(bootstrap: &str, topic: &str) -> (i64, i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("create consumer");
    consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("watermarks")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_a_day_of_retention_is_emptied_by_advancing_the_clock() {
    const TOPIC: &str = "one-day";
    let seed = TopicSpec {
        name: TOPIC.to_string(),
        partitions: 1,
        configs: BTreeMap::from([("retention.ms".to_string(), "86400000".to_string())]),
    };
    let (broker, control) = manual_broker(vec![seed]).await;
    let bootstrap = broker.addr().to_string();
    let producer = producer(&bootstrap, &[]);
    for i in 0..10 {
        producer
            .send(
                FutureRecord::<(), _>::to(TOPIC).payload(&format!("r{i}")),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    let b = bootstrap.clone();
    let w = tokio::task::spawn_blocking(move || watermarks(&b, TOPIC))
        .await
        .unwrap();
    assert_eq!(w, (0, 10));

    // A day, plus one retention check interval (log.retention.check.interval.ms, 5 min).
    control
        .advance(Duration::from_secs(24 * 3600 + 5 * 60 + 1))
        .unwrap();
    let b = bootstrap.clone();
    wait_until_async("retention to empty the topic", WAIT, || {
        let b = b.clone();
        async move {
            let w = tokio::task::spawn_blocking(move || watermarks(&b, TOPIC))
                .await
                .ok()?;
            (w == (10, 10)).then_some(())
        }
    })
    .await;
    // The topic goes on from where it was.
    let delivery = producer
        .send(
            FutureRecord::<(), _>::to(TOPIC).payload("after"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    assert_eq!((delivery.partition, delivery.offset), (0, 10));
    broker.shutdown().await;
}
