//! `weir produce` and `weir consume`.

use std::collections::BTreeSet;

use super::{broker, weir};

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produced_keyed_lines_are_consumed_back_with_their_keys() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "kv", "-p", "3"], None)
        .await
        .ok();

    let input = "user1:login\nuser2:click\nuser1:logout\nuser3:a:b\n";
    let out = weir(&b, &["produce", "kv", "--key-separator", ":"], Some(input)).await;
    out.ok();
    assert!(out.stderr.contains("Produced 4 records to kv"), "{out}");

    let out = weir(
        &b,
        &[
            "consume",
            "kv",
            "--from-beginning",
            "--count",
            "4",
            "--output",
            "json",
        ],
        None,
    )
    .await;
    let records = json_lines(out.ok());
    let got: BTreeSet<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap_or_default().to_string(),
                r["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("user1", "login"),
        ("user2", "click"),
        ("user1", "logout"),
        ("user3", "a:b"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(got, want);
    // One key, one partition, in order.
    let user1: Vec<&serde_json::Value> = records.iter().filter(|r| r["key"] == "user1").collect();
    assert_eq!(user1[0]["partition"], user1[1]["partition"]);
    assert_eq!(user1[0]["value"], "login");
    assert!(user1[0]["offset"].as_i64() < user1[1]["offset"].as_i64());

    let out = weir(
        &b,
        &[
            "consume",
            "kv",
            "--from-beginning",
            "-n",
            "4",
            "--format",
            "%k=%v",
        ],
        None,
    )
    .await;
    let lines: BTreeSet<&str> = out.ok().lines().collect();
    assert_eq!(
        lines,
        BTreeSet::from(["user1=login", "user2=click", "user1=logout", "user3=a:b"])
    );

    let missing = weir(&b, &["produce", "kv", "-K", ":"], Some("no separator\n")).await;
    assert!(
        missing.failed().contains("line 1 has no key separator"),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_options_and_consume_positions() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "p", "-p", "2"], None)
        .await
        .ok();

    let mut expected = Vec::new();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let lines: String = (0..3).map(|i| format!("{codec}-{i}\n")).collect();
        let json = weir(
            &b,
            &[
                "produce",
                "p",
                "--partition",
                "1",
                "--compression",
                codec,
                "--acks",
                "1",
                "-H",
                "source=cli",
                "--output",
                "json",
            ],
            Some(&lines),
        )
        .await
        .json();
        assert_eq!(json["records"], 3, "{json}");
        assert_eq!(json["partitions"]["1"]["records"], 3, "{json}");
        expected.extend((0..3).map(|i| format!("{codec}-{i}")));
    }
    // acks=0 gets no answer; the records still arrive.
    weir(
        &b,
        &["produce", "p", "-p", "0", "--acks", "0"],
        Some("fire\nforget\n"),
    )
    .await
    .ok();

    let out = weir(
        &b,
        &[
            "consume",
            "p",
            "--partition",
            "1",
            "--from-beginning",
            "--exit-at-end",
            "-f",
            "%p/%o %v %h",
        ],
        None,
    )
    .await;
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 15, "{out}");
    for (i, (line, value)) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(*line, format!("1/{i} {value} source=cli"));
    }

    // The last 2 records of partition 1; then an offset; then everything to the end.
    let out = weir(
        &b,
        &["consume", "p", "-p", "1", "--offset", "-2", "-e"],
        None,
    )
    .await;
    assert_eq!(out.ok(), "zstd-1\nzstd-2\n");
    let out = weir(
        &b,
        &[
            "consume", "p", "-p", "1", "--offset", "12", "-n", "1", "-f", "%o:%v",
        ],
        None,
    )
    .await;
    assert_eq!(out.ok(), "12:zstd-0\n");
    let out = weir(&b, &["consume", "p", "--from-beginning", "-e"], None).await;
    assert_eq!(out.ok().lines().count(), 17, "{out}");
    let out = weir(
        &b,
        &["consume", "p", "-p", "0", "--offset", "earliest", "-e"],
        None,
    )
    .await;
    assert_eq!(out.ok(), "fire\nforget\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_with_a_group_resumes_where_it_stopped() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "g", "-p", "1"], None)
        .await
        .ok();
    let lines: String = (0..10).map(|i| format!("m{i}\n")).collect();
    weir(&b, &["produce", "g"], Some(&lines)).await.ok();

    let first = weir(
        &b,
        &[
            "consume",
            "g",
            "--group",
            "resume",
            "--from-beginning",
            "-n",
            "4",
        ],
        None,
    )
    .await;
    assert_eq!(first.ok(), "m0\nm1\nm2\nm3\n");
    let second = weir(&b, &["consume", "g", "--group", "resume", "-e"], None).await;
    assert_eq!(second.ok(), "m4\nm5\nm6\nm7\nm8\nm9\n");
    let described = weir(
        &b,
        &["group", "describe", "resume", "--output", "json"],
        None,
    )
    .await
    .json();
    assert_eq!(described[0]["offsets"][0]["current_offset"], 10);
    assert_eq!(described[0]["offsets"][0]["lag"], 0);
}
