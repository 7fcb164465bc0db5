//! "Broker down": every Kafka listener closes, so connecting is refused as it is to a stopped
//! broker, and every open connection is dropped with whatever it had in flight; "up" binds the
//! same addresses again. The broker's state (logs, groups, offsets) stays, as it does across a
//! quick restart: group sessions keep running on the broker clock while it is down.
//!
//! The control plane asks (`want`); each listener's accept loop in `server/` does it and
//! reports (`counts`): the broker is down when every loop is, up when none is.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ControlError;
use crate::clock::monotonic;

/// How long taking the broker down or up may take before the request fails.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon a listener that could not bind its address again tries again.
const REBIND_EVERY: Duration = Duration::from_millis(100);

/// Whether the broker accepts Kafka connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Up,
    Down,
    /// It was asked to come up but a listener could not bind its address again (it keeps
    /// trying).
    Failed(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts {
    /// Accept loops whose listener is closed.
    down: usize,
    /// Why a listener could not come back, while it cannot.
    failed: Option<String>,
}

#[derive(Default)]
pub struct Outage {
    /// True while the control plane wants the broker down.
    want: watch::Sender<bool>,
    /// Accept loops (one per listener).
    loops: AtomicUsize,
    counts: watch::Sender<Counts>,
}

impl Outage {
    /// An accept loop that takes part (each listener's, once).
    pub fn register(&self) {
        self.loops.fetch_add(1, Ordering::Relaxed);
    }

    fn availability(&self, counts: &Counts) -> Availability {
        if let Some(why) = &counts.failed {
            Availability::Failed(why.clone())
        } else if counts.down == 0 {
            Availability::Up
        } else {
            Availability::Down
        }
    }

    pub fn state(&self) -> Availability {
        self.availability(&self.counts.borrow())
    }

    /// Asks for the broker down (`true`) or up, and waits until every listener did it.
    pub async fn go(&self, down: bool) -> Result<(), ControlError> {
        let loops = self.loops.load(Ordering::Relaxed);
        let mut counts = self.counts.subscribe();
        self.want.send_replace(down);
        let waited = monotonic::timeout(SWITCH_TIMEOUT, async {
            loop {
                {
                    let now = counts.borrow_and_update();
                    if down && now.down >= loops {
                        return Ok(());
                    }
                    if !down && now.down == 0 {
                        return Ok(());
                    }
                    if let (false, Some(why)) = (down, &now.failed) {
                        return Err(ControlError::Outage(why.clone()));
                    }
                }
                if counts.changed().await.is_err() {
                    return Err(ControlError::Outage("the broker is stopping".into()));
                }
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(ControlError::Outage(format!(
                "the broker did not go {} within {SWITCH_TIMEOUT:?}",
                if down { "down" } else { "up" }
            )))
        })
    }

    /// Resolves when the control plane asks for the broker down (for the accept loops).
    pub async fn down_requested(&self) {
        let mut want = self.want.subscribe();
        let _ = want.wait_for(|down| *down).await;
    }

    /// For an accept loop, once it has closed its listener and dropped its connections:
    /// counts itself down, waits to be asked up again (or for `shutdown`: `None`), then binds
    /// `addr` again. While it cannot, it says why and tries again.
    pub async fn wait_up(
        &self,
        addr: SocketAddr,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<TcpListener> {
        self.counts.send_modify(|c| c.down += 1);
        tracing::warn!(%addr, "broker down (control plane): listener closed, connections dropped");
        let mut want = self.want.subscribe();
        loop {
            tokio::select! {
                _ = want.wait_for(|down| !*down) => {}
                _ = shutdown.wait_for(|stop| *stop) => return None,
            }
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::warn!(%addr, "broker up again (control plane)");
                    self.counts.send_modify(|c| {
                        c.down -= 1;
                        c.failed = None;
                    });
                    return Some(listener);
                }
                Err(e) => {
                    let why = format!("cannot listen on {addr} again: {e}");
                    tracing::error!("{why}");
                    self.counts.send_modify(|c| c.failed = Some(why));
                    tokio::select! {
                        () = monotonic::sleep(REBIND_EVERY) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return None,
                    }
                }
            }
        }
    }
}
