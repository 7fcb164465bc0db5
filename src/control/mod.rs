//! The test-control plane: what makes weir a controllable stand-in for Kafka in tests. Off
//! unless `control.enable` is set (`weir serve --control`); a broker without it has none of
//! this in its request path.
//!
//! The same operations three ways: the Rust embedding API ([`ControlHandle`], from
//! `BrokerHandle::control()`), HTTP/JSON on the admin listener (`admin/control.rs`), and
//! `weir ctl` (`cli/ctl.rs`, a client of the HTTP API).
//!
//! - **Fault rules** (`rules.rs`): match requests by API, version, topic, partition, group,
//!   transactional id, client id and listener; answer with an error code (`answer.rs`), add
//!   latency, close the connection, swallow the request, or throttle the client.
//! - **Broker down/up** (`outage.rs`): the Kafka listener closes and every connection drops,
//!   then the listener comes back on the same address.
//! - **The clock**: a broker on a manual clock (`control.clock=manual`, `--clock manual`, or
//!   the builder's `clock`) is advanced from here.
//! - **Request capture** (`capture.rs`, `summary.rs`): a ring of summarised requests.
//! - **Reset** (`reset.rs`): topics, groups and offsets back to the state at start (seeded
//!   topics included), without a restart.
//!
//! The one place the request path consults any of this is [`hook::Hook`], between decode (and
//! the SASL gate) and handler in `server/connection.rs`; no handler knows about faults.

pub mod answer;
pub mod capture;
pub mod hook;
pub mod names;
pub mod outage;
pub mod reset;
pub mod rules;
pub mod seed;
pub mod summary;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::broker::Broker;
use crate::clock::{monotonic, ManualClock};
use crate::metadata::TopicSpec;
pub use capture::{CaptureState, Captured, Outcome, Query};
pub use outage::Availability;
pub use reset::ResetReport;
pub use rules::{Listed, Rule, Scope};

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The request itself is wrong (a rule without an action, an unknown API...).
    #[error("{0}")]
    Invalid(String),
    /// The broker's clock is the system's: only a manual clock can be moved.
    #[error("the broker clock is the system clock; start the broker with a manual clock (control.clock=manual, --clock manual) to move it")]
    NotManual,
    #[error("no fault rule {0}")]
    NoSuchRule(u64),
    /// Bringing the broker back up (or down) failed.
    #[error("{0}")]
    Outage(String),
    #[error("reset failed: {0}")]
    Reset(String),
}

/// The control plane's state; the broker holds one when `control.enable` is set.
pub struct Control {
    rules: rules::Rules,
    capture: capture::Capture,
    outage: outage::Outage,
    clock: Option<ManualClock>,
    seeds: Vec<TopicSpec>,
    /// Whether any rule exists or capture is on: the request path's one check when idle.
    armed: AtomicBool,
    /// Serialises changes to `armed`'s inputs with its update.
    changing: Mutex<()>,
}

impl Control {
    pub fn new(clock: Option<ManualClock>, seeds: Vec<TopicSpec>) -> Control {
        Control {
            rules: rules::Rules::default(),
            capture: capture::Capture::default(),
            outage: outage::Outage::default(),
            clock,
            seeds,
            armed: AtomicBool::new(false),
            changing: Mutex::new(()),
        }
    }

    /// Whether requests need looking at (rules exist or capture is on).
    pub fn is_armed(&self) -> bool {
        self.armed.load(Ordering::Relaxed)
    }

    pub fn rules(&self) -> &rules::Rules {
        &self.rules
    }

    pub fn capture(&self) -> &capture::Capture {
        &self.capture
    }

    pub fn outage(&self) -> &outage::Outage {
        &self.outage
    }

    /// Runs a change to the rules or capture, then updates `armed`.
    fn change<T>(&self, f: impl FnOnce(&Control) -> T) -> T {
        let _guard = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let out = f(self);
        let armed = !self.rules.is_empty() || self.capture.enabled();
        self.armed.store(armed, Ordering::Relaxed);
        out
    }
}

