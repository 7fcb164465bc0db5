//! Wall-clock milliseconds for the state machine, driven by tokio's clock so that tests with
//! `tokio::time::pause()` control it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Maps tokio instants to epoch milliseconds (commit timestamps are wall-clock and durable).
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    start: Instant,
    start_ms: i64,
}

impl Clock {
    pub fn new() -> Clock {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Clock {
            start: Instant::now(),
            start_ms,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.start_ms + self.start.elapsed().as_millis() as i64
    }

    /// The instant at which `now_ms()` reaches `ms`.
    pub fn instant_at(&self, ms: i64) -> Instant {
        let after = u64::try_from(ms - self.start_ms).unwrap_or(0);
        self.start + Duration::from_millis(after)
    }
}
