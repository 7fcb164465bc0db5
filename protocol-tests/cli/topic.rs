//! `weir topic ...` and `weir cluster info`.

use super::{broker, rows, weir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_create_list_describe_print_tables_and_json() {
    let broker = broker().await;
    let b = broker.bootstrap();

    let out = weir(
        &b,
        &["topic", "create", "orders", "--partitions", "4"],
        None,
    )
    .await;
    assert_eq!(out.ok(), "Created topic orders (4 partitions)\n");
    let json = weir(
        &b,
        &[
            "topic",
            "create",
            "events",
            "-c",
            "retention.ms=3600000",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(json["topic"], "events");
    assert_eq!(json["created"], true);
    assert_eq!(
        json["partitions"], 3,
        "broker default num.partitions: {json}"
    );

    let again = weir(&b, &["topic", "create", "orders"], None).await;
    assert!(again.failed().contains("TOPIC_ALREADY_EXISTS"), "{again}");
    let tolerated = weir(&b, &["topic", "create", "orders", "--if-not-exists"], None).await;
    assert!(tolerated.ok().contains("Already exists"), "{tolerated}");

    let list = weir(&b, &["topic", "list"], None).await;
    let table = rows(list.ok());
    assert_eq!(table[0], ["TOPIC", "PARTITIONS", "REPLICAS"]);
    assert!(
        table.contains(&vec!["orders".into(), "4".into(), "1".into()]),
        "{list}"
    );
    assert!(
        table.contains(&vec!["events".into(), "3".into(), "1".into()]),
        "{list}"
    );
    let json = weir(&b, &["topic", "list", "--output", "json"], None)
        .await
        .json();
    let names: Vec<&str> = json
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["topic"].as_str())
        .collect();
    assert_eq!(names, ["events", "orders"]);

    let describe = weir(&b, &["topic", "describe", "events"], None).await;
    let text = describe.ok();
    assert!(text.starts_with("Topic: events  Id: "), "{describe}");
    assert!(text.contains("Configs: retention.ms=3600000"), "{describe}");
    let table = rows(text.lines().skip(1).collect::<Vec<_>>().join("\n").as_str());
    assert_eq!(
        table[0],
        [
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "LOG-START-OFFSET",
            "HIGH-WATERMARK"
        ]
    );
    assert_eq!(table.len(), 4, "{describe}");
    assert_eq!(table[1], ["0", "1", "1", "1", "0", "0"]);

    let json = weir(
        &b,
        &["topic", "describe", "orders", "events", "--output", "json"],
        None,
    )
    .await
    .json();
    assert_eq!(json[0]["topic"], "orders");
    assert_eq!(json[0]["partitions"].as_array().map(Vec::len), Some(4));
    assert_eq!(json[0]["partitions"][3]["high_watermark"], 0);
    assert_eq!(json[1]["configs"]["retention.ms"], "3600000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_add_partitions_alter_config_and_delete() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "t", "-p", "2"], None)
        .await
        .ok();

    let out = weir(&b, &["topic", "add-partitions", "t", "--num", "3"], None).await;
    assert_eq!(out.ok(), "Topic t now has 5 partitions (was 2)\n");
    let json = weir(
        &b,
        &[
            "topic",
            "add-partitions",
            "t",
            "--total",
            "6",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(json["previous_partitions"], 5);
    assert_eq!(json["partitions"], 6);
    let shrink = weir(&b, &["topic", "add-partitions", "t", "--total", "2"], None).await;
    assert!(shrink.failed().contains("has 6 partitions"), "{shrink}");
    let described = weir(&b, &["topic", "describe", "t", "--output", "json"], None)
        .await
        .json();
    assert_eq!(described[0]["partitions"].as_array().map(Vec::len), Some(6));

    let out = weir(
        &b,
        &[
            "topic",
            "alter-config",
            "t",
            "--set",
            "retention.ms=123456",
            "--set",
            "segment.bytes=1048576",
        ],
        None,
    )
    .await;
    let table = rows(out.ok());
    assert!(
        table.contains(&vec!["retention.ms".into(), "123456".into()]),
        "{out}"
    );
    let json = weir(
        &b,
        &[
            "topic",
            "alter-config",
            "t",
            "--delete",
            "retention.ms",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(json["configs"]["segment.bytes"], "1048576", "{json}");
    assert!(json["configs"].get("retention.ms").is_none(), "{json}");
    let described = weir(&b, &["topic", "describe", "t", "--output", "json"], None)
        .await
        .json();
    assert_eq!(described[0]["configs"]["segment.bytes"], "1048576");

    let bad = weir(
        &b,
        &["topic", "alter-config", "t", "--set", "retention.ms=soon"],
        None,
    )
    .await;
    assert!(bad.failed().contains("INVALID_CONFIG"), "{bad}");

    let out = weir(&b, &["topic", "delete", "t"], None).await;
    assert_eq!(out.ok(), "Deleted topic t\n");
    let list = weir(&b, &["topic", "list", "--output", "json"], None)
        .await
        .json();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    let gone = weir(&b, &["topic", "delete", "t"], None).await;
    assert!(gone.failed().contains("unknown topic \"t\""), "{gone}");
    let tolerated = weir(
        &b,
        &["topic", "delete", "t", "--if-exists", "--output", "json"],
        None,
    )
    .await
    .json();
    assert_eq!(tolerated["deleted"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_info_shows_brokers_and_api_versions() {
    let broker = broker().await;
    let b = broker.bootstrap();
    weir(&b, &["topic", "create", "a"], None).await.ok();

    let out = weir(&b, &["cluster", "info"], None).await;
    let text = out.ok();
    assert!(text.starts_with("Cluster id: "), "{out}");
    assert!(text.contains("Controller: 1\nTopics: 1\n"), "{out}");
    let port = broker.addr().port().to_string();
    let table = rows(text.lines().skip(4).collect::<Vec<_>>().join("\n").as_str());
    assert_eq!(table[0], ["BROKER", "HOST", "PORT", "RACK"]);
    assert_eq!(table[1], ["1", "127.0.0.1", port.as_str(), "-"]);

    let json = weir(
        &b,
        &["cluster", "info", "--api-versions", "--output", "json"],
        None,
    )
    .await
    .json();
    assert_eq!(json["controller_id"], 1);
    assert_eq!(json["topics"], 1);
    assert_eq!(json["brokers"][0]["port"], broker.addr().port());
    assert!(json["cluster_id"].as_str().is_some_and(|id| !id.is_empty()));
    let apis = json["api_versions"].as_array().expect("api versions");
    assert!(
        apis.iter()
            .any(|a| a["api"] == "Fetch" && a["min_version"] == 4),
        "{json}"
    );
    let text = weir(&b, &["cluster", "info", "--api-versions"], None).await;
    assert!(text.ok().contains("ApiVersions"), "{text}");
}
