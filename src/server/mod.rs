//! The accept loops, one per listener: connection limits (`max.connections` in all,
//! `max.connections.per.ip` per client address, across listeners), one task per connection,
//! graceful shutdown. A connection over either limit is closed as soon as it is accepted,
//! before anything is read from it; its slot is free again the moment a counted connection
//! ends. On TLS listeners the handshake comes first; a client that fails it (garbage, plain
//! Kafka requests, an untrusted certificate) is closed with a log line.

mod connection;
mod frame;
pub mod listener;
pub mod sasl;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::clock::monotonic;
use crate::control::Control;
use crate::security::Principal;
use listener::{Bound, ListenerContext};

/// How long shutdown waits for in-flight requests before dropping connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves every listener until `shutdown` turns true, then waits for in-flight requests.
pub async fn serve(listeners: Vec<Bound>, broker: Arc<Broker>, shutdown: watch::Receiver<bool>) {
    let limit = Arc::new(Semaphore::new(
        broker.config().max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let per_ip = PerIp::new(broker.config().max_connections_per_ip);
    let loops = listeners.into_iter().map(|bound| {
        accept_loop(
            bound,
            limit.clone(),
            per_ip.clone(),
            broker.clone(),
            shutdown.clone(),
        )
    });
    futures_util::future::join_all(loops).await;
}

async fn accept_loop(
    bound: Bound,
    limit: Arc<Semaphore>,
    per_ip: PerIp,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Bound {
        mut listener,
        context,
        ..
    } = bound;
    let mut connections = JoinSet::new();
    let control = broker.control().cloned();
    if let Some(control) = &control {
        control.outage().register();
    }
    loop {
        let down_requested = async {
            match &control {
                Some(control) => control.outage().down_requested().await,
                None => std::future::pending().await,
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => Some(accepted),
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = down_requested => None,
        };
        let Some(accepted) = accepted else {
            let Some(control) = &control else { continue };
            match take_down(listener, &mut connections, control, &mut shutdown).await {
                Some(again) => listener = again,
                None => return,
            }
            continue;
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                monotonic::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "max.connections reached, closing new connection");
            continue;
        };
        let Some(ip_slot) = per_ip.try_acquire(peer.ip()) else {
            tracing::warn!(%peer, "max.connections.per.ip reached, closing new connection");
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, "set_nodelay: {e}");
        }
        let broker = broker.clone();
        let shutdown = shutdown.clone();
        let context = context.clone();
        connections.spawn(async move {
            open(stream, peer, context, broker, shutdown, permit).await;
            drop(ip_slot);
        });
    }
    drop(listener);
    let drained = monotonic::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still busy after {DRAIN_TIMEOUT:?}, closing them");
        connections.shutdown().await;
    }
}

/// "Broker down" (test-control plane): closes the listener, so connecting is refused, drops
/// every connection with whatever it had in flight, then waits to be brought up again and
/// returns the new listener on the same address (`None` if the broker stops meanwhile).
async fn take_down(
    listener: TcpListener,
    connections: &mut JoinSet<()>,
    control: &Control,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<TcpListener> {
    let addr = listener.local_addr().ok()?;
    drop(listener);
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    control.outage().wait_up(addr, shutdown).await
}

/// Runs one accepted connection: the TLS handshake on TLS listeners, then the requests.
async fn open(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    context: Arc<ListenerContext>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let Some(acceptor) = context.tls.clone() else {
        connection::run(
            stream,
            peer,
            Principal::anonymous(),
            context,
            broker,
            shutdown,
        )
        .await;
        drop(permit);
        return;
    };
    let listener = context.name.clone();
    let idle = Duration::from_millis(broker.config().connections_max_idle_ms);
    let handshake = tokio::select! {
        result = monotonic::timeout(idle, acceptor.accept(stream)) => result,
        _ = shutdown.wait_for(|stop| *stop) => return,
    };
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::info!(%peer, %listener, "closing connection: TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::info!(%peer, %listener, "closing connection: no TLS handshake within {idle:?}");
            return;
        }
    };
    match context.tls_principal(&stream) {
        Ok(principal) => {
            connection::run(stream, peer, principal, context, broker, shutdown).await;
        }
        Err(reason) => tracing::info!(%peer, %listener, "closing connection: {reason}"),
    }
}

/// Open connections per client address, capped at `max.connections.per.ip`.
#[derive(Clone)]
struct PerIp {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One counted connection; dropping it frees the slot.
struct IpSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerIp {
    fn new(max: usize) -> PerIp {
        PerIp {
            max,
            open: Arc::default(),
        }
    }

    fn try_acquire(&self, ip: IpAddr) -> Option<IpSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_slots_are_counted_per_address_and_freed_on_drop() {
        let per_ip = PerIp::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = per_ip.try_acquire(a).unwrap();
        let _second = per_ip.try_acquire(a).unwrap();
        assert!(per_ip.try_acquire(a).is_none());
        assert!(per_ip.try_acquire(b).is_some());
        drop(first);
        assert!(per_ip.try_acquire(a).is_some());
    }
}
