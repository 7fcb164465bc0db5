//! The Java client (kafka-clients 4.3, classic group protocol) consumes through a group and
//! commits; a second run of the same group reads only what is new.

use std::process::Output;
use std::time::Duration;

use super::external_group_consumer;
use crate::support::clients::ClientCommand;

fn range(b: String, g: String, t: String, n: usize) -> Output {
    group_consume(&b, &g, &t, n, None)
}

fn cooperative(b: String, g: String, t: String, n: usize) -> Output {
    let class = "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
    group_consume(&b, &g, &t, n, Some(class))
}

fn group_consume(
    bootstrap: &str,
    group: &str,
    topic: &str,
    expected: usize,
    strategy: Option<&str>,
) -> Output {
    let mut cmd = ClientCommand::java("GroupConsume")
        .args([bootstrap, group, topic, &expected.to_string()])
        .timeout(Duration::from_secs(60));
    if let Some(s) = strategy {
        cmd = cmd.args(["--strategy", s]);
    }
    cmd.run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_consumer_group_consumes_commits_and_resumes() {
    external_group_consumer("java-group", range).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_cooperative_consumer_group_consumes_commits_and_resumes() {
    external_group_consumer("java-coop-group", cooperative).await;
}
