//! "Broker down" then "up": producers and a consumer group resume, nothing lost.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message};
use tokio::net::TcpStream;
use weir::control::Availability;

use super::common::control_broker;
use crate::support::rdkafka_clients::{committed, producer};
use crate::support::stats::Stats;
use crate::support::topics::create_topic;
use crate::support::wait::{wait_for, wait_until_async};

const TOPIC: &str = "outage";
const GROUP: &str = "outage-group";
const WAIT: Duration = Duration::from_secs(30);

fn consumer(bootstrap: &str, stats: &Stats) -> StreamConsumer<Stats> {
    Stats::enable(&mut ClientConfig::new())
        .set("bootstrap.servers", bootstrap)
        .set("group.id", GROUP)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "200")
        .set("fetch.wait.max.ms", "100")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "200")
        .create_with_context(stats.clone())
        .expect("create consumer")
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_down_then_up_producers_and_a_consumer_group_resume_with_nothing_lost() {
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 2, WAIT).await;

    let stats = Stats::default();
    let consumer = Arc::new(consumer(&bootstrap, &stats));
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let (consumer, received) = (consumer.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                let m = match consumer.recv().await {
                    Ok(m) => m,
                    // Transport errors while the broker is down are reported and retried.
                    Err(_) => continue,
                };
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                // Committed before it counts as processed; a commit the outage fails is
                // retried by the records after it.
                let _ = consumer.commit_message(&m, CommitMode::Async);
                received.lock().unwrap().push(value);
            }
        })
    };
    let producer = producer(
        &bootstrap,
        &[
            ("enable.idempotence", "true"),
            ("reconnect.backoff.ms", "50"),
            ("reconnect.backoff.max.ms", "200"),
        ],
    );
    let send = |i: usize| {
        let value = format!("v-{i}");
        let delivery = producer
            .send_result(FutureRecord::<(), _>::to(TOPIC).payload(&value))
            .map_err(|(e, _)| e)
            .expect("queued");
        (value.clone(), delivery)
    };
    let mut sent = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..20 {
        let (value, delivery) = send(i);
        sent.push(value);
        deliveries.push(delivery);
    }
    let r = received.clone();
    wait_for("the group to read the first 20 records", WAIT, move || {
        r.lock().unwrap().len() >= 20
    })
    .await;

    control.broker_down().await.expect("down");
    assert_eq!(control.availability(), Availability::Down);
    assert!(
        TcpStream::connect(broker.addr()).await.is_err(),
        "connecting to a broker that is down is refused"
    );
    // Records sent while the broker is down wait in the producer.
    for i in 20..40 {
        let (value, delivery) = send(i);
        sent.push(value);
        deliveries.push(delivery);
    }
    let s = stats.clone();
    wait_for("the consumer to see its broker go", WAIT, move || {
        s.no_broker_up()
    })
    .await;

    control.broker_up().await.expect("up");
    for delivery in deliveries {
        delivery
            .await
            .expect("delivery report")
            .expect("delivered after the broker came back");
    }
    let r = received.clone();
    let got = wait_until_async("the group to read all 40 records", WAIT, || {
        let r = r.clone();
        async move {
            let got = r.lock().unwrap().clone();
            (got.iter().collect::<BTreeSet<_>>().len() >= 40).then_some(got)
        }
    })
    .await;
    let got: BTreeSet<String> = got.into_iter().collect();
    let want: BTreeSet<String> = sent.into_iter().collect();
    assert_eq!(got, want, "every record produced, each read");

    // The group's progress survived too: its commits reach the end of both partitions. The
    // last asynchronous commits may have met a rebalance that followed the outage, so the
    // application commits its position again, as one does after an outage. What was seen is
    // printed, for a failure to show it.
    let b = bootstrap.clone();
    wait_until_async("the group's commits to reach the log end", WAIT, || {
        let b = b.clone();
        let consumer = consumer.clone();
        async move {
            let commit = consumer.commit_consumer_state(CommitMode::Sync);
            let (offsets, ends) = tokio::task::spawn_blocking(move || {
                let ends: Vec<i64> = (0..2).map(|p| high_watermark(&b, p)).collect();
                (committed(&b, GROUP, TOPIC, 2, Duration::from_secs(5)), ends)
            })
            .await
            .ok()?;
            let at: Vec<i64> = (0..2)
                .map(|p| offsets.get(&p).map_or(-1, |(o, _)| *o))
                .collect();
            eprintln!("commit {commit:?}; committed {at:?}, log ends {ends:?}");
            (at == ends).then_some(())
        }
    })
    .await;
    // The consumer closes (leaving its group) while the broker is still there to answer: a
    // consumer closing against a broker that is gone waits on its coordinator.
    reader.abort();
    let _ = reader.await;
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .expect("consumer closed");
    broker.shutdown().await;
}

fn high_watermark(bootstrap: &str, partition: i32) -> i64 {
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("create consumer");
    consumer
        .fetch_watermarks(TOPIC, partition, Duration::from_secs(5))
        .expect("watermarks")
        .1
}
