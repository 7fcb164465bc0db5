//! The Prometheus endpoint: off by default, and after real rdkafka traffic (produce, a consumer
//! group that consumes and commits) its counters and scrape-time gauges have moved.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use rdkafka::ClientConfig;

use crate::support::broker::ProcessBroker;
use crate::support::rdkafka_clients::producer;
use crate::support::scrape::{http_get, scrape};
use crate::support::wait::wait_until_async;

const WAIT: Duration = Duration::from_secs(20);
const TOPIC: &str = "metered";
const GROUP: &str = "metered-group";

fn sample(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key} in {samples:#?}"))
}

async fn start_metered() -> weir::BrokerHandle {
    weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .set("metrics.listen", "127.0.0.1:0")
        .set("num.partitions", "2")
        .set("group.initial.rebalance.delay.ms", "0")
        .set("group.min.session.timeout.ms", "1000")
        .start()
        .await
        .expect("broker starts")
}

async fn produce(bootstrap: &str, count: usize, prefix: &str) {
    let producer = producer(bootstrap, &[]);
    for i in 0..count {
        let key = format!("{prefix}-{i}");
        let record = FutureRecord::to(TOPIC).key(&key).payload(&key);
        producer
            .send(record, WAIT)
            .await
            .unwrap_or_else(|(e, _)| panic!("produce {key}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_is_off_by_default() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .start()
        .await
        .expect("broker starts");
    assert_eq!(broker.metrics_addr(), None);
    assert!(!broker.broker().metrics().is_enabled());
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_and_gauges_move_after_produce_consume_and_commit() {
    let broker = start_metered().await;
    let bootstrap = broker.addr().to_string();
    let metrics = broker.metrics_addr().expect("metrics are on");

    let before = scrape(metrics).await;
    assert_eq!(sample(&before, "weir_records_in_total"), 0.0);
    assert_eq!(
        sample(&before, r#"weir_requests_total{api="Produce"}"#),
        0.0
    );

    produce(&bootstrap, 20, "first").await;

    // One group member consumes everything and commits where it stopped.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", GROUP)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "300")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("create consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let consumer = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + WAIT;
        let mut got = 0;
        while got < 20 {
            assert!(Instant::now() < deadline, "consumed only {got} of 20");
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    assert_eq!(m.topic(), TOPIC);
                    got += 1;
                }
                Some(Err(e)) => panic!("poll: {e}"),
                None => {}
            }
        }
        consumer
            .commit_consumer_state(CommitMode::Sync)
            .expect("commit");
        consumer
    })
    .await
    .expect("consumer thread");

    // Five more records the group has not consumed: its lag.
    produce(&bootstrap, 5, "second").await;

    let after = scrape(metrics).await;
    for api in [
        "Produce",
        "Fetch",
        "JoinGroup",
        "SyncGroup",
        "OffsetCommit",
        "Metadata",
    ] {
        let key = format!(r#"weir_requests_total{{api="{api}"}}"#);
        assert!(sample(&after, &key) > 0.0, "{key} did not move");
        let count = format!(r#"weir_request_duration_seconds_count{{api="{api}"}}"#);
        assert!(sample(&after, &count) > 0.0, "{count} did not move");
    }
    assert!(
        sample(
            &after,
            r#"weir_request_duration_seconds_bucket{le="+Inf",api="Produce"}"#
        ) > 0.0
    );
    assert!(sample(&after, "weir_bytes_in_total") > 0.0);
    assert!(sample(&after, "weir_bytes_out_total") > 0.0);
    assert!(sample(&after, "weir_bytes_in_total") > sample(&before, "weir_bytes_in_total"));
    assert_eq!(sample(&after, "weir_records_in_total"), 25.0);
    assert!(sample(&after, "weir_connections_active") >= 1.0);
    assert!(sample(&after, "weir_connections_total") >= 2.0);
    assert_eq!(sample(&after, "weir_topics"), 1.0);
    assert_eq!(sample(&after, "weir_partitions"), 2.0);
    assert!(
        sample(
            &after,
            &format!(r#"weir_log_size_bytes{{topic="{TOPIC}"}}"#)
        ) > 0.0
    );
    let stable = sample(&after, r#"weir_consumer_groups{state="Stable"}"#);
    let empty = sample(&after, r#"weir_consumer_groups{state="Empty"}"#);
    assert_eq!(stable + empty, 1.0, "one group, Stable or Empty");
    assert_eq!(
        sample(
            &after,
            &format!(r#"weir_consumer_group_lag{{group="{GROUP}"}}"#)
        ),
        5.0,
        "the five records produced after the commit"
    );
    let partition_lags: f64 = (0..2)
        .filter_map(|p| {
            after
                .get(&format!(
                    r#"weir_consumer_group_partition_lag{{group="{GROUP}",topic="{TOPIC}",partition="{p}"}}"#
                ))
                .copied()
        })
        .sum();
    assert_eq!(partition_lags, 5.0);

    // The member leaves: the group is Empty and keeps its offsets (and lag).
    drop(consumer);
    let now = wait_until_async("the group to become Empty", WAIT, || async move {
        let now = scrape(metrics).await;
        (sample(&now, r#"weir_consumer_groups{state="Empty"}"#) == 1.0).then_some(now)
    })
    .await;
    assert_eq!(
        sample(
            &now,
            &format!(r#"weir_consumer_group_lag{{group="{GROUP}"}}"#)
        ),
        5.0
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_in_one_process_keep_separate_metrics() {
    let a = start_metered().await;
    let b = start_metered().await;
    produce(&a.addr().to_string(), 3, "only-a").await;
    let on_a = scrape(a.metrics_addr().expect("metrics")).await;
    let on_b = scrape(b.metrics_addr().expect("metrics")).await;
    assert_eq!(sample(&on_a, "weir_records_in_total"), 3.0);
    assert_eq!(sample(&on_b, "weir_records_in_total"), 0.0);
    assert_eq!(sample(&on_b, r#"weir_requests_total{api="Produce"}"#), 0.0);
    assert_eq!(sample(&on_b, "weir_topics"), 0.0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_and_methods_are_refused() {
    let broker = start_metered().await;
    let metrics = broker.metrics_addr().expect("metrics");
    let (status, _) = http_get(metrics, "/").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, body) = http_get(metrics, "/metrics?x=1").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("weir_requests_total"));
    broker.shutdown().await;
}

/// `weir serve --metrics-listen HOST:PORT` serves the same endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flag_turns_the_endpoint_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A port that was free a moment ago (the flag needs a fixed one to be scraped).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let at = format!("127.0.0.1:{port}");
    let weir = ProcessBroker::spawn(dir.path(), &["--metrics-listen", &at]);
    let samples = scrape(at.parse().expect("address")).await;
    assert!(samples.contains_key(r#"weir_requests_total{api="Produce"}"#));
    assert_eq!(sample(&samples, "weir_partitions"), 0.0);
    weir.kill_hard();
}
