//! The transaction log's writer: one OS thread that owns the [`Store`] and writes what every
//! transactional id queued in one append (one fsync for all that asked for one), so its file
//! I/O never runs on the reactor. Work that must follow an append (the markers after a Prepare
//! state) can ride along and run on the same thread right after it.
//!
//! A thread of its own rather than a task that hands each batch to the blocking pool: every
//! hand-over between threads is a wake-up, which is most of what a transaction costs the
//! broker. Here a request wakes the writer and the writer wakes the request, two in all; a
//! task would add the pool thread's wake-up and its own.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::error::TxnError;
use super::store::{Record, Store};

/// Runs after its append was written (and fsynced if asked), on the writer's thread.
type After = Box<dyn FnOnce(&mut Store) + Send>;

struct Append {
    records: Vec<Record>,
    sync: bool,
    after: Option<After>,
    done: oneshot::Sender<Result<(), TxnError>>,
}

enum Msg {
    Append(Append),
    /// Empties the log, after every append queued before it.
    Clear(oneshot::Sender<Result<(), TxnError>>),
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
            .name("weir-txn-log".into())
            .spawn(move || run(store, rx))?;
        Ok(StoreWriter { tx })
    }

    /// Appends `records` (fsynced first when `sync`) before returning.
    pub async fn append(&self, records: Vec<Record>, sync: bool) -> Result<(), TxnError> {
        self.send(records, sync, None).await
    }

    /// Appends `records` like [`append`](Self::append), then runs `after` on the writer's
    /// thread (it may append more) and returns what it returned. `Ok(None)`: the append was
    /// written but `after` did not finish (it panicked).
    pub async fn append_then<T, F>(
        &self,
        records: Vec<Record>,
        sync: bool,
        after: F,
    ) -> Result<Option<T>, TxnError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> T + Send + 'static,
    {
        let (result, returned) = oneshot::channel();
        let after: After = Box::new(move |store| {
            let _ = result.send(after(store));
        });
        self.send(records, sync, Some(after)).await?;
        Ok(returned.await.ok())
    }

    async fn send(
        &self,
        records: Vec<Record>,
        sync: bool,
        after: Option<After>,
    ) -> Result<(), TxnError> {
        let (done, rx) = oneshot::channel();
        let msg = Msg::Append(Append {
            records,
            sync,
            after,
            done,
        });
        self.tx
            .send(msg)
            .map_err(|_| TxnError::CoordinatorNotAvailable)?;
        rx.await.unwrap_or(Err(TxnError::CoordinatorNotAvailable))
    }

    /// Empties the log once the appends queued before are written.
    pub async fn clear(&self) -> Result<(), TxnError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Msg::Clear(done))
            .map_err(|_| TxnError::CoordinatorNotAvailable)?;
        rx.await.unwrap_or(Err(TxnError::CoordinatorNotAvailable))
    }

    /// Waits for queued appends, then stops the writer.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn run(mut store: Store, mut rx: mpsc::UnboundedReceiver<Msg>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch: Vec<Append> = Vec::new();
        // What ended the batch, run after the appends before it.
        let (mut clear, mut shutdown) = (None, None);
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Append(a) => batch.push(a),
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
                let requests: Vec<Request> = batch
                    .iter_mut()
                    .map(|a| Request {
                        records: std::mem::take(&mut a.records),
                        sync: a.sync,
                        after: a.after.take(),
                    })
                    .collect();
                let results = write_batch(&mut store, requests);
                for (a, result) in batch.into_iter().zip(results) {
                    let _ = a.done.send(result);
                }
            }
            if let Some(done) = clear {
                let _ = done.send(store.clear().map_err(|e| TxnError::Storage(Arc::new(e))));
            }
        }));
        if ran.is_err() {
            // The requests see COORDINATOR_NOT_AVAILABLE as their answers are dropped.
            tracing::error!("transaction log writer failed; transactions cannot change any more");
            break;
        }
        if let Some(done) = shutdown {
            let _ = done.send(());
            break;
        }
    }
}

struct Request {
    records: Vec<Record>,
    sync: bool,
    after: Option<After>,
}

/// Writes every request of the batch in one append; if that fails, each on its own so that
/// one bad request does not fail the others. Then runs the `after` of each written request,
/// in order.
fn write_batch(store: &mut Store, requests: Vec<Request>) -> Vec<Result<(), TxnError>> {
    let all: Vec<Record> = requests.iter().flat_map(|r| r.records.clone()).collect();
    let sync = requests.iter().any(|r| r.sync);
    let results: Vec<Result<(), TxnError>> = match store.append(&all, sync) {
        Ok(()) => requests.iter().map(|_| Ok(())).collect(),
        Err(_) if requests.len() > 1 => requests
            .iter()
            .map(|r| {
                store
                    .append(&r.records, r.sync)
                    .map_err(|e| TxnError::Storage(Arc::new(e)))
            })
            .collect(),
        Err(e) => vec![Err(TxnError::Storage(Arc::new(e)))],
    };
    for (request, result) in requests.into_iter().zip(&results) {
        if let (Some(after), Ok(())) = (request.after, result) {
            // A panic here is a bug in `after`; the writer and its store carry on, and the
            // caller sees that `after` did not finish.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| after(store)));
            if ran.is_err() {
                tracing::error!("work after a transaction log append failed");
            }
        }
    }
    if let Err(e) = store.maybe_compact() {
        tracing::warn!(error = %e, "compacting the transaction log failed; will retry");
    }
    results
}
