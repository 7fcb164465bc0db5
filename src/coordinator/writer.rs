//! The store's writer: one OS thread that owns the [`Store`] and batches the appends queued by
//! all groups (group commit: one write and one fsync for everything waiting), so its file I/O
//! never runs on the reactor. A thread of its own for the reason the transaction log's writer
//! has one (`txn/writer.rs`): a request costs two wake-ups, not four.

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

/// A handle to the writer thread.
#[derive(Debug, Clone)]
pub(super) struct StoreWriter {
    tx: mpsc::UnboundedSender<Msg>,
}

impl StoreWriter {
    /// Starts the writer thread; it ends after a shutdown or once every handle is dropped.
    pub fn spawn(store: Store) -> std::io::Result<StoreWriter> {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("weir-group-log".into())
            .spawn(move || run(store, rx))?;
        Ok(StoreWriter { tx })
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

fn run(mut store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.blocking_recv() {
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
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if !batch.is_empty() {
                let records: Vec<Vec<Record>> =
                    batch.iter_mut().map(|(r, _)| std::mem::take(r)).collect();
                let results = write_batch(&mut store, records);
                for ((_, tx), result) in batch.into_iter().zip(results) {
                    let _ = tx.send(result);
                }
            }
            if let Some(done) = clear {
                let result = store.clear();
                let _ = done.send(result.map_err(|e| GroupError::Storage(Arc::new(e))));
            }
        }));
        if ran.is_err() {
            // The requests see COORDINATOR_NOT_AVAILABLE as their answers are dropped.
            error!("group store writer failed; the coordinator cannot persist any more");
            break;
        }
        if let Some(done) = shutdown {
            let _ = done.send(());
            break;
        }
    }
}

/// Writes every request of the batch in one append; if that fails, each request on its own
/// so that one bad request does not fail the others.
fn write_batch(store: &mut Store, requests: Vec<Vec<Record>>) -> Vec<Result<(), GroupError>> {
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
    results
}
