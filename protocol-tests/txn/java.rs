//! The Apache Kafka Java client 4.3: an exactly-once consume-transform-produce pipeline
//! (`TxnPipeline`) restarted in the middle of a transaction, with transactions v2 (the
//! `transaction.version` feature finalized at 2) and v1 (finalized at 1), read back at both
//! isolation levels (`TxnRead`).

use std::collections::BTreeMap;

use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, java, parse_acks, stdout_lines};
use crate::support::scrape::scrape;

/// What one run of the pipeline printed.
fn lines(class: &'static str, args: Vec<String>) -> Vec<String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout_lines(&java(class, &args))
}

async fn run(class: &'static str, args: &[&str]) -> Vec<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    blocking(move || lines(class, args)).await
}

/// The VAL lines of `TxnRead`.
async fn read(bootstrap: &str, topic: &str, isolation: &str) -> Vec<String> {
    run("TxnRead", &[bootstrap, topic, isolation])
        .await
        .into_iter()
        .filter_map(|l| l.strip_prefix("VAL ").map(str::to_string))
        .collect()
}

/// Runs the pipeline over 120 inputs, halting the first instance mid-transaction, and checks
/// that read_committed sees every input transformed exactly once and read_uncommitted also
/// the halted transaction's records. Returns the broker's request counts by API.
async fn pipeline(transaction_version: &str) -> BTreeMap<String, f64> {
    let broker = TestBroker::start_with(&[
        ("num.partitions", "3"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("admin.listen", "127.0.0.1:0"),
        ("transaction.version", transaction_version),
    ])
    .await;
    let bootstrap = broker.bootstrap();
    let acks = blocking({
        let b = bootstrap.clone();
        move || parse_acks(&java("ProduceKeyed", &[&b, "in", "120", "--keys", "12"]))
    })
    .await;
    assert_eq!(acks.len(), 120);
    let first = run(
        "TxnPipeline",
        &[
            &bootstrap,
            "in",
            "out",
            "etl",
            "etl-app",
            "--halt-after",
            "50",
        ],
    )
    .await;
    assert_eq!(first.last().map(String::as_str), Some("HALT"), "{first:?}");
    assert!(first.iter().any(|l| l.starts_with("COMMIT")), "{first:?}");
    let second = run("TxnPipeline", &[&bootstrap, "in", "out", "etl", "etl-app"]).await;
    assert!(
        second.last().is_some_and(|l| l.starts_with("DONE")),
        "{second:?}"
    );

    let mut want: Vec<String> = acks.iter().map(|a| format!("out:{}", a.value)).collect();
    want.sort();
    let mut committed = read(&bootstrap, "out", "read_committed").await;
    committed.sort();
    assert_eq!(
        committed, want,
        "every input exactly once at read_committed"
    );
    let uncommitted = read(&bootstrap, "out", "read_uncommitted").await;
    assert!(
        uncommitted.len() > want.len(),
        "the halted transaction's records are in the log ({} > {})",
        uncommitted.len(),
        want.len()
    );
    let admin = broker.handle.admin_addr().expect("admin listener");
    scrape(admin)
        .await
        .into_iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("weir_requests_total{api=\"")
                .and_then(|r| r.strip_suffix("\"}"))
                .map(|api| (api.to_string(), v))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn java_exactly_once_pipeline_across_an_app_restart_with_transactions_v2() {
    let requests = pipeline("2").await;
    // Transactions v2: partitions and the group join the transaction through Produce v12 and
    // TxnOffsetCommit v5; the client never sends AddPartitionsToTxn or AddOffsetsToTxn.
    assert_eq!(requests["AddPartitionsToTxn"], 0.0, "{requests:?}");
    assert_eq!(requests["AddOffsetsToTxn"], 0.0, "{requests:?}");
    assert!(requests["EndTxn"] > 0.0 && requests["TxnOffsetCommit"] > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn java_exactly_once_pipeline_across_an_app_restart_with_transactions_v1() {
    // transaction.version=0: the feature is not finalized in ApiVersions at all.
    let requests = pipeline("0").await;
    assert!(requests["AddPartitionsToTxn"] > 0.0, "{requests:?}");
    assert!(requests["AddOffsetsToTxn"] > 0.0, "{requests:?}");
}
