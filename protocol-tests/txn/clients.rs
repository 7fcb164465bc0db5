//! The transactional APIs of confluent-kafka and kafka-python (consume-transform-produce with
//! send_offsets_to_transaction, and an abort), and read_committed in every client that has it.

use super::{read_values, sorted, transaction, txn_producer, wait_stable, WAIT};
use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, java, kcat, python, stdout_lines};
use crate::support::rdkafka_clients::committed;
use crate::support::topics::create_topic;

/// Runs `script pipeline` over `count` inputs and checks what it left: every input
/// transformed exactly once at read_committed, the aborted records only at read_uncommitted,
/// and the group's offsets committed at the end of the input.
async fn pipeline(script: &'static str) {
    let broker = TestBroker::start_with(&[("group.initial.rebalance.delay.ms", "0")]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "in", 2, WAIT).await;
    create_topic(&bootstrap, "out", 2, WAIT).await;
    let count = 40;
    let b = bootstrap.clone();
    let out = blocking(move || {
        stdout_lines(&python(
            script,
            &[
                "pipeline",
                &b,
                "in",
                "out",
                "etl",
                "etl-tx",
                &count.to_string(),
            ],
        ))
    })
    .await;
    assert_eq!(
        out.first().map(String::as_str),
        Some("ABORTED 5"),
        "{out:?}"
    );
    assert_eq!(out.last(), Some(&format!("DONE {count}")), "{out:?}");
    assert!(out.iter().filter(|l| l.starts_with("COMMITTED")).count() >= 1);

    let b = bootstrap.clone();
    let (read_committed, read_uncommitted, offsets) = blocking(move || {
        (
            read_values(&b, "out", 2, true),
            read_values(&b, "out", 2, false),
            committed(&b, "etl", "in", 2, WAIT),
        )
    })
    .await;
    let want: Vec<String> = (0..count).map(|i| format!("out:in-{i}")).collect();
    assert_eq!(sorted(read_committed), sorted(want), "{script}");
    assert_eq!(
        read_uncommitted
            .iter()
            .filter(|v| v.starts_with("junk-"))
            .count(),
        5,
        "{script}"
    );
    let total: i64 = offsets.values().map(|(o, _)| *o).sum();
    assert_eq!(
        total, count,
        "{script}: offsets committed with the transactions: {offsets:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn confluent_kafka_transactional_consume_transform_produce() {
    pipeline("txn_confluent.py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_python_transactional_consume_transform_produce() {
    pipeline("txn_kafka_python.py").await;
}

/// The VAL lines a reader program printed.
fn vals(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter_map(|l| l.strip_prefix("VAL ").map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn aborted_records_are_hidden_at_read_committed_from_every_client() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "mixed", 2, WAIT).await;
    let b = bootstrap.clone();
    blocking(move || {
        let p = txn_producer(&b, "mixer", &[]);
        let batch = |prefix: &str| (0..8).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>();
        transaction(&p, "mixed", &batch("c1"), true);
        transaction(&p, "mixed", &batch("a1"), false);
        transaction(&p, "mixed", &batch("c2"), true);
        transaction(&p, "mixed", &batch("a2"), false);
    })
    .await;
    wait_stable(broker.addr(), "mixed", 2).await;
    let committed: Vec<String> = ["c1", "c2"]
        .iter()
        .flat_map(|p| (0..8).map(move |i| format!("{p}-{i}")))
        .collect();
    let committed = sorted(committed);

    let b = bootstrap.clone();
    let readers = blocking(move || {
        let mut read = Vec::new();
        for isolation in ["read_committed", "read_uncommitted"] {
            for script in ["txn_confluent.py", "txn_kafka_python.py", "txn_aiokafka.py"] {
                let out = python(script, &["read", &b, "mixed", "2", isolation]);
                read.push((script.to_string(), isolation, vals(stdout_lines(&out))));
            }
            let out = java("TxnRead", &[&b, "mixed", isolation]);
            read.push(("java".to_string(), isolation, vals(stdout_lines(&out))));
            // Debian's kcat (librdkafka 2.0.2) reads from a broker that advertises the
            // transaction.version feature in ApiVersions' tagged fields.
            let setting = format!("isolation.level={isolation}");
            let out = kcat(
                &[
                    "-b",
                    &b,
                    "-C",
                    "-t",
                    "mixed",
                    "-o",
                    "beginning",
                    "-e",
                    "-q",
                    "-X",
                    &setting,
                    "-f",
                    "VAL %s\n",
                ],
                None,
            );
            read.push(("kcat".to_string(), isolation, vals(stdout_lines(&out))));
            read.push((
                "rdkafka".to_string(),
                isolation,
                read_values(&b, "mixed", 2, isolation == "read_committed")
                    .into_iter()
                    .collect(),
            ));
        }
        read
    })
    .await;
    for (client, isolation, values) in readers {
        if isolation == "read_committed" {
            assert_eq!(sorted(values), committed, "{client} at {isolation}");
        } else {
            assert_eq!(values.len(), 32, "{client} at {isolation}: {values:?}");
            assert_eq!(
                values.iter().filter(|v| v.starts_with('a')).count(),
                16,
                "{client} at {isolation}"
            );
        }
    }
}