/// The broker clock as the control plane reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// Whether the clock is manual (moved only by the control plane or the test).
    pub manual: bool,
    /// The broker clock: milliseconds since the Unix epoch.
    pub now_ms: i64,
}

/// Everything at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub broker: Availability,
    pub clock: ClockState,
    pub faults: usize,
    pub capture: CaptureState,
    /// Topics created at start (and again by every reset).
    pub seeded_topics: Vec<String>,
}

/// The most real time an advance may be spread over (it runs within one HTTP request).
pub const MAX_ADVANCE_OVER: Duration = Duration::from_secs(20);
/// The real time between two steps of a spread advance.
const ADVANCE_STEP: Duration = Duration::from_millis(10);

/// The control plane of a running broker, for Rust tests: `BrokerHandle::control()`. Cheap to
/// clone. The HTTP API and `weir ctl` call the same operations.
#[derive(Clone)]
pub struct ControlHandle {
    broker: Arc<Broker>,
    control: Arc<Control>,
}

impl std::fmt::Debug for ControlHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlHandle").finish_non_exhaustive()
    }
}

impl ControlHandle {
    /// The control plane of `broker`, if it has one.
    pub fn of(broker: &Arc<Broker>) -> Option<ControlHandle> {
        broker.control().map(|control| ControlHandle {
            broker: broker.clone(),
            control: control.clone(),
        })
    }

    // ---- fault rules

    /// Adds a fault rule after the existing ones; returns its id.
    pub fn add_fault(&self, rule: Rule) -> Result<u64, ControlError> {
        self.insert_fault(None, rule)
    }

    /// Adds a fault rule at `position` (0 = first, checked before all others), or last.
    pub fn insert_fault(&self, position: Option<usize>, rule: Rule) -> Result<u64, ControlError> {
        let added = self.control.change(|c| c.rules.add(rule.clone(), position));
        let id = added.map_err(ControlError::Invalid)?;
        tracing::info!(id, rule = %serde_json::to_string(&rule).unwrap_or_default(), "fault rule added");
        Ok(id)
    }

    /// The rules in the order they are checked, with how often each fired.
    pub fn faults(&self) -> Vec<Listed> {
        self.control.rules.list()
    }

    pub fn remove_fault(&self, id: u64) -> Result<(), ControlError> {
        if self.control.change(|c| c.rules.remove(id)) {
            Ok(())
        } else {
            Err(ControlError::NoSuchRule(id))
        }
    }

