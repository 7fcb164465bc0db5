//! Prometheus metrics: counters the request path bumps, gauges computed when scraped, and the
//! `GET /metrics` endpoint (off unless `metrics.listen` is set).
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

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiKey;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::coordinator::GroupState;
use crate::protocol::versions::SUPPORTED;

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
            (slot, Instant::now())
        }))
    }

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
pub struct RequestTimer<'a>(Option<(&'a ApiMetrics, Instant)>);

impl RequestTimer<'_> {
    pub fn finish(self) {
        if let Some((m, start)) = self.0 {
            m.requests.inc();
            m.latency.observe(start.elapsed().as_secs_f64());
        }
    }
}

/// Figures computed at scrape time from the broker's state.
struct Snapshot {
    /// (topic, partitions, log bytes)
    topics: Vec<(String, usize, u64)>,
    groups_by_state: Vec<(GroupState, i64)>,
    /// (group, topic, partition, lag)
    lag: Vec<(String, String, i32, i64)>,
}

const STATES: [GroupState; 5] = [
    GroupState::Empty,
    GroupState::PreparingRebalance,
    GroupState::CompletingRebalance,
    GroupState::Stable,
    GroupState::Dead,
];

impl Snapshot {
    async fn take(broker: &Arc<Broker>) -> Snapshot {
        // Log sizes need each partition's lock: a blocking task, never the reactor.
        let b = broker.clone();
        let topics = tokio::task::spawn_blocking(move || {
            b.topics
                .list()
                .iter()
                .map(|t| {
                    let partitions = t.partitions();
                    let size = partitions.iter().map(|p| p.log().size_bytes()).sum();
                    (t.name.clone(), partitions.len(), size)
                })
                .collect()
        })
        .await
        .unwrap_or_default();

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
        Snapshot {
            topics,
            groups_by_state,
            lag,
        }
    }

    fn registry(&self) -> Registry {
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
        registry
    }
}

/// How long a scraper may take to send its request line and headers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Serves `GET /metrics` (HTTP/1.x, one request per connection) until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut scrapes = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = scrapes.join_next(), if !scrapes.is_empty() => continue,
        };
        match accepted {
            Ok((stream, _)) => {
                scrapes.spawn(answer(stream, broker.clone()));
            }
            Err(e) => {
                tracing::warn!("metrics accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    scrapes.shutdown().await;
}

async fn answer(mut stream: TcpStream, broker: Arc<Broker>) {
    let head = match tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await {
        Ok(Some(head)) => head,
        _ => return,
    };
    let mut parts = head.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let response = match (method, path) {
        ("GET", "/metrics") => {
            let body = broker.metrics().scrape(&broker).await;
            http_response(
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                &body,
            )
        }
        ("GET", _) => http_response("404 Not Found", "text/plain", "try /metrics\n"),
        _ => http_response("405 Method Not Allowed", "text/plain", "GET only\n"),
    };
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

/// Reads up to the blank line ending the request head; returns its first line.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    text.lines().next().map(str::to_string)
}

fn http_response(status: &str, content_type: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 128);
    let _ = write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    out
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

    #[test]
    fn http_response_has_length() {
        let r = http_response("200 OK", "text/plain", "abc");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.contains("Content-Length: 3\r\n"));
        assert!(r.ends_with("\r\n\r\nabc"));
    }
}
