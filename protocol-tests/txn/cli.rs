//! `weir txn`: list, describe, describe-producers, find-hanging and abort, against a broker
//! with an open transaction.

use rdkafka::producer::{FutureRecord, Producer};

use super::{stable_and_end, txn_producer, WAIT};
use crate::cli::weir;
use crate::support::broker::TestBroker;
use crate::support::clients::blocking;
use crate::support::topics::create_topic;

#[tokio::test(flavor = "multi_thread")]
async fn weir_txn_lists_describes_finds_and_aborts_a_hanging_transaction() {
    let broker = TestBroker::start().await;
    let b = broker.bootstrap();
    create_topic(&b, "t", 1, WAIT).await;
    let bootstrap = b.clone();
    let producer = blocking(move || {
        let p = txn_producer(&bootstrap, "app", &[]);
        p.begin_transaction().unwrap();
        for i in 0..3 {
            let v = format!("v{i}");
            p.send_result(FutureRecord::<(), _>::to("t").payload(&v))
                .map_err(|(e, _)| e)
                .unwrap();
        }
        p.flush(WAIT).unwrap();
        p
    })
    .await;

    let listed = weir(&b, &["txn", "list", "--output", "json"], None)
        .await
        .json();
    assert_eq!(listed[0]["transactional_id"], "app");
    assert_eq!(listed[0]["state"], "Ongoing");
    let table = weir(&b, &["txn", "list", "--state", "CompleteCommit"], None).await;
    assert!(!table.ok().contains("app"), "{table}");

    let described = weir(
        &b,
        &[
            "txn",
            "describe",
            "--transactional-id",
            "app",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(described["state"], "Ongoing");
    assert_eq!(described["partitions"], serde_json::json!(["t-0"]));
    let pid = described["producer_id"].as_i64().unwrap();

    let producers = weir(
        &b,
        &[
            "txn",
            "describe-producers",
            "--topic",
            "t",
            "--partition",
            "0",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(producers[0]["producer_id"].as_i64(), Some(pid));
    assert_eq!(producers[0]["current_transaction_start_offset"], 0);

    // Open longer than 0 ms: hanging by that measure (not by the default 15 minutes).
    let hanging = weir(&b, &["txn", "find-hanging", "--output", "json"], None)
        .await
        .json();
    assert_eq!(hanging, serde_json::json!([]));
    let hanging = weir(
        &b,
        &[
            "txn",
            "find-hanging",
            "--max-transaction-timeout",
            "0",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(hanging[0]["producer_id"].as_i64(), Some(pid));

    let (stable, end) = stable_and_end(broker.addr(), "t", 0).await;
    assert_eq!((stable, end), (0, 3));
    let wrong = weir(
        &b,
        &[
            "txn",
            "abort",
            "--topic",
            "t",
            "--partition",
            "0",
            "--start-offset",
            "2",
        ],
        None,
    )
    .await;
    assert!(
        wrong
            .failed()
            .contains("no open transaction starts at offset 2"),
        "{wrong}"
    );
    let aborted = weir(
        &b,
        &[
            "txn",
            "abort",
            "--topic",
            "t",
            "--partition",
            "0",
            "--start-offset",
            "0",
        ],
        None,
    )
    .await;
    assert!(
        aborted.ok().contains(&format!("producer {pid}")),
        "{aborted}"
    );
    let (stable, end) = stable_and_end(broker.addr(), "t", 0).await;
    assert_eq!((stable, end), (4, 4), "the abort marker ended it");

    let unknown = weir(
        &b,
        &["txn", "describe", "--transactional-id", "nobody"],
        None,
    )
    .await;
    assert!(
        unknown.failed().contains("TRANSACTIONAL_ID_NOT_FOUND"),
        "{unknown}"
    );
    drop(producer);
}
