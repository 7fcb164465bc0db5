//! Log compaction driven by real clients: rdkafka (produce 200,000 records over 1,000 keys,
//! consume after cleaning, DescribeLogDirs), the Java AdminClient and producer, confluent-kafka's
//! AdminClient and kafka-python; policy switches; the changelog-table pattern; a kill -9
//! crash test at the file operations of cleaning passes (`crash.rs`); and transactions in a
//! compacted topic, read at both isolation levels by rdkafka and Java, with their own kill -9
//! test (`transactions.rs`).
//!
//! The embedded brokers run on a manual clock that a background task moves by the cleaner's
//! backoff every few milliseconds, so passes run back to back, and `delete.retention.ms` is
//! passed by moving the clock, not by waiting.

mod changelog;
mod clients;
mod crash;
mod rdkafka_compaction;
mod transactions;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tempfile::TempDir;
use weir::clock::ManualClock;
use weir::partition::Partition;

pub const BACKOFF_MS: u64 = 100;

/// An embedded broker on a manual clock that moves by the cleaner's backoff every 10 ms.
pub struct CompactingBroker {
    pub handle: weir::BrokerHandle,
    pub clock: ManualClock,
    _dir: TempDir,
    ticker: tokio::task::JoinHandle<()>,
}

impl CompactingBroker {
    pub async fn start(extra: &[(&str, &str)]) -> CompactingBroker {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new();
        let mut builder = weir::Broker::builder()
            .listen("127.0.0.1:0")
            .data_dir(dir.path())
            .clock(clock.clock())
            .set("log.cleaner.backoff.ms", &BACKOFF_MS.to_string())
            .set("group.initial.rebalance.delay.ms", "0");
        for (k, v) in extra {
            builder = builder.set(k, v);
        }
        let handle = builder.start().await.expect("broker starts");
        let ticking = clock.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticking.advance(Duration::from_millis(BACKOFF_MS));
            }
        });
        CompactingBroker {
            handle,
            clock,
            _dir: dir,
            ticker,
        }
    }

    pub fn bootstrap(&self) -> String {
        self.handle.addr().to_string()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Arc<Partition> {
        self.handle
            .broker()
            .topics
            .get(topic)
            .and_then(|t| t.partition(index))
            .expect("partition exists")
    }

    /// Waits until the partition has nothing left to clean below its active segment (and no
    /// tombstone due), after at least `passes_after` passes since `since_ms` on the clock.
    pub async fn wait_clean(&self, topic: &str, since_ms: i64) {
        let p = self.partition(topic, 0);
        crate::support::wait::wait_for(
            "the cleaner to clean everything below the active segment",
            Duration::from_secs(60),
            || {
                let done = p.last_cleaning().is_some_and(|l| l.end_ms > since_ms);
                let d = p.dirtiness().expect("compacted");
                done && d.cleanable_bytes == 0 && !d.tombstones_due
            },
        )
        .await;
    }
}

impl Drop for CompactingBroker {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// Every record of partition 0 of `topic` from the beginning: (offset, key, value).
pub fn read_all(bootstrap: &str, topic: &str) -> Vec<(i64, String, Option<String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "weir-compaction-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("watermarks");
    if low >= high {
        return Vec::new();
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if out
            .last()
            .is_some_and(|(o, _, _): &(i64, _, _)| *o + 1 >= high)
        {
            return out;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "read {} records, high watermark {high}",
            out.len()
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let s = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                out.push((m.offset(), s(m.key()).unwrap_or_default(), s(m.payload())));
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
}

/// The last value per key of `records`.
pub fn latest(records: &[(i64, String, Option<String>)]) -> BTreeMap<String, Option<String>> {
    records
        .iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A broker process on `dir` with `args` whose disk stalls for good at the `skip`-th `point`
/// operation on files named `file` (`weir serve --io-faults`): a kill then lands in the middle
/// of that operation.
pub fn spawn_stalling(
    dir: &std::path::Path,
    args: &[&str],
    (point, file, skip): (&str, &str, u64),
) -> crate::support::broker::ProcessBroker {
    let spec = format!("{point}:in={file}:skip={skip}:times=1:stall");
    let mut args = args.to_vec();
    args.extend(["--io-faults", spec.as_str()]);
    crate::support::broker::ProcessBroker::spawn(dir, &args)
}
