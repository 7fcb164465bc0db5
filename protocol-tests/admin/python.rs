//! confluent-kafka's AdminClient (`python/confluent_admin.py`): the topic life cycle, including
//! the legacy AlterConfigs that the Java client no longer has.

use super::java::{assert_steps, line};
use crate::support::broker::TestBroker;
use crate::support::clients::{blocking, python, stdout_lines};

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
        "REFUSED compacted-topic INVALID_CONFIG",
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
