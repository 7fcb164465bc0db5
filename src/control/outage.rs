//! "Broker down": the Kafka listener closes, so connecting is refused as it is to a stopped
//! broker, and every open connection is dropped with whatever it had in flight; "up" binds the
//! same address again. The broker's state (logs, groups, offsets) stays, as it does across a
//! quick restart: group sessions keep running on the broker clock while it is down.
//!
//! The control plane asks (`want`); the accept loop in `server/` does it and reports what it
//! reached (`state`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::ControlError;
use crate::clock::monotonic;

/// How long taking the broker down or up may take before the request fails.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the broker accepts Kafka connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Up,
    Down,
    /// It was asked to come up but could not bind its address again (it stays down).
    Failed(String),
}

pub struct Outage {
    /// True while the control plane wants the broker down.
    want: watch::Sender<bool>,
    state: watch::Sender<Availability>,
}

impl Default for Outage {
    fn default() -> Self {
        Outage {
            want: watch::Sender::new(false),
            state: watch::Sender::new(Availability::Up),
        }
    }
}

impl Outage {
    pub fn state(&self) -> Availability {
        self.state.borrow().clone()
    }

    /// Asks for the broker down (`true`) or up, and waits until the accept loop did it.
    pub async fn go(&self, down: bool) -> Result<(), ControlError> {
        let mut state = self.state.subscribe();
        let reached = |s: &Availability| match s {
            // A failed "up" left the listener closed: that is down.
            Availability::Down | Availability::Failed(_) => down,
            Availability::Up => !down,
        };
        if reached(&state.borrow_and_update()) {
            return Ok(());
        }
        self.want.send_replace(down);
        let waited = monotonic::timeout(SWITCH_TIMEOUT, async {
            loop {
                if state.changed().await.is_err() {
                    return Err(ControlError::Outage("the broker is stopping".into()));
                }
                let now = state.borrow_and_update().clone();
                match now {
                    Availability::Failed(e) if !down => return Err(ControlError::Outage(e)),
                    now if reached(&now) => return Ok(()),
                    _ => {}
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

    /// Resolves when the control plane asks for the broker down (for the accept loop).
    pub async fn down_requested(&self) {
        let mut want = self.want.subscribe();
        let _ = want.wait_for(|down| *down).await;
    }

    /// For the accept loop, once it has closed its listener and dropped its connections:
    /// reports the broker down, waits to be asked up again (or for `shutdown`: `None`), then
    /// binds `addr` again. A failed bind is reported and the broker stays down.
    pub async fn wait_up(
        &self,
        addr: SocketAddr,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Option<TcpListener> {
        self.state.send_replace(Availability::Down);
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
                    self.state.send_replace(Availability::Up);
                    return Some(listener);
                }
                Err(e) => {
                    let why = format!("cannot listen on {addr} again: {e}");
                    tracing::error!("{why}");
                    self.want.send_replace(true);
                    self.state.send_replace(Availability::Failed(why));
                }
            }
        }
    }
}