    /// Removes every rule; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.control.change(|c| c.rules.clear())
    }

    // ---- whole-broker faults

    /// Takes the broker down: the Kafka listener closes (connecting is refused) and every
    /// open connection is dropped, requests in flight unanswered. Returns once that is done.
    pub async fn broker_down(&self) -> Result<(), ControlError> {
        self.control.outage.go(true).await
    }

    /// Brings the broker back on the same address; returns once it accepts connections.
    pub async fn broker_up(&self) -> Result<(), ControlError> {
        self.control.outage.go(false).await
    }

    pub fn availability(&self) -> Availability {
        self.control.outage.state()
    }

    // ---- the clock

    pub fn clock(&self) -> ClockState {
        ClockState {
            manual: self.control.clock.is_some(),
            now_ms: self.broker.clock().now_ms(),
        }
    }

    fn manual(&self) -> Result<&ManualClock, ControlError> {
        self.control.clock.as_ref().ok_or(ControlError::NotManual)
    }

    /// Moves a manual clock forward by `by` at once; every timer it passes fires.
    pub fn advance(&self, by: Duration) -> Result<ClockState, ControlError> {
        self.manual()?.advance(by);
        tracing::info!(by_ms = by.as_millis() as u64, "clock advanced");
        Ok(self.clock())
    }

    /// Moves a manual clock forward by `by` in small steps spread over `over` of real time,
    /// so that clients' real-time activity (heartbeats, polls) keeps happening in between, as
    /// it would in `by` of real time. Live group members keep their sessions; a member that
    /// stopped heartbeating loses it when the clock passes its deadline.
    pub async fn advance_over(
        &self,
        by: Duration,
        over: Duration,
    ) -> Result<ClockState, ControlError> {
        let clock = self.manual()?.clone();
        if over > MAX_ADVANCE_OVER {
            return Err(ControlError::Invalid(format!(
                "an advance may be spread over at most {MAX_ADVANCE_OVER:?} of real time"
            )));
        }
        let steps = (over.as_millis() / ADVANCE_STEP.as_millis()).max(1);
        let steps = u32::try_from(steps).unwrap_or(u32::MAX);
        let step = by / steps;
        for i in 0..steps {
            // The last step takes the remainder of the division.
            let this = if i + 1 == steps {
                by - step * (steps - 1)
            } else {
                step
            };
            clock.advance(this);
            if i + 1 < steps {
                monotonic::sleep(ADVANCE_STEP).await;
            }
        }
        tracing::info!(
            by_ms = by.as_millis() as u64,
            over_ms = over.as_millis() as u64,
            "clock advanced"
        );
        Ok(self.clock())
    }

    /// Sets a manual clock to `ms` since the epoch (setting it back is allowed).
    pub fn set_clock(&self, ms: i64) -> Result<ClockState, ControlError> {
        self.manual()?.set(ms);
        tracing::info!(now_ms = ms, "clock set");
        Ok(self.clock())
    }

    // ---- request capture

    /// Starts capturing requests (with room for `capacity`, default 10,000).
    pub fn capture_start(&self, capacity: Option<usize>) -> Result<CaptureState, ControlError> {
        self.control
            .change(|c| c.capture.start(capacity))
            .map_err(ControlError::Invalid)
    }

    pub fn capture_stop(&self) -> CaptureState {
        self.control.change(|c| c.capture.stop())
    }

    /// Drops the captured requests; returns how many there were.
    pub fn capture_clear(&self) -> usize {
        self.control.capture.clear()
    }

    pub fn captured(&self, query: &Query) -> Result<Vec<Captured>, ControlError> {
        self.control
            .capture
            .query(query)
            .map_err(ControlError::Invalid)
    }

    pub fn capture_state(&self) -> CaptureState {
        self.control.capture.state()
    }

    // ---- state

    /// Resets the broker to its state at start, without a restart (see [`reset`]).
    pub async fn reset(&self) -> Result<ResetReport, ControlError> {
        reset::reset(&self.broker, &self.control).await
    }

    pub fn status(&self) -> Status {
        Status {
            broker: self.availability(),
            clock: self.clock(),
            faults: self.control.rules.list().len(),
            capture: self.capture_state(),
            seeded_topics: self.control.seeds.iter().map(|s| s.name.clone()).collect(),
        }
    }
}

/// What `weir serve` prints on stdout (and writes to `--ready-file`) once it accepts
/// connections: one JSON object on one line, for harnesses in any language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// Always true: the line is written when the broker is ready.
    pub ready: bool,
    /// The Kafka listener's bound address (`bootstrap.servers`).
    pub kafka: String,
    /// The admin HTTP listener's bound address (metrics, health, control), if any.
    pub admin: Option<String>,
    /// Whether the control plane is served.
    pub control: bool,
    pub data_dir: String,
    pub pid: u32,
}

/// The ready line of a started broker.
pub fn ready_line(handle: &crate::BrokerHandle) -> String {
    let ready = Ready {
        ready: true,
        kafka: handle.addr().to_string(),
        admin: handle.admin_addr().map(|a| a.to_string()),
        control: handle.control().is_some(),
        data_dir: handle.data_dir().display().to_string(),
        pid: std::process::id(),
    };
    serde_json::to_string(&ready).unwrap_or_default()
}
