//! Starting and stopping 100 embedded brokers in one process leaks no threads, files or ports.
//!
//! A test target of its own without the libtest harness: cargo runs test binaries one at a
//! time, so no other test shares this process and moves the thread and descriptor counts it
//! compares. Linux only (it reads /proc/self).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest};
use kafka_protocol::protocol::StrBytes;

#[global_allocator]
static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;

// The raw Kafka client of the hostile-input tests; only part of it is used here.
#[allow(dead_code)]
#[path = "support/raw.rs"]
mod raw;
#[path = "support/scrape.rs"]
mod scrape;

use raw::{code, topic_name, valid_batch, RawClient};

const BROKERS: usize = 100;
/// Idle blocking-pool threads exit after this; the check waits for them.
const KEEP_ALIVE: Duration = Duration::from_millis(100);
/// Threads allowed above the baseline (a blocking-pool thread still winding down).
const THREAD_SLACK: usize = 1;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(KEEP_ALIVE)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // One warm-up round, so that lazily created process-wide state is not counted.
        one_broker(0).await;
        let (threads0, fds0) = settle(usize::MAX, usize::MAX).await;
        println!("baseline: {threads0} threads, {fds0} fds");

        let started = Instant::now();
        let mut ports = Vec::new();
        let mut dirs = Vec::new();
        for i in 1..=BROKERS {
            let (used, dir) = one_broker(i).await;
            ports.extend(used);
            dirs.push(dir);
        }
        println!("{BROKERS} brokers in {:?}", started.elapsed());

        let (threads, fds) = settle(threads0 + THREAD_SLACK, fds0).await;
        println!("after: {threads} threads, {fds} fds");
        assert!(
            threads <= threads0 + THREAD_SLACK,
            "threads: {threads0} before, {threads} after {BROKERS} brokers"
        );
        assert_eq!(
            fds,
            fds0,
            "open descriptors before and after:\n{}",
            fd_list()
        );
        for port in ports {
            std::net::TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("port {port} still in use: {e}"));
        }
        for dir in dirs {
            assert!(!dir.exists(), "{} was not removed", dir.display());
        }
    });
    // The closing line test runners read.
    println!("embedding leak check: 1 passed, 0 failed");
}

/// Starts a broker (metrics on), drives a little of everything that opens files or starts
/// tasks (a topic, a produce, a group commit, a scrape), and stops it: with `shutdown()` for
/// even `i`, by dropping the handle for odd `i`. Returns the ports it used and its folder.
async fn one_broker(i: usize) -> (Vec<u16>, PathBuf) {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .set("metrics.listen", "127.0.0.1:0")
        .start()
        .await
        .expect("broker starts");
    let addr = broker.addr();
    let metrics = broker.metrics_addr().expect("metrics on");
    let dir = broker.data_dir().to_path_buf();
    traffic(addr).await;
    let samples = scrape::scrape(metrics).await;
    assert_eq!(samples.get("weir_records_in_total"), Some(&3.0));
    if i.is_multiple_of(2) {
        broker.shutdown().await;
    } else {
        drop(broker);
    }
    (vec![addr.port(), metrics.port()], dir)
}

async fn traffic(addr: SocketAddr) {
    let mut client = RawClient::connect(addr).await;
    client.create_topic("leak", 2, &[]).await;
    let version = client.version::<kafka_protocol::messages::ProduceRequest>(9);
    let batch = Bytes::from(valid_batch(3, 16).to_vec());
    let results = client.produce(version, "leak", vec![(0, batch)]).await;
    assert_eq!(results, vec![(0, code::NONE, 0)]);
    let version = client.version::<OffsetCommitRequest>(8);
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("leak-group")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name("leak"))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(1)])]);
    let response = client.call(version, &commit).await;
    assert_eq!(response.topics[0].partitions[0].error_code, code::NONE);
}

/// Waits (up to 5 s) until the thread and descriptor counts are at most the given ones and
/// stable; returns them.
async fn settle(max_threads: usize, max_fds: usize) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = (usize::MAX, usize::MAX);
    loop {
        tokio::time::sleep(KEEP_ALIVE * 3).await;
        let now = (threads(), fds());
        let steady = now == last;
        if (steady && now.0 <= max_threads && now.1 <= max_fds) || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads: line")
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn fd_list() -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        out.push_str(&format!(
            "{:?} -> {}\n",
            entry.file_name(),
            target.display()
        ));
    }
    out
}
