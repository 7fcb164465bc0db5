//! Figures computed at scrape time from the broker's state: topic and partition counts, log
//! sizes, groups by state, consumer lag, transactional ids by state and the transactions
//! ended.

use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::broker::Broker;
use crate::coordinator::GroupState;

/// Figures computed at scrape time from the broker's state.
pub(super) struct Snapshot {
    /// (topic, partitions, log bytes)
    topics: Vec<(String, usize, u64)>,
    groups_by_state: Vec<(GroupState, i64)>,
    /// (group, topic, partition, lag)
    lag: Vec<(String, String, i32, i64)>,
    /// (topic, partition, dirty ratio, end of the last pass in ms or -1) of compacted logs.
    cleaning: Vec<(String, i32, f64, i64)>,
    /// The cleaner's totals: passes, aborted, failed, bytes read, bytes written, records
    /// removed, pass time (µs), last pass time (µs).
    cleaner: [u64; 8],
    /// (state name, transactional ids in it)
    txn_states: Vec<(&'static str, usize)>,
    /// Transactions committed, aborted, and aborted for running past their timeout.
    txn_ended: [u64; 3],
}

const STATES: [GroupState; 5] = [
    GroupState::Empty,
    GroupState::PreparingRebalance,
    GroupState::CompletingRebalance,
    GroupState::Stable,
    GroupState::Dead,
];

impl Snapshot {
    pub(super) async fn take(broker: &Arc<Broker>) -> Snapshot {
        // Log sizes need each partition's lock: a blocking task, never the reactor.
        let b = broker.clone();
        let (topics, cleaning) = tokio::task::spawn_blocking(move || {
            let mut cleaning = Vec::new();
            let topics = b
                .topics
                .list()
                .iter()
                .map(|t| {
                    let partitions = t.partitions();
                    let size = partitions.iter().map(|p| p.size_bytes()).sum();
                    for p in &partitions {
                        if let Some(d) = p.dirtiness() {
                            let last = p.last_cleaning().map_or(-1, |l| l.end_ms);
                            cleaning.push((t.name.clone(), p.index, d.ratio, last));
                        }
                    }
                    (t.name.clone(), partitions.len(), size)
                })
                .collect();
            (topics, cleaning)
        })
        .await
        .unwrap_or_default();
        let c = &broker.cleaner;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cleaner = [
            load(&c.passes),
            load(&c.aborted_passes),
            load(&c.failed_passes),
            load(&c.bytes_read),
            load(&c.bytes_written),
            load(&c.records_removed),
            load(&c.pass_micros),
            load(&c.last_pass_micros),
        ];

        let groups = broker.groups.list_groups(&[], &[]);
        let groups_by_state = STATES
            .iter()
            .map(|s| {
                (
                    *s,
                    groups.iter().filter(|g| g.state == s.as_str()).count() as i64,
                )
            })
            .collect();
        let mut lag = Vec::new();
        for group in &groups {
            let Ok(offsets) = broker
                .groups
                .fetch_offsets(&group.group_id, None, false)
                .await
            else {
                continue;
            };
            for o in offsets.into_iter().filter(|o| o.offset >= 0) {
                let Some(partition) = broker
                    .topics
                    .get(&o.topic)
                    .and_then(|t| t.partition(o.partition))
                else {
                    continue;
                };
                let behind = (partition.high_watermark() - o.offset).max(0);
                lag.push((group.group_id.clone(), o.topic, o.partition, behind));
            }
        }
        let counters = broker.txns.counters();
        Snapshot {
            topics,
            groups_by_state,
            lag,
            cleaning,
            cleaner,
            txn_states: broker
                .txns
                .states()
                .into_iter()
                .map(|(s, n)| (s.as_str(), n))
                .collect(),
            txn_ended: [
                counters.committed(),
                counters.aborted(),
                counters.timed_out_count(),
            ],
        }
    }

    pub(super) fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("weir");
        let gauge = |registry: &mut Registry, name: &str, help: &str, value: i64| {
            let g = Gauge::<i64>::default();
            g.set(value);
            registry.register(name, help, g);
        };
        gauge(&mut registry, "topics", "Topics", self.topics.len() as i64);
        gauge(
            &mut registry,
            "partitions",
            "Partitions over all topics",
            self.topics.iter().map(|(_, n, _)| *n as i64).sum(),
        );

