//! `weir group list|describe|delete|seek`, with a real rdkafka group consumer.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};
use tokio::time::timeout;

use super::{broker, rows, weir};
use crate::support::wait::wait_until_async;

const WAIT: Duration = Duration::from_secs(30);

fn group_consumer(bootstrap: &str, group: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("client.id", "cli-test-consumer")
        .set("enable.auto.commit", "false")
        // Only committed offsets decide where it starts: without one it would wait at the end.
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("create consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// The offset and value of the next record `consumer` receives.
async fn next(consumer: &StreamConsumer) -> (i64, String) {
    let message = timeout(WAIT, consumer.recv())
        .await
        .expect("a record within 30 s")
        .expect("consumer error");
    let value = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
    (message.offset(), value)
}

async fn produce(b: &str, topic: &str, n: usize) {
    let lines: String = (0..n).map(|i| format!("r{i}\n")).collect();
    weir(b, &["produce", topic], Some(&lines)).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_execute_moves_the_offsets_a_real_consumer_starts_from() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "s", "-p", "1"], None)
        .await
        .ok();
    produce(&b, "s", 10).await;

    // A dry run changes nothing.
    let dry = weir(
        &b,
        &["group", "seek", "app", "--topic", "s", "--to-offset", "4"],
        None,
    )
    .await;
    let table = rows(dry.ok());
    assert_eq!(
        table[0],
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "NEW-OFFSET"
        ]
    );
    assert_eq!(table[1], ["app", "s", "0", "-", "4"]);
    assert!(dry.stderr.contains("Dry run"), "{dry}");
    let json = weir(
        &b,
        &[
            "group",
            "seek",
            "app",
            "-t",
            "s",
            "--to-offset",
            "4",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(json["executed"], false);

    let done = weir(
        &b,
        &[
            "group",
            "seek",
            "app",
            "-t",
            "s",
            "--to-offset",
            "4",
            "--execute",
        ],
        None,
    )
    .await;
    done.ok();
    assert!(done.stderr.contains("Committed"), "{done}");

    let consumer = group_consumer(&b, "app", "s");
    assert_eq!(next(&consumer).await, (4, "r4".to_string()));
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");

    // While it is a member: describe shows it with its partition and lag; seek refuses.
    let described = weir(&b, &["group", "describe", "app", "--output", "json"], None)
        .await
        .json();
    let group = &described[0];
    assert_eq!(group["state"], "Stable", "{group}");
    assert_eq!(group["protocol_type"], "consumer");
    assert_eq!(group["members"][0]["client_id"], "cli-test-consumer");
    assert_eq!(group["members"][0]["assignment"]["s"][0], 0, "{group}");
    let offsets = &group["offsets"][0];
    assert_eq!(offsets["current_offset"], 5, "{group}");
    assert_eq!(offsets["log_end_offset"], 10);
    assert_eq!(offsets["lag"], 5);
    assert_eq!(offsets["member_id"], group["members"][0]["member_id"]);
    let text = weir(&b, &["group", "describe", "app"], None).await;
    let table = rows(text.ok());
    assert_eq!(table[0][0], "Group:");
    assert_eq!(
        table[1],
        [
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    assert_eq!(table[2][..5], ["s", "0", "5", "10", "5"]);
    assert_eq!(table[2][7], "cli-test-consumer");
    let refused = weir(
        &b,
        &[
            "group",
            "seek",
            "app",
            "-t",
            "s",
            "--to-earliest",
            "--execute",
        ],
        None,
    )
    .await;
    assert!(refused.failed().contains("stop its consumers"), "{refused}");

    // Stopped: back to the start, and a new consumer begins there.
    consumer.unsubscribe();
    drop(consumer);
    wait_until_async("weir group list to show the group Empty", WAIT, || async {
        let listed = weir(&b, &["group", "list", "--output", "json"], None)
            .await
            .json();
        (listed[0]["state"] == "Empty").then_some(())
    })
    .await;
    weir(
        &b,
        &[
            "group",
            "seek",
            "app",
            "--all-topics",
            "--shift-by",
            "-3",
            "--execute",
        ],
        None,
    )
    .await
    .ok();
    let consumer = group_consumer(&b, "app", "s");
    assert_eq!(next(&consumer).await, (2, "r2".to_string()));
    drop(consumer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_list_describe_delete_and_seek_targets() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "x", "-p", "2"], None)
        .await
        .ok();
    produce(&b, "x", 6).await;
    weir(
        &b,
        &["group", "seek", "g1", "-t", "x", "--to-latest", "--execute"],
        None,
    )
    .await
    .ok();
    weir(
        &b,
        &[
            "group",
            "seek",
            "g2",
            "-t",
            "x:1",
            "--to-earliest",
            "--execute",
        ],
        None,
    )
    .await
    .ok();

    let list = weir(&b, &["group", "list"], None).await;
    let table = rows(list.ok());
    assert_eq!(table[0], ["GROUP", "STATE", "PROTOCOL-TYPE"]);
    assert_eq!(table[1], ["g1", "Empty"]);
    assert_eq!(table[2], ["g2", "Empty"]);

    let json = weir(
        &b,
        &["group", "describe", "g1", "g2", "--output", "json"],
        None,
    )
    .await
    .json();
    let g1 = json[0]["offsets"].as_array().expect("offsets");
    assert_eq!(g1.len(), 2);
    let total: i64 = g1.iter().filter_map(|o| o["log_end_offset"].as_i64()).sum();
    assert_eq!(total, 6);
    assert!(g1.iter().all(|o| o["lag"] == 0), "{json}");
    assert_eq!(json[1]["offsets"].as_array().map(Vec::len), Some(1));
    assert_eq!(json[1]["offsets"][0]["partition"], 1);

    // --to-datetime: far past is the start, far future the end.
    let past = weir(
        &b,
        &[
            "group",
            "seek",
            "g1",
            "--all-topics",
            "--to-datetime",
            "2000-01-01T00:00:00Z",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert!(past["offsets"]
        .as_array()
        .expect("offsets")
        .iter()
        .all(|o| o["new_offset"] == 0));
    let future = weir(
        &b,
        &[
            "group",
            "seek",
            "g2",
            "--all-topics",
            "--to-datetime",
            "2999-01-01T00:00:00",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(future["offsets"][0]["current_offset"], 0);
    assert_eq!(
        future["offsets"][0]["new_offset"],
        json[1]["offsets"][0]["log_end_offset"]
    );

    let deleted = weir(&b, &["group", "delete", "g1"], None).await;
    assert_eq!(deleted.ok(), "Deleted group g1\n");
    let json = weir(&b, &["group", "delete", "g2", "--output", "json"], None)
        .await
        .json();
    assert_eq!(json["deleted"][0], "g2");
    let list = weir(&b, &["group", "list", "--output", "json"], None)
        .await
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    let missing = weir(&b, &["group", "describe", "g1"], None).await;
    assert!(
        missing.failed().contains("group \"g1\" does not exist"),
        "{missing}"
    );
}
