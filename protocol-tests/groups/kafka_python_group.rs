//! kafka-python 3 consumes through a group and commits; a second run of the same group reads
//! only what is new.

use std::process::Output;
use std::time::Duration;

use super::external_group_consumer;
use crate::support::clients::ClientCommand;

fn run(bootstrap: String, group: String, topic: String, expected: usize) -> Output {
    ClientCommand::python("kafka_python_group.py")
        .args([bootstrap, group, topic, expected.to_string()])
        .timeout(Duration::from_secs(60))
        .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_python_consumer_group_consumes_commits_and_resumes() {
    external_group_consumer("kafka-python-group", run).await;
}
