//! The accept loop: a connection limit, one task per connection, graceful shutdown.

mod connection;
mod frame;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::broker::Broker;

/// How long shutdown waits for in-flight requests before dropping connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves connections until `shutdown` turns true, then waits for in-flight requests.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(
        broker.config().max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "max.connections reached, closing new connection");
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, "set_nodelay: {e}");
        }
        let broker = broker.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            connection::run(stream, peer, broker, shutdown).await;
            drop(permit);
        });
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still busy after {DRAIN_TIMEOUT:?}, closing them");
        connections.shutdown().await;
    }
}
