//! librdkafka's statistics of a consumer, for a test that must wait until the client is in a
//! state only the client knows: a fetch in flight at the log end, an offset reset done.
//!
//! librdkafka hands statistics over when the consumer is polled, so the consumer must be
//! waiting in `recv` or `poll` (e.g. in a spawned task) while a test waits on them.
//!
//! Self-contained (only external crates): the benchmark includes it with `#[path]`.

use std::sync::{Arc, Mutex};

use rdkafka::consumer::ConsumerContext;
use rdkafka::statistics::{Partition, Statistics};
use rdkafka::{ClientConfig, ClientContext};

/// A consumer context that keeps the latest statistics.
#[derive(Clone, Default)]
pub struct Stats(Arc<Mutex<Option<Statistics>>>);

impl ClientContext for Stats {
    fn stats(&self, statistics: Statistics) {
        *self.0.lock().expect("stats lock") = Some(statistics);
    }
}

impl ConsumerContext for Stats {}

impl Stats {
    /// Turns statistics on (every 10 ms) in `config`.
    pub fn enable(config: &mut ClientConfig) -> &mut ClientConfig {
        config.set("statistics.interval.ms", "10")
    }

    /// The latest statistics of `topic`/`partition`, if any arrived yet.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Partition> {
        let latest = self.0.lock().expect("stats lock");
        latest
            .as_ref()?
            .topics
            .get(topic)?
            .partitions
            .get(&partition)
            .cloned()
    }

    /// The offset the consumer fetches `topic`/`partition` from, when it is fetching and a
    /// Fetch request to the partition's broker is in flight (sent, not answered).
    pub fn fetch_in_flight(&self, topic: &str, partition: i32) -> Option<i64> {
        let latest = self.0.lock().expect("stats lock");
        let stats = latest.as_ref()?;
        let p = stats.topics.get(topic)?.partitions.get(&partition)?;
        let in_flight = stats.brokers.values().any(|b| {
            b.nodeid == p.broker
                && b.req.get("Fetch").copied().unwrap_or(0) > 0
                && b.waitresp_cnt > 0
        });
        (p.fetch_state == "active" && in_flight).then_some(p.next_offset)
    }

    /// Whether the client has statistics and sees none of its brokers up (a broker that went
    /// away, as the client noticed it).
    pub fn no_broker_up(&self) -> bool {
        let latest = self.0.lock().expect("stats lock");
        latest.as_ref().is_some_and(|stats| {
            stats
                .brokers
                .values()
                .filter(|b| b.nodeid >= 0)
                .all(|b| b.state != "UP")
        })
    }
}
