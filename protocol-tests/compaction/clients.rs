//! Other clients on compacted topics: confluent-kafka's AdminClient creates one and reads its
//! configs back; the Java producer (idempotent, lz4) produces while the cleaner runs and
//! kafka-python reads the compacted log from the beginning (gaps, re-encoded batches, empty
//! batches kept for producer state); kafka-python's keyless record is refused.

use std::time::Duration;

use super::{read_all, CompactingBroker};
use crate::support::clients::{blocking, python, stdout_lines, ClientCommand};

#[tokio::test(flavor = "multi_thread")]
async fn java_and_python_clients_use_a_compacted_topic() {
    let broker = CompactingBroker::start(&[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "shared-table";
    let b = bootstrap.clone();
    let out = blocking(move || {
        python(
            "confluent_admin.py",
            &[
                "create-compacted",
                &b,
                topic,
                "segment.bytes=8192",
                "min.cleanable.dirty.ratio=0.01",
            ],
        )
    })
    .await;
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l == "cleanup.policy=compact"),
        "{out:?}"
    );
    let b = bootstrap.clone();
    let out = blocking(move || {
        ClientCommand::java("ProduceKeyed")
            .args([
                b.as_str(),
                topic,
                "20000",
                "--keys",
                "100",
                "--compression",
                "lz4",
            ])
            .run()
    })
    .await;
    assert!(
        stdout_lines(&out).iter().any(|l| l == "produced 20000"),
        "Java producer across cleaning: {out:?}"
    );
    let since = broker.clock.now_ms();
    broker.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let b = bootstrap.clone();
    blocking(move || {
        ClientCommand::java("ProduceKeyed")
            .args([b.as_str(), topic, "1", "--keys", "1"])
            .run()
    })
    .await;
    broker.wait_clean(topic, since).await;
    let records = read_all(&bootstrap, topic);
    // key-0's last write is the single record of the second run; the active segment holds it.
    assert_eq!(records.len(), 101, "{}", records.len());

    let b = bootstrap.clone();
    let out =
        blocking(move || python("kafka_python_client.py", &["consume", &b, topic, "101"])).await;
    let received = stdout_lines(&out)
        .iter()
        .filter(|l| l.starts_with("REC "))
        .count();
    assert_eq!(
        received, 101,
        "kafka-python read the compacted log: {out:?}"
    );

    let b = bootstrap.clone();
    let out = blocking(move || {
        ClientCommand::python("confluent_admin.py")
            .args(["produce-keyless", b.as_str(), topic])
            .run_unchecked()
    })
    .await;
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l == "refused INVALID_RECORD"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn weir_topic_describe_shows_the_policy_dirty_ratio_and_last_cleaning() {
    let broker = CompactingBroker::start(&[("admin.listen", "127.0.0.1:0")]).await;
    let bootstrap = broker.bootstrap();
    let admin = broker.handle.admin_addr().unwrap().to_string();
    let topic = "described";
    let created = crate::cli::weir(
        &bootstrap,
        &[
            "topic",
            "create",
            topic,
            "--config",
            "cleanup.policy=compact",
            "--config",
            "segment.bytes=1024",
            "--config",
            "min.cleanable.dirty.ratio=0.01",
        ],
        None,
    )
    .await;
    created.ok();
    // Two runs, two appends: the second rolls the segment of the first, which gets cleaned.
    for run in 0..2 {
        let lines: String = (0..200)
            .map(|i| format!("k{}:v{run}-{i}\n", i % 10))
            .collect();
        crate::cli::weir(
            &bootstrap,
            &["produce", topic, "--key-separator", ":"],
            Some(&lines),
        )
        .await
        .ok();
    }
    broker.wait_clean(topic, 0).await;
    let run = crate::cli::weir(
        &bootstrap,
        &[
            "topic", "describe", topic, "--admin", &admin, "--output", "json",
        ],
        None,
    )
    .await;
    let json = run.json();
    let described = &json[0];
    assert_eq!(described["cleanup_policy"], "compact", "{json}");
    let p = &described["partitions"][0];
    assert!(
        p["dirty_ratio"]
            .as_f64()
            .is_some_and(|r| (0.0..=1.0).contains(&r)),
        "{json}"
    );
    assert!(
        p["last_cleaned_ms"].as_i64().is_some_and(|t| t > 0),
        "{json}"
    );
    let table = crate::cli::weir(
        &bootstrap,
        &["topic", "describe", topic, "--admin", &admin],
        None,
    )
    .await;
    let text = table.ok();
    assert!(text.contains("Policy: compact"), "{text}");
    assert!(
        text.contains("DIRTY-RATIO") && text.contains("LAST-CLEANED"),
        "{text}"
    );
}
