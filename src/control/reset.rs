//! Reset: the broker back to the state it started in, in one call, without a restart.
//!
//! Each part of the broker's state has one step below, run in order. A part that keeps
//! state of its own adds its step here, at the place its dependencies dictate: the
//! transaction coordinator's goes first among the data steps (an ongoing transaction refers
//! to groups and partitions), so it runs right after the faults are cleared; the groups'
//! step then drops the offsets transactions left pending.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Control, ControlError};
use crate::broker::Broker;
use crate::clock::monotonic::Stopwatch;

/// What a reset cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetReport {
    /// Fault rules removed.
    pub faults: usize,
    /// Captured requests dropped (capture stays on or off as it was).
    pub captured: usize,
    /// Whether the broker had been taken down (it is up again).
    pub was_down: bool,
    /// Transactional ids forgotten, with their open transactions.
    pub transactions: usize,
    /// Consumer groups forgotten, with all their committed offsets.
    pub groups: usize,
    /// Topics deleted, with their data.
    pub topics_deleted: usize,
    /// Topics created again from the seed list (`--topics`).
    pub topics_seeded: usize,
    /// How long the reset took, in microseconds.
    pub duration_us: u64,
}

/// Resets faults, capture, the broker's availability, transactional ids and their
/// transactions, groups and offsets (pending transactional ones too), and topics (seeded
/// topics are created again, empty). The clock is left where it is: time does not go back.
pub async fn reset(broker: &Arc<Broker>, control: &Control) -> Result<ResetReport, ControlError> {
    let watch = Stopwatch::start();
    let mut report = ResetReport {
        faults: control.change(|c| c.rules().clear()),
        captured: control.capture().clear(),
        ..ResetReport::default()
    };
    report.was_down = control.outage().state() != super::Availability::Up;
    if report.was_down {
        control.outage().go(false).await?;
    }

    report.transactions = broker
        .txns
        .reset()
        .await
        .map_err(|e| ControlError::Reset(format!("transactions: {e}")))?;

    report.groups = broker
        .groups
        .reset()
        .await
        .map_err(|e| ControlError::Reset(format!("groups: {e}")))?;

    let b = broker.clone();
    let seeds = control.seeds.clone();
    let (deleted, seeded) = tokio::task::spawn_blocking(move || {
        let deleted = b
            .topics
            .delete_all()
            .map_err(|e| format!("deleting the topics: {e}"))?;
        let seeded = super::seed::create(&b.topics, &seeds)?;
        Ok::<_, String>((deleted, seeded))
    })
    .await
    .map_err(|e| ControlError::Reset(e.to_string()))?
    .map_err(ControlError::Reset)?;
    report.topics_deleted = deleted;
    report.topics_seeded = seeded;
    report.duration_us = u64::try_from(watch.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(?report, "broker reset (control plane)");
    Ok(report)
}
