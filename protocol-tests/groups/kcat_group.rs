//! `kcat -G` (Debian's kcat, librdkafka 2.0) consumes through a balanced consumer group and
//! commits (auto commit on close); a second run of the same group reads only what is new.

use std::process::Output;
use std::time::Duration;

use super::external_group_consumer;
use crate::support::clients::ClientCommand;

fn run(bootstrap: String, group: String, topic: String, expected: usize) -> Output {
    ClientCommand::kcat()
        .args(["-b", &bootstrap, "-G", &group, &topic])
        .args(["-c", &expected.to_string(), "-q"])
        .args(["-f", "REC %p %o %k %s -\\n"])
        .args(["-X", "auto.offset.reset=earliest"])
        .args(["-X", "auto.commit.interval.ms=100"])
        .args(["-X", "session.timeout.ms=6000"])
        .timeout(Duration::from_secs(60))
        .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_balanced_consumer_consumes_commits_and_resumes() {
    external_group_consumer("kcat-group", run).await;
}
