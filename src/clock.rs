//! The broker's one source of time. Nothing else in the broker reads the system time.
//!
//! Two kinds of time, each read only through this module:
//!
//! - **The broker clock** ([`Clock`]): Kafka-semantic time. Every timestamp and every timer whose
//!   meaning is defined by Kafka reads it: LogAppendTime, segment roll by age
//!   (`segment.ms`), retention (`retention.ms`) and its check interval
//!   (`log.retention.check.interval.ms`), idempotent producer expiry, commit timestamps, offsets
//!   retention and its check interval, group session and rebalance timeouts, the new-member
//!   join timeout and `group.initial.rebalance.delay.ms`. It is the system's wall clock by
//!   default; an embedding program (a test) may give the broker a [`ManualClock`] instead, which
//!   stands still until it is advanced. Timers on it ([`Clock::sleep_until`]) fire when the
//!   clock reaches their deadline, however that happens.
//! - **Real elapsed time** ([`monotonic`]): waits that a client's own real-time timers govern,
//!   and measurements. The fetch long-poll (`max_wait_ms`: the client times the request out in
//!   real time, so a fetch parked on a stopped clock would only look like a dead broker),
//!   connection idle and write timeouts (`connections.max.idle.ms`), the shutdown drain, accept
//!   back-off, the metrics listener's timeouts and request durations. These never follow a
//!   manual clock.
//!
//! A manual clock is either held by the embedding program or, with `control.clock=manual`,
//! made by the broker and moved by the control plane (`crate::control`), which finds it
//! through [`Clock::manual`]. Clients keep their own real-time timers (heartbeats, request
//! timeouts): a live member's heartbeats land at whatever the broker clock reads when they
//! arrive, which is why the control plane can spread an advance over real time.
//!
//! With a manual clock, a consumer group's first join round waits until the clock passes
//! `group.initial.rebalance.delay.ms` (set it to 0 for tests that do not drive the clock), and
//! retention only runs once the clock passes the check interval, exactly as on a real one.
//!
//! Not clock reads, so not here: a segment whose batches carry no timestamp ages from its file's
//! modification time (as in Kafka), compared with the broker clock. The Kafka client
//! (`client/`) and the command-line tools on it (`cli/`) are ordinary Kafka clients, not the
//! broker: they read the system time directly.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// The broker clock: milliseconds since the Unix epoch, as Kafka timestamps are. Cheap to
/// clone; clones read the same time.
#[derive(Clone, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Default)]
enum Source {
    #[default]
    System,
    /// The current time, moved only by a [`ManualClock`]. Timers wait on its changes.
    Manual(Arc<watch::Sender<i64>>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::System => f.write_str("Clock::System"),
            Source::Manual(now) => write!(f, "Clock::Manual({})", *now.borrow()),
        }
    }
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.source {
            Source::System => system_now_ms(),
            Source::Manual(now) => *now.borrow(),
        }
    }

    /// Resolves once the clock reads `deadline_ms` or later (at once if it already does).
    /// The future owns what it needs, so it can outlive this handle.
    pub fn sleep_until(&self, deadline_ms: i64) -> impl Future<Output = ()> + Send + 'static {
        let source = self.source.clone();
        async move {
            match source {
                Source::System => loop {
                    // Re-checked after each sleep: the wall clock may have been set back.
                    let left = deadline_ms.saturating_sub(system_now_ms());
                    let Ok(left) = u64::try_from(left) else {
                        return;
                    };
                    if left == 0 {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(left)).await;
                },
                Source::Manual(now) => {
                    let mut changes = now.subscribe();
                    // `now` is held here, so the sender outlives the wait and it cannot fail.
                    let _ = changes.wait_for(|ms| *ms >= deadline_ms).await;
                }
            }
        }
    }

    /// The [`ManualClock`] that drives this clock, if it is a manual one (the control plane
    /// advances it).
    pub fn manual(&self) -> Option<ManualClock> {
        match &self.source {
            Source::System => None,
            Source::Manual(now) => Some(ManualClock { now: now.clone() }),
        }
    }

    /// Resolves once `duration` has passed on this clock.
    pub fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        self.sleep_until(self.now_ms().saturating_add(ms))
    }
}

fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A clock that stands still until told to move: give [`ManualClock::clock`] to a broker (see
/// `BrokerBuilder::clock`) and keep this handle to drive it. Every timer of the broker clock
/// whose deadline the clock reaches fires; none fires otherwise, however much real time passes.
///
/// A timer fires at the time the clock was moved to, not at its own deadline, so what it sets
/// off is timed from there: advance in steps to fire chained timers (a session expiry, then the
/// rebalance it starts) each at its own time.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<i64>>,
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManualClock({})", self.now_ms())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock stopped at the system's current time (so timestamps look like today's).
    pub fn new() -> ManualClock {
        ManualClock::starting_at(system_now_ms())
    }

    /// A clock stopped at `ms` milliseconds since the Unix epoch.
    pub fn starting_at(ms: i64) -> ManualClock {
        ManualClock {
            now: Arc::new(watch::Sender::new(ms)),
        }
    }

    /// The broker clock this handle drives.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.now.clone()),
        }
    }

    pub fn now_ms(&self) -> i64 {
        *self.now.borrow()
    }

    /// Moves the clock forward by `by`, firing the timers it passes.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(ms));
    }

    /// Sets the clock to `ms`, firing the timers it passes. Setting it back is allowed (as a
    /// wall clock can be set back); timers then wait until it reaches their deadline again.
    pub fn set(&self, ms: i64) {
        self.now.send_replace(ms);
    }
}

/// Real elapsed time, for the waits and measurements that must not follow a manual broker
/// clock (see the module doc). Monotonic: unaffected by changes to the wall clock.
pub mod monotonic {
    use std::future::Future;
    use std::time::Duration;

    use tokio::time::Instant;

    pub use tokio::time::error::Elapsed;

    /// A point in real time, `after` a duration from now.
    #[derive(Debug, Clone, Copy)]
    pub struct Deadline(Instant);

    impl Deadline {
        pub fn after(duration: Duration) -> Deadline {
            Deadline(Instant::now() + duration)
        }

        pub fn passed(&self) -> bool {
            Instant::now() >= self.0
        }

        /// Real time left until the deadline (zero once it passed).
        pub fn remaining(&self) -> Duration {
            self.0.saturating_duration_since(Instant::now())
        }

        /// Runs `future` until it completes (`Some`) or the deadline passes (`None`).
        pub async fn run<F: Future>(&self, future: F) -> Option<F::Output> {
            tokio::time::timeout_at(self.0, future).await.ok()
        }

        /// Resolves when the deadline passes.
        pub async fn reached(&self) {
            tokio::time::sleep_until(self.0).await;
        }
    }

    /// Runs `future` for at most `limit` of real time.
    pub async fn timeout<F: Future>(limit: Duration, future: F) -> Result<F::Output, Elapsed> {
        tokio::time::timeout(limit, future).await
    }

    pub async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    /// Measures real elapsed time (request durations).
    #[derive(Debug, Clone, Copy)]
    pub struct Stopwatch(Instant);

    impl Stopwatch {
        pub fn start() -> Stopwatch {
            Stopwatch(Instant::now())
        }

        pub fn elapsed(&self) -> Duration {
            self.0.elapsed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `timer` once: whether it has fired. (Not to be polled again once it has.)
    fn fired<F: Future<Output = ()>>(timer: &mut std::pin::Pin<Box<F>>) -> bool {
        futures_util::FutureExt::now_or_never(timer.as_mut()).is_some()
    }

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_told_and_fires_timers_it_passes() {
        let manual = ManualClock::starting_at(1_000);
        let clock = manual.clock();
        assert_eq!(clock.now_ms(), 1_000);
        let mut early = Box::pin(clock.sleep_until(1_500));
        let mut late = Box::pin(clock.sleep(Duration::from_millis(2_000)));
        let mut past = Box::pin(clock.sleep_until(999));
        assert!(fired(&mut past), "a deadline already reached fires at once");
        assert!(!fired(&mut early) && !fired(&mut late));

        manual.advance(Duration::from_millis(499));
        assert_eq!(clock.now_ms(), 1_499);
        assert!(!fired(&mut early), "one millisecond short");
        manual.advance(Duration::from_millis(1));
        assert!(fired(&mut early));
        assert!(!fired(&mut late));

        manual.set(5_000);
        assert!(fired(&mut late));
        assert_eq!(manual.now_ms(), 5_000);
        manual.set(10);
        assert_eq!(clock.now_ms(), 10, "a manual clock may be set back");
    }

    #[tokio::test]
    async fn a_timer_outlives_the_clock_handles_it_came_from() {
        let manual = ManualClock::starting_at(0);
        let timer = manual.clock().sleep_until(10);
        let waiting = tokio::spawn(timer);
        let driver = manual.clone();
        drop(manual);
        driver.advance(Duration::from_millis(10));
        monotonic::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("fires once advanced")
            .unwrap();
    }

    #[tokio::test]
    async fn the_system_clock_reads_wall_time_and_sleeps_in_real_time() {
        let clock = Clock::system();
        let before = system_now_ms();
        let now = clock.now_ms();
        assert!(now >= before && now - before < 60_000);
        let watch = monotonic::Stopwatch::start();
        clock.sleep(Duration::from_millis(20)).await;
        assert!(clock.now_ms() >= now + 20);
        assert!(watch.elapsed() >= Duration::from_millis(19));
        clock.sleep_until(0).await;
    }
}
