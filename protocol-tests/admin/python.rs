//! confluent-kafka's AdminClient (`python/confluent_admin.py`): the topic life cycle, including
//! the legacy AlterConfigs that the Java client no longer has.

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::DescribeConfigsRequest;

use super::common::connect_raw;
use super::java::{assert_steps, line};
use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, python, stdout_lines};
use crate::support::raw::s;

#[tokio::test(flavor = "multi_thread")]
async fn confluent_admin_client_creates_describes_alters_grows_trims_and_deletes_topics() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let output =
        blocking(move || python("confluent_admin.py", &["scenario", &bootstrap, "py-admin"])).await;
    let lines = stdout_lines(&output);
    assert_steps(
        &lines,
        &[
            "create",
            "describe",
            "incremental-alter",
            "legacy-alter",
            "partitions",
            "delete-records",
            "cluster",
            "delete-topic",
        ],
    );
    assert!(
        line(&lines, "TOPIC_CONFIGS")
            .parse::<usize>()
            .expect("count")
            >= 30
    );
    assert_eq!(line(&lines, "BROKER num.partitions"), "1");
    assert_eq!(line(&lines, "CONFIG segment.bytes"), "1048576");
    assert_eq!(line(&lines, "CONFIG retention.ms"), "7200000");
    assert_eq!(line(&lines, "PARTITIONS"), "4");
    assert_eq!(line(&lines, "LOW_WATERMARK"), "5");
    let cluster_id = &broker.handle.broker().cluster.cluster_id;
    assert_eq!(line(&lines, "CLUSTER"), format!("{cluster_id} 1"));
    for refused in [
        "REFUSED unknown-policy INVALID_CONFIG",
        "REFUSED shrink INVALID_PARTITIONS",
        "REFUSED beyond-the-end OFFSET_OUT_OF_RANGE",
    ] {
        assert!(
            lines.iter().any(|l| l == refused),
            "no {refused:?} in {lines:#?}"
        );
    }
    assert!(
        broker.handle.broker().topics.get("py-admin").is_none(),
        "deleted"
    );
}

/// Configs that Kafka 3 accepted and Kafka 4 dropped, as older tools (and librdkafka's own test
/// suite) still set them: accepted and ignored, described with a note that they are ignored.
#[tokio::test(flavor = "multi_thread")]
async fn confluent_admin_client_sets_configs_kafka_4_dropped_and_they_are_ignored() {
    let broker = TestBroker::start().await;
    let bootstrap = broker.bootstrap();
    let output = blocking(move || {
        python(
            "confluent_admin.py",
            &["legacy-configs", &bootstrap, "py-legacy"],
        )
    })
    .await;
    let lines = stdout_lines(&output);
    assert_steps(
        &lines,
        &["create", "incremental-alter", "legacy-alter", "produce"],
    );
    assert!(lines
        .iter()
        .any(|l| l == "REFUSED malformed-version INVALID_CONFIG"));
    assert_eq!(line(&lines, "LEGACY message.format.version"), "3.0-IV1");
    assert_eq!(line(&lines, "LEGACY retention.ms"), "604800000");
    assert_eq!(line(&lines, "LEGACY offset"), "0");

    let topic = broker
        .handle
        .broker()
        .topics
        .get("py-legacy")
        .expect("topic");
    let log_config = broker.handle.broker().topics.log_config(&topic.configs());
    let defaults = broker.handle.broker().config().log.clone();
    assert_eq!(
        format!("{log_config:?}"),
        format!("{defaults:?}"),
        "no effect on the log"
    );

    let mut raw = connect_raw(broker.addr()).await;
    let request = DescribeConfigsRequest::default()
        .with_include_documentation(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("py-legacy"))
            .with_configuration_keys(Some(vec![s("message.format.version")]))]);
    let response = raw.call(4, &request).await;
    let entry = &response.results[0].configs[0];
    assert_eq!(entry.name.as_str(), "message.format.version");
    let doc = entry
        .documentation
        .as_ref()
        .expect("documentation")
        .as_str();
    assert!(doc.starts_with("Ignored"), "{doc}");
}
