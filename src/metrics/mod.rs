//! Prometheus metrics, what is counted: counters the request path bumps and gauges computed when
//! scraped (`snapshot.rs`). The admin HTTP listener (`crate::admin`) serves them at
//! `GET /metrics`; they are kept only when it is on (`admin.listen`).
//!
//! Every broker owns its own [`prometheus_client`] registry (no global recorder), so several
//! brokers in one process keep separate figures. The per-request cost is a few atomic adds and
//! one short histogram lock: the per-API handles are created up front, indexed by API key, and
//! nothing is allocated per request. With metrics off, every call is a branch on `None`.
//!
//! Names (OpenMetrics text; counters carry the `_total` suffix):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `weir_requests_total` | counter | `api` (Kafka's API name, e.g. `Produce`) |
//! | `weir_request_duration_seconds` | histogram | `api` |
//! | `weir_bytes_in_total`, `weir_bytes_out_total` | counter | request / response frame bytes |
//! | `weir_records_in_total` | counter | records appended by Produce (retried duplicates excluded) |
//! | `weir_connections_active` | gauge | |
//! | `weir_connections_total` | counter | connections accepted |
//! | `weir_topics`, `weir_partitions` | gauge | (at scrape time) |
//! | `weir_log_size_bytes` | gauge | `topic` (at scrape time) |
//! | `weir_consumer_groups` | gauge | `state` (at scrape time) |
//! | `weir_consumer_group_lag` | gauge | `group`: high watermark minus committed offset, summed |
//! | `weir_consumer_group_partition_lag` | gauge | `group`, `topic`, `partition` |
//! | `weir_log_cleaner_passes_total`, `..._aborted_passes_total`, `..._failed_passes_total` | counter | cleaning passes |
//! | `weir_log_cleaner_read_bytes_total`, `..._written_bytes_total`, `..._removed_records_total` | counter | |
//! | `weir_log_cleaner_pass_seconds_total`, `weir_log_cleaner_last_pass_seconds` | counter, gauge | time in passes |
//! | `weir_log_cleaner_dirty_ratio` | gauge | `topic`, `partition` (compacted partitions) |
//! | `weir_log_cleaner_last_clean_timestamp_ms` | gauge | `topic`, `partition`; -1 before the first pass |
//! | `weir_transactions` | gauge | `state`: transactional ids by the state of their transaction |
//! | `weir_transactions_committed_total`, `weir_transactions_aborted_total` | counter | since start |
//! | `weir_transactions_timed_out_total` | counter | aborted by the coordinator after their timeout |

mod snapshot;

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::broker::Broker;
use crate::clock::monotonic::Stopwatch;
use crate::protocol::versions::SUPPORTED;

use snapshot::Snapshot;

/// The broker's metrics. Cheap no-ops when disabled.
pub struct Metrics {
    inner: Option<Box<Inner>>,
}

struct Inner {
    registry: Registry,
    /// Indexed by API key; `None` for APIs weir does not serve.
    by_api: Vec<Option<ApiMetrics>>,
    /// Requests whose API key weir does not serve (they close the connection).
    other: ApiMetrics,
    bytes_in: Counter,
    bytes_out: Counter,
    records_in: Counter,
    connections_active: Gauge,
    connections_total: Counter,
}

#[derive(Clone)]
struct ApiMetrics {
    requests: Counter,
    latency: Histogram,
}

type ApiLabel = [(&'static str, String); 1];

/// Latency buckets (seconds): 0.1 ms to 30 s, as long-poll fetches and parked joins count too.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0,
];

impl Metrics {
    pub fn new(enabled: bool) -> Metrics {
        Metrics {
            inner: enabled.then(|| Box::new(Inner::new())),
        }
    }

    pub fn disabled() -> Metrics {
        Metrics::new(false)
    }

    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Counts a connection as active until the returned guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        ConnectionGuard(self.inner.as_ref().map(|m| {
            m.connections_total.inc();
            m.connections_active.inc();
            m.connections_active.clone()
        }))
    }

    /// A request frame of `len` bytes (without the 4-byte size prefix) arrived.
    pub fn bytes_in(&self, len: usize) {
        if let Some(m) = &self.inner {
            m.bytes_in.inc_by(len as u64 + 4);
        }
    }

    /// `len` response bytes were written to a socket.
    pub fn bytes_out(&self, len: usize) {
        if let Some(m) = &self.inner {
            m.bytes_out.inc_by(len as u64);
        }
    }

    /// `count` records were appended by a produce request.
    pub fn records_in(&self, count: u64) {
        if let Some(m) = &self.inner {
            m.records_in.inc_by(count);
        }
    }

    /// Starts timing a request with API key `api` (from the frame); call `finish` when its
    /// response is ready.
    pub fn request(&self, api: Option<i16>) -> RequestTimer<'_> {
        RequestTimer(self.inner.as_ref().map(|m| {
            let slot = api
                .and_then(|k| usize::try_from(k).ok())
                .and_then(|k| m.by_api.get(k))
                .and_then(Option::as_ref)
                .unwrap_or(&m.other);
            (slot, Stopwatch::start())
        }))
    }

    /// The content type of [`Metrics::scrape`]'s text.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// The whole exposition: the live counters, then the figures computed now.
    pub async fn scrape(&self, broker: &Arc<Broker>) -> String {
        let Some(m) = &self.inner else {
            return String::new();
        };
        let snapshot = Snapshot::take(broker).await;
        let mut text = String::with_capacity(16 * 1024);
        let encoded = encode_registry(&mut text, &m.registry)
            .and_then(|()| encode_registry(&mut text, &snapshot.registry()))
            .and_then(|()| encode_eof(&mut text));
        if let Err(e) = encoded {
            // Writing to a String cannot fail; keep whatever was written.
            tracing::warn!("encoding metrics: {e}");
        }
        text
    }
}