        let log_size = Family::<[(&'static str, String); 1], Gauge>::default();
        for (topic, _, size) in &self.topics {
            log_size
                .get_or_create(&[("topic", topic.clone())])
                .set(i64::try_from(*size).unwrap_or(i64::MAX));
        }
        registry.register(
            "log_size_bytes",
            "Bytes of log segments on disk, by topic",
            log_size,
        );

        let groups = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        for (state, count) in &self.groups_by_state {
            groups
                .get_or_create(&[("state", state.as_str())])
                .set(*count);
        }
        registry.register("consumer_groups", "Consumer groups, by state", groups);

        let by_group = Family::<[(&'static str, String); 1], Gauge>::default();
        let by_partition = Family::<[(&'static str, String); 3], Gauge>::default();
        for (group, topic, partition, lag) in &self.lag {
            by_group
                .get_or_create(&[("group", group.clone())])
                .inc_by(*lag);
            by_partition
                .get_or_create(&[
                    ("group", group.clone()),
                    ("topic", topic.clone()),
                    ("partition", partition.to_string()),
                ])
                .set(*lag);
        }
        registry.register(
            "consumer_group_lag",
            "Records between a group's committed offsets and the high watermarks, summed over its partitions",
            by_group,
        );
        registry.register(
            "consumer_group_partition_lag",
            "High watermark minus the group's committed offset",
            by_partition,
        );
        self.register_cleaner(&mut registry);

        let txns = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        for (state, count) in &self.txn_states {
            txns.get_or_create(&[("state", state)])
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        registry.register(
            "transactions",
            "Transactional ids, by the state of their transaction (Ongoing ones are open)",
            txns,
        );
        let [committed, aborted, timed_out] = self.txn_ended;
        for (name, help, value) in [
            (
                "transactions_committed",
                "Transactions committed",
                committed,
            ),
            (
                "transactions_aborted",
                "Transactions aborted (timed-out ones included)",
                aborted,
            ),
            (
                "transactions_timed_out",
                "Transactions the coordinator aborted after their timeout",
                timed_out,
            ),
        ] {
            let c = Counter::<u64>::default();
            c.inc_by(value);
            registry.register(name, help, c);
        }
        registry
    }

    fn register_cleaner(&self, registry: &mut Registry) {
        let [passes, aborted, failed, read, written, removed, micros, last] = self.cleaner;
        let counters = [
            ("log_cleaner_passes", "Cleaning passes committed", passes),
            (
                "log_cleaner_aborted_passes",
                "Cleaning passes dropped because the log changed under them",
                aborted,
            ),
            (
                "log_cleaner_failed_passes",
                "Cleaning passes that failed",
                failed,
            ),
            ("log_cleaner_read_bytes", "Bytes the cleaner read", read),
            (
                "log_cleaner_written_bytes",
                "Bytes the cleaner wrote",
                written,
            ),
            (
                "log_cleaner_removed_records",
                "Records the cleaner removed",
                removed,
            ),
        ];
        for (name, help, value) in counters {
            registry.register(name, help, ConstCounter::new(value));
        }
        registry.register(
            "log_cleaner_pass_seconds",
            "Time spent in cleaning passes",
            ConstCounter::new(micros as f64 / 1e6),
        );
        let last_pass = Gauge::<f64, AtomicU64>::default();
        last_pass.set(last as f64 / 1e6);
        registry.register(
            "log_cleaner_last_pass_seconds",
            "Duration of the last cleaning pass",
            last_pass,
        );
        let ratio = Family::<[(&'static str, String); 2], Gauge<f64, AtomicU64>>::default();
        let cleaned = Family::<[(&'static str, String); 2], Gauge>::default();
        for (topic, partition, r, last) in &self.cleaning {
            let labels = [
                ("topic", topic.clone()),
                ("partition", partition.to_string()),
            ];
            ratio.get_or_create(&labels).set(*r);
            cleaned.get_or_create(&labels).set(*last);
        }
        registry.register(
            "log_cleaner_dirty_ratio",
            "Dirty bytes over all bytes of a compacted partition's cleanable log",
            ratio,
        );
        registry.register(
            "log_cleaner_last_clean_timestamp_ms",
            "When the last cleaning pass of a compacted partition ended (broker clock; -1: never)",
            cleaned,
        );
    }
}
