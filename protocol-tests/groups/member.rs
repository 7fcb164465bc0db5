//! Group members for the tests: an rdkafka consumer polled by its own thread, and a
//! confluent-kafka (librdkafka) consumer in a Python child process that a test can SIGKILL to
//! simulate a crash (rdkafka's `Drop` closes a consumer gracefully, so an in-process consumer
//! cannot die without leaving).
//!
//! Both commit each record synchronously (offset + 1) before polling again, so a partition
//! handed to another member resumes exactly after the last record processed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::support::clients::{deps_dir, tests_dir};

/// One record a member processed (and committed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub member: String,
}

/// What a member observed, shared with the test.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// The partitions currently owned.
    pub owned: BTreeSet<i32>,
    pub records: Vec<Consumed>,
    /// Each rebalance callback: (assign?, partitions).
    pub rebalances: Vec<(bool, Vec<i32>)>,
    /// Commit errors that were retried (REBALANCE_IN_PROGRESS during a cooperative round).
    pub retried_commits: Vec<String>,
    /// When `owned` last changed.
    pub owned_changed: Option<Instant>,
    pub failure: Option<String>,
}

pub type Shared = Arc<Mutex<Observed>>;

pub struct Recorder(Shared);

impl ClientContext for Recorder {}

impl ConsumerContext for Recorder {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let (assign, tpl) = match rebalance {
            Rebalance::Assign(tpl) => (true, *tpl),
            Rebalance::Revoke(tpl) => (false, *tpl),
            Rebalance::Error(e) => {
                lock(&self.0).failure = Some(format!("rebalance error: {e}"));
                return;
            }
        };
        let partitions = tpl.elements().iter().map(|e| e.partition()).collect();
        lock(&self.0).rebalances.push((assign, partitions));
    }
}

pub fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Observed> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Settings every test member uses: small timeouts, no auto commit, read from the start.
pub fn member_config(bootstrap: &str, group: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "3000")
        .set("heartbeat.interval.ms", "300")
        .set("fetch.wait.max.ms", "100")
        .set("topic.metadata.refresh.interval.ms", "1000");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config
}

/// An rdkafka consumer subscribed to one topic, polled by its own thread. Dropping it stops
/// polling and closes the consumer (rdkafka's drop: a graceful close, which sends LeaveGroup
/// for a dynamic member and not for a static one).
pub struct RdMember {
    pub name: String,
    pub seen: Shared,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RdMember {
    pub fn start(name: &str, config: ClientConfig, topic: &str) -> RdMember {
        let seen: Shared = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let consumer: BaseConsumer<Recorder> = config
            .create_with_context(Recorder(seen.clone()))
            .expect("create consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let thread = {
            let (seen, stop, name) = (seen.clone(), stop.clone(), name.to_string());
            thread::spawn(move || poll_loop(&name, consumer, &seen, &stop))
        };
        RdMember {
            name: name.to_string(),
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn owned(&self) -> BTreeSet<i32> {
        lock(&self.seen).owned.clone()
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RdMember {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

fn poll_loop(name: &str, consumer: BaseConsumer<Recorder>, seen: &Shared, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let polled = consumer.poll(Duration::from_millis(100));
        update_owned(&consumer, seen);
        let message = match polled {
            None => continue,
            // A broker restart is reported as a lost connection; librdkafka reconnects.
            Some(Err(e)) if is_disconnect(&e) => continue,
            Some(Err(e)) => {
                lock(seen).failure = Some(format!("{name}: poll error: {e}"));
                continue;
            }
            Some(Ok(m)) => m,
        };
        let record = Consumed {
            partition: message.partition(),
            offset: message.offset(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            member: name.to_string(),
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            message.topic(),
            message.partition(),
            Offset::Offset(message.offset() + 1),
        )
        .expect("offset");
        drop(message);
        commit_with_retry(name, &consumer, &tpl, seen);
        lock(seen).records.push(record);
    }
}

/// Commits, retrying while the group is between a JoinGroup and a SyncGroup (Kafka answers
/// REBALANCE_IN_PROGRESS then; a cooperative member keeps consuming through a rebalance).
fn commit_with_retry(
    name: &str,
    consumer: &BaseConsumer<Recorder>,
    tpl: &TopicPartitionList,
    seen: &Shared,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match consumer.commit(tpl, CommitMode::Sync) {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline && retriable(&e) => {
                lock(seen).retried_commits.push(e.to_string());
                // No poll here (a record returned now would be lost): librdkafka completes
                // the SyncGroup in its own threads.
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                lock(seen).failure = Some(format!("{name}: commit {tpl:?}: {e}"));
                return;
            }
        }
    }
}

fn retriable(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::RebalanceInProgress)
    )
}

fn is_disconnect(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
    )
}

fn update_owned(consumer: &BaseConsumer<Recorder>, seen: &Shared) {
    let Ok(tpl) = consumer.assignment() else {
        return;
    };
    let owned: BTreeSet<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
    let mut s = lock(seen);
    if s.owned != owned {
        s.owned = owned;
        s.owned_changed = Some(Instant::now());
    }
}

/// `protocol-tests/python/confluent_group_member.py` in a child process; its stdout lines
/// (`OWN p,p`, `REC p offset key`, `COMMITTED p offset`) are parsed into `seen` as they come.
pub struct PyMember {
    pub name: String,
    pub seen: Shared,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl PyMember {
    pub fn start(name: &str, bootstrap: &str, group: &str, topic: &str, args: &[&str]) -> PyMember {
        let python = deps_dir().join("venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash protocol-tests/run.sh --deps-only`",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(tests_dir().join("python/confluent_group_member.py"))
            .args([bootstrap, group, topic])
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start python group member");
        let seen: Shared = Arc::default();
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        {
            let (seen, name) = (seen.clone(), name.to_string());
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    parse_line(&name, &line, &seen);
                }
            });
        }
        {
            let stderr = stderr.clone();
            thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut s = stderr.lock().unwrap_or_else(|e| e.into_inner());
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        PyMember {
            name: name.to_string(),
            seen,
            child,
            stderr,
        }
    }

    pub fn owned(&self) -> BTreeSet<i32> {
        lock(&self.seen).owned.clone()
    }

    /// Panics with the member's stderr if it exited.
    pub fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "python member {} exited with {status}:\n{}",
                self.name,
                self.stderr.lock().unwrap_or_else(|e| e.into_inner())
            );
        }
    }

    /// SIGKILL: the member dies without leaving the group or committing anything more.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PyMember {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

fn parse_line(name: &str, line: &str, seen: &Shared) {
    let mut fields = line.split(' ');
    let tag = fields.next().unwrap_or("");
    let rest: Vec<&str> = fields.collect();
    let mut s = lock(seen);
    match (tag, rest.as_slice()) {
        ("OWN", [list]) => {
            s.owned = list
                .split(',')
                .filter(|p| !p.is_empty() && *p != "-")
                .map(|p| p.parse().expect("partition"))
                .collect();
            s.owned_changed = Some(Instant::now());
        }
        ("REC", [partition, offset, key]) => {
            let record = Consumed {
                partition: partition.parse().expect("partition"),
                offset: offset.parse().expect("offset"),
                key: key.to_string(),
                member: name.to_string(),
            };
            s.records.push(record);
        }
        ("RETRY", _) => s.retried_commits.push(line.to_string()),
        _ => {}
    }
}
