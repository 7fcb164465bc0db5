//! The store's writer: one tokio task that owns the [`Store`], batches the appends queued by
//! all groups (group commit: one write and one fsync for everything waiting) and runs the file
//! I/O on the blocking pool, never on the reactor.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

use super::error::GroupError;
use super::record::Record;
use super::store::Store;

enum Msg {
    Append(Vec<Record>, oneshot::Sender<Result<(), GroupError>>),
    Clear(oneshot::Sender<Result<(), GroupError>>),
    Shutdown(oneshot::Sender<()>),
}

/// A handle to the writer task.
#[derive(Debug, Clone)]
pub(super) struct StoreWriter {
    tx: mpsc::UnboundedSender<Msg>,
}

impl StoreWriter {
    /// Starts the writer task (needs a tokio runtime).
    pub fn spawn(store: Store) -> StoreWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(store, rx));
        StoreWriter { tx }
    }

    /// Appends `records` durably (fsynced) before returning.
    pub async fn append(&self, records: Vec<Record>) -> Result<(), GroupError> {
        if records.is_empty() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Append(records, tx))
            .map_err(|_| GroupError::CoordinatorNotAvailable)?;
        rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// Drops every record, durably, after the appends queued before it.
    pub async fn clear(&self) -> Result<(), GroupError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Clear(tx))
            .map_err(|_| GroupError::CoordinatorNotAvailable)?;
        rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// Waits for queued appends, then stops the writer.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

type Batch = Vec<(Vec<Record>, oneshot::Sender<Result<(), GroupError>>)>;

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut store = Some(store);
    while let Some(first) = rx.recv().await {
        let mut batch: Batch = Vec::new();
        let mut shutdown = None;
        let mut clear = None;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Append(records, tx) => batch.push((records, tx)),
                Msg::Clear(done) => {
                    clear = Some(done);
                    break;
                }
                Msg::Shutdown(done) => {
                    shutdown = Some(done);
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            let Some(s) = store.take() else { break };
            let records: Vec<Vec<Record>> =
                batch.iter_mut().map(|(r, _)| std::mem::take(r)).collect();
            match tokio::task::spawn_blocking(move || write_batch(s, records)).await {
                Ok((s, results)) => {
                    store = Some(s);
                    for ((_, tx), result) in batch.into_iter().zip(results) {
                        let _ = tx.send(result);
                    }
                }
                Err(e) => {
                    error!(error = %e, "group store writer failed; the coordinator cannot persist any more");
                    break;
                }
            }
        }
        if let Some(done) = clear {
            let Some(mut s) = store.take() else { break };
            match tokio::task::spawn_blocking(move || {
                let result = s.clear();
                (s, result)
            })
            .await
            {
                Ok((s, result)) => {
                    store = Some(s);
                    let _ = done.send(result.map_err(|e| GroupError::Storage(Arc::new(e))));
                }
                Err(e) => {
                    error!(error = %e, "group store writer failed; the coordinator cannot persist any more");
                    break;
                }
            }
        }
        if let Some(done) = shutdown {
            let _ = done.send(());
            break;
        }
    }
}

/// Writes every request of the batch in one append; if that fails, each request on its own
/// so that one bad request does not fail the others.
fn write_batch(
    mut store: Store,
    requests: Vec<Vec<Record>>,
) -> (Store, Vec<Result<(), GroupError>>) {
    let all: Vec<Record> = requests.iter().flatten().cloned().collect();
    let results = match store.append(&all) {
        Ok(()) => requests.iter().map(|_| Ok(())).collect(),
        Err(_) if requests.len() > 1 => requests
            .iter()
            .map(|r| {
                store
                    .append(r)
                    .map_err(|e| GroupError::Storage(Arc::new(e)))
            })
            .collect(),
        Err(e) => vec![Err(GroupError::Storage(Arc::new(e)))],
    };
    if let Err(e) = store.maybe_compact() {
        warn!(error = %e, "compacting the group log failed; will retry");
    }
    (store, results)
}
