//! The Java AdminClient 4.3 (`java/AdminOps.java`): the whole topic life cycle through the
//! admin API. The program checks each result itself; this test checks the printed values again
//! and that every step ran.

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, java, stdout_lines};

/// The value after `KEY ` on the program's `KEY ...` line.
pub fn line(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {key:?} line in {lines:#?}"))
        .to_string()
}

pub fn assert_steps(lines: &[String], steps: &[&str]) {
    let done: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("OK ")).collect();
    assert_eq!(done, steps, "steps that passed: {lines:#?}");
    assert_eq!(lines.last().map(String::as_str), Some("DONE"));
}

#[tokio::test(flavor = "multi_thread")]
async fn java_admin_client_creates_describes_alters_grows_trims_and_deletes_topics() {
    let broker = TestBroker::start_with(&[("log.retention.check.interval.ms", "200")]).await;
    let bootstrap = broker.bootstrap();
    let output = blocking(move || java("AdminOps", &[&bootstrap, "java-admin"])).await;
    let lines = stdout_lines(&output);
    assert_steps(
        &lines,
        &[
            "create",
            "describe",
            "alter",
            "partitions",
            "delete-records",
            "cluster",
            "delete-topic",
        ],
    );

    let topic_configs: usize = line(&lines, "TOPIC_CONFIGS").parse().expect("count");
    assert!(
        topic_configs >= 30,
        "Kafka 4 has 33 topic configs; weir described {topic_configs}"
    );
    assert_eq!(
        line(&lines, "CREATE_CONFIGS"),
        topic_configs.to_string(),
        "CreateTopics and DescribeConfigs agree"
    );
    assert_eq!(line(&lines, "BROKER num.partitions"), "1 DEFAULT_CONFIG");
    assert_eq!(
        line(&lines, "BROKER log.retention.check.interval.ms"),
        "200 STATIC_BROKER_CONFIG"
    );
    assert_eq!(line(&lines, "CONFIG segment.bytes"), "1048576");
    assert_eq!(line(&lines, "CONFIG max.message.bytes"), "500000");
    assert_eq!(line(&lines, "PARTITIONS"), "4");
    assert_eq!(line(&lines, "LOW_WATERMARK"), "10");
    let cluster_id = &broker.handle.broker().cluster.cluster_id;
    assert_eq!(
        line(&lines, "CLUSTER"),
        format!("{cluster_id} 1 {}", broker.bootstrap())
    );
    let dir = std::fs::canonicalize(broker.dir.path()).expect("data dir");
    assert_eq!(line(&lines, "LOG_DIR"), dir.to_string_lossy());
    let sizes: Vec<u64> = line(&lines, "SIZES")
        .split(' ')
        .map(|s| s.parse().expect("size"))
        .collect();
    assert_eq!(sizes[..3], [0, 0, 0]);
    assert!(
        sizes[3] > 10 * 100,
        "10 records of 100 bytes on partition 3: {sizes:?}"
    );
    for refused in [
        "REFUSED unknown-policy InvalidConfigurationException",
        "REFUSED shrink InvalidPartitionsException",
        "REFUSED same-count InvalidPartitionsException",
        "REFUSED delete-beyond-the-high-watermark OffsetOutOfRangeException",
        "REFUSED dynamic-broker-config InvalidRequestException",
    ] {
        assert!(
            lines.iter().any(|l| l == refused),
            "no {refused:?} in {lines:#?}"
        );
    }
    assert!(
        broker.handle.broker().topics.get("java-admin").is_none(),
        "deleted"
    );
}
