//! A consumer group outlives a SIGKILL of the broker: its members, epochs and assignments are
//! replayed from the group log, the live members carry on without a new assignment, and
//! consumption resumes at the committed offsets (nothing processed twice, nothing lost).

use super::member::{Kind, Member};
use super::{assert_exactly_once, processed, settings, wait_for_split, wait_processed, WAIT};
use crate::groups::{create_topic, produce, wait_until};
use crate::support::broker::ProcessBroker;

async fn spawn(port: u16, dir: std::path::PathBuf) -> ProcessBroker {
    let args: Vec<String> = settings()
        .into_iter()
        .flat_map(|(k, v)| ["--set".to_string(), format!("{k}={v}")])
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ProcessBroker::spawn_on(&format!("127.0.0.1:{port}"), &dir, &args)
    })
    .await
    .expect("spawn broker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_group_survives_broker_sigkill_without_reassignment_and_resumes_at_commits() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let broker = spawn(port, dir.path().to_path_buf()).await;
    let bootstrap = broker.addr.to_string();
    let topic = "durable-kip848";
    create_topic(&bootstrap, topic, 6, WAIT).await;
    let sub = ["--topic", topic];
    let a = Member::start(Kind::Java, "A", &bootstrap, "kip848-restart", &sub);
    let b = Member::start(Kind::Confluent, "B", &bootstrap, "kip848-restart", &sub);
    let split = wait_for_split(&[&a, &b], topic, &[3, 3]).await;
    let mut produced = produce(&bootstrap, topic, 6, 4, "before").await;
    wait_processed(&[&a, &b], topic, produced.len()).await;

    broker.kill_hard();
    let broker = spawn(port, dir.path().to_path_buf()).await;
    produced.extend(produce(&bootstrap, topic, 6, 3, "after").await);
    wait_processed(&[&a, &b], topic, produced.len()).await;
    assert_exactly_once(&processed(&[&a, &b]), topic, &produced);
    // The same split: the group was restored, not rebuilt.
    assert_eq!(super::owners(&[&a, &b]), split);
    for (m, before) in [(&a, &split[0]), (&b, &split[1])] {
        let lost = m
            .history()
            .iter()
            .any(|(_, owned)| !before.is_subset(owned) && !owned.is_empty());
        assert!(!lost, "{} was reassigned: {:?}", m.name, m.history());
    }
    // The group (with its offsets) is what a fresh member of it resumes from.
    let mut a = a;
    let mut b = b;
    a.stop(WAIT);
    b.stop(WAIT);
    let last = produce(&bootstrap, topic, 6, 1, "last").await;
    let c = Member::start(Kind::Java, "C", &bootstrap, "kip848-restart", &sub);
    wait_until("C owns all six", WAIT, || {
        (c.owned().len() == 6).then_some(())
    })
    .await;
    wait_processed(&[&c], topic, last.len()).await;
    assert_exactly_once(&c.records(), topic, &last);
    drop(broker);
}
