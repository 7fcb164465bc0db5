//! Fault rules against real clients: each fault does to the client what the same answer (or
//! silence) from Kafka does.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, MetadataRequest};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Message};
use weir::control::{Outcome, Query, Rule};

use super::common::{assert_each_once, control_broker, read_all};
use crate::support::clients::{blocking, java, parse_acks};
use crate::support::raw::RawClient;
use crate::support::rdkafka_clients::producer;
use crate::support::topics::create_topic;

const WAIT: Duration = Duration::from_secs(30);

fn code(e: ResponseError) -> i16 {
    e.code()
}

fn query(api: &str) -> Query {
    Query {
        api: Some(api.to_string()),
        ..Query::default()
    }
}

/// Produces `values` with rdkafka and waits for every delivery; returns (partition, offset)s.
async fn produce_all(bootstrap: &str, topic: &str, values: &[String]) -> Vec<(i32, i64)> {
    let producer = producer(bootstrap, &[("retry.backoff.ms", "50")]);
    let sends: Vec<_> = values
        .iter()
        .map(|v| {
            producer.send(
                FutureRecord::<(), _>::to(topic).payload(v),
                Duration::from_secs(20),
            )
        })
        .collect();
    let mut delivered = Vec::new();
    for send in sends {
        let delivery = send.await.expect("delivered");
        delivered.push((delivery.partition, delivery.offset));
    }
    delivered
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn not_leader_on_produce_makes_rdkafka_refresh_metadata_and_retry_without_loss() {
    const TOPIC: &str = "not-leader-rdkafka";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 2, WAIT).await;
    control.capture_start(None).unwrap();
    let rule = control
        .add_fault(
            Rule::on(ApiKey::Produce)
                .topic(TOPIC)
                .error(code(ResponseError::NotLeaderOrFollower))
                .times(3),
        )
        .unwrap();

    let sent = values("rd", 30);
    produce_all(&bootstrap, TOPIC, &sent).await;

    let listed = control.faults();
    assert_eq!(
        (listed[0].id, listed[0].fired, listed[0].remaining),
        (rule, 3, Some(0))
    );
    let produces = control.captured(&query("Produce")).unwrap();
    let injected: Vec<_> = produces
        .iter()
        .filter(|c| c.outcome == Outcome::Injected)
        .collect();
    assert_eq!(injected.len(), 3, "{produces:#?}");
    assert!(injected.iter().all(|c| c.fault == Some(rule)
        && c.summary
            .partitions
            .iter()
            .all(|p| p.error.as_deref() == Some("NOT_LEADER_OR_FOLLOWER"))));
    let first_error = injected[0].seq;
    let refreshed = control
        .captured(&query("Metadata"))
        .unwrap()
        .iter()
        .any(|m| m.seq > first_error);
    assert!(
        refreshed,
        "rdkafka asked for metadata again after NOT_LEADER_OR_FOLLOWER"
    );

    let b = bootstrap.clone();
    let seen = blocking(move || read_all(&b, TOPIC, 2, 30, WAIT)).await;
    assert_each_once(&seen, &sent);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn not_leader_on_produce_makes_the_java_producer_refresh_metadata_and_retry_without_loss() {
    const TOPIC: &str = "not-leader-java";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 2, WAIT).await;
    control.capture_start(None).unwrap();
    control
        .add_fault(
            Rule::on(ApiKey::Produce)
                .topic(TOPIC)
                .error(code(ResponseError::NotLeaderOrFollower))
                .times(3),
        )
        .unwrap();

    let b = bootstrap.clone();
    let output = blocking(move || java("ProduceKeyed", &[&b, TOPIC, "30"])).await;
    let acks = parse_acks(&output);
    assert_eq!(acks.len(), 30);
    assert_eq!(control.faults()[0].fired, 3);
    let produces = control.captured(&query("Produce")).unwrap();
    let first_error = produces
        .iter()
        .find(|c| c.outcome == Outcome::Injected)
        .expect("an injected error")
        .seq;
    let refreshed = control
        .captured(&query("Metadata"))
        .unwrap()
        .iter()
        .any(|m| m.seq > first_error);
    assert!(refreshed, "the Java producer asked for metadata again");

    let sent: Vec<String> = acks.iter().map(|a| a.value.clone()).collect();
    let b = bootstrap.clone();
    let seen = blocking(move || read_all(&b, TOPIC, 2, 30, WAIT)).await;
    assert_each_once(&seen, &sent);
    for ack in &acks {
        assert_eq!(
            seen[&ack.value],
            vec![(ack.partition, ack.offset)],
            "acked where stored"
        );
    }
    broker.shutdown().await;
}

/// A consumer that reads `topic` through `group` with short timeouts; its records arrive on
/// the returned channel.
fn group_consumer(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> StreamConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "200")
        .set("fetch.wait.max.ms", "100")
        .set("enable.auto.commit", "false");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("create consumer")
}

