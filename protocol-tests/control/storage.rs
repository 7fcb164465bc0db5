//! The control plane over a partition that a failed fsync took offline: capture shows the
//! KAFKA_STORAGE_ERROR answers per partition, a fault rule still answers before the handler,
//! and reset gives back a topic that serves.

use kafka_protocol::messages::{ApiKey, ProduceRequest};
use weir::control::{Outcome, Query, Rule};
use weir::log::faults::{self, Point};

use super::common::control_broker;
use crate::support::raw::{code, valid_batch, RawClient};

const TOPIC: &str = "ctl-offline";
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const KAFKA_STORAGE_ERROR: i16 = 56;

#[tokio::test(flavor = "multi_thread")]
async fn capture_fault_rules_and_reset_work_over_an_offline_partition() {
    let (broker, control) = control_broker(&[("log.flush.interval.messages", "1")]).await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic(TOPIC, 1, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    let one = || vec![(0, valid_batch(1, 10).freeze())];
    assert_eq!(
        client.produce(version, TOPIC, one()).await,
        vec![(0, code::NONE, 0)]
    );
    control.capture_start(Some(100)).unwrap();

    let fault = faults::arm(faults::Rule::once(
        Point::Fsync,
        &broker.data_dir().join(format!("{TOPIC}-0")),
    ));
    assert_eq!(
        client.produce(version, TOPIC, one()).await[0].1,
        KAFKA_STORAGE_ERROR
    );
    drop(fault);
    let (error, _, _) = client.fetch(TOPIC, 0, 0).await;
    assert_eq!(error, KAFKA_STORAGE_ERROR);

    // A rule answers first, as for any partition; the request after it reaches the handler.
    control
        .add_fault(
            Rule::on(ApiKey::Produce)
                .topic(TOPIC)
                .error(NOT_LEADER_OR_FOLLOWER)
                .times(1),
        )
        .unwrap();
    assert_eq!(
        client.produce(version, TOPIC, one()).await[0].1,
        NOT_LEADER_OR_FOLLOWER
    );
    assert_eq!(
        client.produce(version, TOPIC, one()).await[0].1,
        KAFKA_STORAGE_ERROR
    );

    let produced = control
        .captured(&Query {
            api: Some("Produce".into()),
            topic: Some(TOPIC.into()),
            ..Query::default()
        })
        .unwrap();
    let seen: Vec<(Outcome, Option<String>)> = produced
        .iter()
        .map(|c| (c.outcome, c.summary.partitions[0].error.clone()))
        .collect();
    let storage = Some("KAFKA_STORAGE_ERROR".to_string());
    assert_eq!(
        seen,
        vec![
            (Outcome::Answered, storage.clone()),
            (
                Outcome::Injected,
                Some("NOT_LEADER_OR_FOLLOWER".to_string())
            ),
            (Outcome::Answered, storage),
        ]
    );

    // Reset deletes the topic, offline partition included; created again, it serves.
    control.reset().await.unwrap();
    client.create_topic(TOPIC, 1, &[]).await;
    assert_eq!(
        client.produce(version, TOPIC, one()).await,
        vec![(0, code::NONE, 0)]
    );
    let (error, high, records) = client.fetch(TOPIC, 0, 0).await;
    assert_eq!((error, high), (code::NONE, 1));
    assert!(!records.is_empty());
}
