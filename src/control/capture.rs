//! Request capture: a bounded ring of the requests the broker received, each summarised (see
//! `summary.rs`) with the errors its answer carried and the fault rule that fired for it, so
//! a test can assert what an application sent without a proxy. Off until started; when full,
//! the oldest entry goes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kafka_protocol::messages::ApiKey;
use serde::{Deserialize, Serialize};

use super::summary::Summary;

/// How many requests the ring keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The most the ring may be asked to keep.
pub const MAX_CAPACITY: usize = 1_000_000;

/// What happened to a captured request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handled and answered (or, for acks=0 produce, handled).
    Answered,
    /// Answered by a fault rule's error code, not handled.
    Injected,
    /// The connection was closed by a fault rule.
    Closed,
    /// Swallowed by a fault rule: never answered.
    Swallowed,
}

/// One captured request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Captured {
    /// Increases by one per captured request; a test can ask for what came after one.
    pub seq: u64,
    /// The broker clock when the request was received (ms since the epoch).
    pub time_ms: i64,
    pub client_id: String,
    /// The client's address.
    pub peer: String,
    pub listener: String,
    pub api: String,
    pub api_key: i16,
    pub version: i16,
    pub correlation_id: i32,
    #[serde(flatten)]
    pub summary: Summary,
    pub outcome: Outcome,
    /// The answer's top-level error (Kafka's name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The fault rule that fired for this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<u64>,
    /// Real time from reading the request to handing over its answer (latency faults
    /// included), in microseconds.
    pub duration_us: u64,
}

/// Which captured requests to return.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    /// Only requests with a larger `seq`.
    #[serde(default)]
    pub after: Option<u64>,
    /// At most this many (the oldest first).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Query {
    fn wants(&self, c: &Captured, api: Option<ApiKey>) -> bool {
        api.is_none_or(|a| a as i16 == c.api_key)
            && self.client_id.as_deref().is_none_or(|id| id == c.client_id)
            && self
                .group_id
                .as_deref()
                .is_none_or(|g| c.summary.group_ids.iter().any(|id| id == g))
            && self
                .topic
                .as_deref()
                .is_none_or(|t| c.summary.partitions.iter().any(|p| p.topic == t))
            && self.after.is_none_or(|after| c.seq > after)
    }
}

/// The state of capture, as the control plane reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureState {
    pub enabled: bool,
    pub capacity: usize,
    /// Requests held now.
    pub held: usize,
    /// Requests captured since the last clear (held or pushed out).
    pub captured: u64,
}

pub struct Capture {
    enabled: AtomicBool,
    ring: Mutex<Ring>,
}

struct Ring {
    capacity: usize,
    entries: VecDeque<Captured>,
    next_seq: u64,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            enabled: AtomicBool::new(false),
            ring: Mutex::new(Ring {
                capacity: DEFAULT_CAPACITY,
                entries: VecDeque::new(),
                next_seq: 1,
            }),
        }
    }
}

impl Capture {
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts capturing (keeping what is held), with a new capacity if given.
    pub fn start(&self, capacity: Option<usize>) -> Result<CaptureState, String> {
        if let Some(capacity) = capacity {
            if !(1..=MAX_CAPACITY).contains(&capacity) {
                return Err(format!("capacity {capacity} must be in 1..={MAX_CAPACITY}"));
            }
            let mut ring = self.ring();
            ring.capacity = capacity;
            while ring.entries.len() > capacity {
                ring.entries.pop_front();
            }
        }
        self.enabled.store(true, Ordering::Relaxed);
        Ok(self.state())
    }

    /// Stops capturing; what is held stays until cleared.
    pub fn stop(&self) -> CaptureState {
        self.enabled.store(false, Ordering::Relaxed);
        self.state()
    }

    /// Drops everything held; `seq` numbering restarts at 1.
    pub fn clear(&self) -> usize {
        let mut ring = self.ring();
        let n = ring.entries.len();
        ring.entries.clear();
        ring.next_seq = 1;
        n
    }

    pub fn state(&self) -> CaptureState {
        let ring = self.ring();
        CaptureState {
            enabled: self.enabled(),
            capacity: ring.capacity,
            held: ring.entries.len(),
            captured: ring.next_seq - 1,
        }
    }

    /// Adds an entry, giving it the next `seq`.
    pub fn push(&self, mut entry: Captured) {
        let mut ring = self.ring();
        entry.seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    pub fn query(&self, query: &Query) -> Result<Vec<Captured>, String> {
        let api = query
            .api
            .as_deref()
            .map(super::names::parse_api)
            .transpose()?;
        let ring = self.ring();
        Ok(ring
            .entries
            .iter()
            .filter(|c| query.wants(c, api))
            .take(query.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(api: ApiKey, client: &str) -> Captured {
        Captured {
            seq: 0,
            time_ms: 0,
            client_id: client.into(),
            peer: "127.0.0.1:1".into(),
            listener: "PLAINTEXT".into(),
            api: format!("{api:?}"),
            api_key: api as i16,
            version: 0,
            correlation_id: 0,
            summary: Summary::default(),
            outcome: Outcome::Answered,
            error: None,
            fault: None,
            duration_us: 0,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_filters() {
        let capture = Capture::default();
        assert!(!capture.enabled());
        capture.start(Some(3)).unwrap();
        for i in 0..5 {
            let api = if i % 2 == 0 {
                ApiKey::Produce
            } else {
                ApiKey::Fetch
            };
            capture.push(entry(api, if i < 4 { "a" } else { "b" }));
        }
        let all = capture.query(&Query::default()).unwrap();
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        let produce = Query {
            api: Some("produce".into()),
            ..Query::default()
        };
        assert_eq!(capture.query(&produce).unwrap().len(), 2);
        let b = Query {
            client_id: Some("b".into()),
            ..Query::default()
        };
        assert_eq!(capture.query(&b).unwrap()[0].seq, 5);
        let after = Query {
            after: Some(3),
            limit: Some(1),
            ..Query::default()
        };
        assert_eq!(capture.query(&after).unwrap()[0].seq, 4);
        assert_eq!(capture.state().captured, 5);
        assert_eq!(capture.clear(), 3);
        capture.stop();
        assert_eq!(
            capture.state(),
            CaptureState {
                enabled: false,
                capacity: 3,
                held: 0,
                captured: 0
            }
        );
        assert!(capture.start(Some(0)).is_err());
        assert!(capture
            .query(&Query {
                api: Some("nope".into()),
                ..Query::default()
            })
            .is_err());
    }
}