/// Receives `count` record values from `consumer`, failing after `wait`.
async fn receive(consumer: &StreamConsumer, count: usize, wait: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + wait;
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("received {} of {count} records: {got:?}", got.len()))
            .expect("consume");
        got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
    }
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swallowed_fetch_makes_the_consumer_time_out_and_recover() {
    const TOPIC: &str = "swallowed-fetch";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    control.capture_start(None).unwrap();
    let sent = values("sw", 10);
    produce_all(&bootstrap, TOPIC, &sent).await;
    control
        .add_fault(Rule::on(ApiKey::Fetch).topic(TOPIC).swallow().times(1))
        .unwrap();

    let consumer = group_consumer(
        &bootstrap,
        "swallow-group",
        &[("socket.timeout.ms", "1500")],
    );
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let got = receive(&consumer, 10, WAIT).await;
    assert_eq!(
        got, sent,
        "every record, in order, after the swallowed fetch"
    );
    assert_eq!(control.faults()[0].fired, 1);
    let fetches = control.captured(&query("Fetch")).unwrap();
    let swallowed = fetches
        .iter()
        .find(|c| c.outcome == Outcome::Swallowed)
        .expect("a swallowed fetch");
    assert!(
        fetches.iter().any(|c| c.seq > swallowed.seq
            && c.outcome == Outcome::Answered
            && c.peer != swallowed.peer),
        "the consumer fetched again on a new connection: {fetches:#?}"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_closed_on_join_group_makes_the_member_rejoin() {
    const TOPIC: &str = "closed-join";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 2, WAIT).await;
    control.capture_start(None).unwrap();
    let sent = values("join", 6);
    produce_all(&bootstrap, TOPIC, &sent).await;
    control
        .add_fault(
            Rule::on(ApiKey::JoinGroup)
                .group_id("closed-join-group")
                .close()
                .times(1),
        )
        .unwrap();

    let consumer = group_consumer(&bootstrap, "closed-join-group", &[]);
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let mut got = receive(&consumer, 6, WAIT).await;
    got.sort();
    let mut want = sent.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(control.faults()[0].fired, 1);
    let joins = control.captured(&query("JoinGroup")).unwrap();
    assert_eq!(joins[0].outcome, Outcome::Closed, "{joins:#?}");
    assert!(joins.len() >= 2, "the member joined again: {joins:#?}");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn coordinator_not_available_then_success_on_find_coordinator() {
    const TOPIC: &str = "coordinator-unavailable";
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    control.capture_start(None).unwrap();
    let sent = values("fc", 4);
    produce_all(&bootstrap, TOPIC, &sent).await;
    control
        .add_fault(
            Rule::on(ApiKey::FindCoordinator)
                .group_id("fc-group")
                .error(code(ResponseError::CoordinatorNotAvailable))
                .times(2),
        )
        .unwrap();

    let consumer = group_consumer(&bootstrap, "fc-group", &[]);
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    assert_eq!(receive(&consumer, 4, WAIT).await, sent);
    assert_eq!(control.faults()[0].fired, 2);
    let finds: Vec<_> = control
        .captured(&Query {
            group_id: Some("fc-group".into()),
            ..query("FindCoordinator")
        })
        .unwrap();
    let errors: Vec<_> = finds.iter().map(|c| c.error.clone()).collect();
    assert_eq!(
        errors[..3],
        [
            Some("COORDINATOR_NOT_AVAILABLE".to_string()),
            Some("COORDINATOR_NOT_AVAILABLE".to_string()),
            None
        ],
        "two refusals, then the coordinator: {finds:#?}"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_on_produce_shows_in_the_delivery_time() {
    const TOPIC: &str = "slow-produce";
    const LATENCY: Duration = Duration::from_millis(400);
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    let producer = producer(&bootstrap, &[("linger.ms", "0")]);
    // Connected and warmed up first, so the timing below is one produce round trip.
    producer
        .send(
            FutureRecord::<(), _>::to(TOPIC).payload("warm"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    control.capture_start(None).unwrap();
    control
        .add_fault(
            Rule::on(ApiKey::Produce)
                .topic(TOPIC)
                .latency(LATENCY)
                .times(1),
        )
        .unwrap();

    let started = Instant::now();
    producer
        .send(
            FutureRecord::<(), _>::to(TOPIC).payload("slow"),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    let took = started.elapsed();
    assert!(
        took >= LATENCY,
        "delivered after {took:?}, under the {LATENCY:?} latency"
    );
    let produce = &control.captured(&query("Produce")).unwrap()[0];
    assert!(
        produce.duration_us >= LATENCY.as_micros() as u64,
        "{produce:?}"
    );
    assert_eq!(produce.outcome, Outcome::Answered);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_client_is_told_its_throttle_time_and_muted_for_it() {
    const THROTTLE: Duration = Duration::from_millis(300);
    let (broker, control) = control_broker(&[]).await;
    control
        .add_fault(
            Rule::any()
                .client_id("slowpoke")
                .throttle(THROTTLE)
                .times(1),
        )
        .unwrap();
    let mut other = RawClient::open(broker.addr(), "other").await;
    let answer = other.call(9, &MetadataRequest::default()).await;
    assert_eq!(
        answer.throttle_time_ms, 0,
        "another client id is not throttled"
    );

    let mut raw = RawClient::open(broker.addr(), "slowpoke").await;
    let answer = raw.call(9, &MetadataRequest::default()).await;
    assert_eq!(answer.throttle_time_ms, THROTTLE.as_millis() as i32);
    let started = Instant::now();
    let answer = raw.call(9, &MetadataRequest::default()).await;
    assert!(
        started.elapsed() >= THROTTLE - Duration::from_millis(20),
        "muted"
    );
    assert_eq!(answer.throttle_time_ms, 0, "the rule fired once");
    broker.shutdown().await;
}