impl Inner {
    fn new() -> Inner {
        let mut registry = Registry::with_prefix("weir");
        let requests = Family::<ApiLabel, Counter>::default();
        let latency = Family::<ApiLabel, Histogram, _>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS)
        });
        registry.register(
            "requests",
            "Requests handled, by Kafka API",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its response being ready, by Kafka API",
            latency.clone(),
        );
        let handles = |name: String| {
            let label = [("api", name)];
            ApiMetrics {
                requests: requests.get_or_create_owned(&label),
                latency: latency.get_or_create_owned(&label),
            }
        };
        let max_key = SUPPORTED.iter().map(|(k, _, _)| *k as usize).max();
        let mut by_api = vec![None; max_key.map_or(0, |k| k + 1)];
        for (api, _, _) in SUPPORTED {
            by_api[*api as usize] = Some(handles(api_name(*api)));
        }
        let other = handles("Unsupported".to_string());

        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let bytes_in = counter(
            &mut registry,
            "bytes_in",
            "Bytes of request frames received",
        );
        let bytes_out = counter(&mut registry, "bytes_out", "Bytes of response frames sent");
        let records_in = counter(
            &mut registry,
            "records_in",
            "Records appended by produce requests",
        );
        let connections_total =
            counter(&mut registry, "connections", "Client connections accepted");
        let connections_active = Gauge::default();
        registry.register(
            "connections_active",
            "Client connections open now",
            connections_active.clone(),
        );
        Inner {
            registry,
            by_api,
            other,
            bytes_in,
            bytes_out,
            records_in,
            connections_active,
            connections_total,
        }
    }
}

fn api_name(api: ApiKey) -> String {
    format!("{api:?}")
}

/// Keeps a connection counted as active.
pub struct ConnectionGuard(Option<Gauge>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(g) = &self.0 {
            g.dec();
        }
    }
}

/// Times one request.
pub struct RequestTimer<'a>(Option<(&'a ApiMetrics, Stopwatch)>);

impl RequestTimer<'_> {
    pub fn finish(self) {
        if let Some((m, start)) = self.0 {
            m.requests.inc();
            m.latency.observe(start.elapsed().as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_metrics_do_nothing() {
        let m = Metrics::disabled();
        let _guard = m.connection_opened();
        m.bytes_in(10);
        m.request(Some(0)).finish();
        assert!(!m.is_enabled());
    }

    #[test]
    fn request_counts_land_under_the_api_name() {
        let m = Metrics::new(true);
        m.request(Some(ApiKey::Produce as i16)).finish();
        m.request(Some(ApiKey::Produce as i16)).finish();
        m.request(Some(i16::MAX)).finish();
        m.request(None).finish();
        m.bytes_in(6);
        {
            let _c = m.connection_opened();
        }
        let inner = m.inner.as_ref().unwrap();
        let mut text = String::new();
        encode_registry(&mut text, &inner.registry).unwrap();
        assert!(
            text.contains("weir_requests_total{api=\"Produce\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("weir_requests_total{api=\"Unsupported\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("weir_requests_total{api=\"Fetch\"} 0"),
            "{text}"
        );
        assert!(text.contains("weir_bytes_in_total 10"), "{text}");
        assert!(text.contains("weir_connections_active 0"), "{text}");
        assert!(text.contains("weir_connections_total 1"), "{text}");
        assert!(text.contains("weir_request_duration_seconds_count{api=\"Produce\"} 2"));
    }
}
