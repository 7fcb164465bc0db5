//! The admin HTTP listener (`admin.listen`): how the broker's metrics and health checks are
//! served. What is served lives in `routes.rs`; what is counted lives in `crate::metrics`.
//!
//! Routing and JSON come from axum; each accepted connection is an HTTP/1.1 connection served
//! by hyper. The accept loop is ours because it enforces what a server exposed to scrapers and
//! probes needs: at most `admin.max.connections` open at once (more are closed on accept), a
//! deadline for each request's headers (which also closes idle keep-alive connections) and a
//! deadline for each response.
//!
//! The listener starts before the broker opens its logs, so `/health/live` answers and
//! `/health/ready` says 503 while the broker recovers; it stops last, after the broker has
//! drained, so `/health/ready` says 503 while the broker stops.

mod control;
mod routes;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::broker::Broker;

/// How long a client may take to send a request's headers, and how long a keep-alive
/// connection may sit idle.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one response may take (a scrape of a broker with many groups is the slowest).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the routes read: the broker once it is up, and whether it is stopping.
pub struct AdminState {
    broker: OnceLock<Arc<Broker>>,
    stopping: watch::Receiver<bool>,
}

/// The broker's phase as `/health/ready` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening its logs and coordinators; not accepting Kafka connections yet.
    Starting,
    Ready,
    /// Draining connections and flushing.
    Stopping,
}

impl AdminState {
    pub fn phase(&self) -> Phase {
        if *self.stopping.borrow() {
            Phase::Stopping
        } else if self.broker.get().is_some() {
            Phase::Ready
        } else {
            Phase::Starting
        }
    }

    fn broker(&self) -> Option<&Arc<Broker>> {
        self.broker.get()
    }
}

/// A running admin listener.
pub struct AdminServer {
    addr: SocketAddr,
    state: Arc<AdminState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr` and serves until [`AdminServer::stop`] (or until dropped). `stopping` is
    /// the broker's own stop signal, which turns readiness off.
    pub async fn start(
        addr: &str,
        max_connections: usize,
        stopping: watch::Receiver<bool>,
    ) -> std::io::Result<AdminServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(AdminState {
            broker: OnceLock::new(),
            stopping,
        });
        let (stop, stopped) = watch::channel(false);
        let app = routes::router(state.clone(), RESPONSE_TIMEOUT);
        let task = tokio::spawn(serve(listener, app, max_connections, stopped));
        tracing::info!(admin = %addr, "serving /metrics, /health/live and /health/ready");
        Ok(AdminServer {
            addr,
            state,
            stop,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker is up and accepting connections: metrics are served and it reads as ready.
    pub fn attach(&self, broker: Arc<Broker>) {
        let _ = self.state.broker.set(broker);
    }

    /// Stops accepting, closes open connections and waits for the task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Serves connections until `stop` turns true or its sender is dropped.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(max_connections.min(Semaphore::MAX_PERMITS)));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("admin accept failed: {e}");
                crate::clock::monotonic::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "admin.max.connections reached, closing new connection");
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, "admin connection: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        raw
    }

    #[tokio::test]
    async fn readiness_follows_the_broker_phase_and_liveness_does_not() {
        let (stopping, stopping_rx) = watch::channel(false);
        let admin = AdminServer::start("127.0.0.1:0", 4, stopping_rx)
            .await
            .unwrap();
        assert_eq!(admin.state.phase(), Phase::Starting);
        let ready = get(admin.addr(), "/health/ready").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.ends_with(r#"{"status":"starting"}"#), "{ready}");
        let metrics = get(admin.addr(), "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 503"), "{metrics}");
        let live = get(admin.addr(), "/health/live").await;
        assert!(live.starts_with("HTTP/1.1 200"), "{live}");
        assert!(live.contains("content-type: application/json"), "{live}");

        stopping.send(true).unwrap();
        assert_eq!(admin.state.phase(), Phase::Stopping);
        let ready = get(admin.addr(), "/health/ready").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.ends_with(r#"{"status":"stopping"}"#), "{ready}");
        let addr = admin.addr();
        admin.stop().await;
        assert!(TcpStream::connect(addr).await.is_err(), "closed after stop");
    }

    #[tokio::test]
    async fn dropping_the_server_stops_it() {
        let (_stopping, stopping_rx) = watch::channel(false);
        let admin = AdminServer::start("127.0.0.1:0", 4, stopping_rx)
            .await
            .unwrap();
        let (addr, task) = (admin.addr(), admin.task.abort_handle());
        drop(admin);
        while !task.is_finished() {
            tokio::task::yield_now().await;
        }
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
