//! One client connection: frames in, requests handled one at a time, responses out in order.
//! On SASL listeners every frame passes the connection's [`Gate`] first.
//!
//! Requests are handled in the order they arrive (Kafka's ordering guarantee for pipelined
//! produce depends on it); responses to pipelined requests that are answered at once are
//! flushed together, with vectored writes so fetched records go out from the buffers they
//! were read into. A request that waits (a long-poll fetch, a parked JoinGroup or SyncGroup, a
//! produce waiting for its append) never holds back the responses before it: they are written
//! while it waits, as Kafka sends each response as soon as it is ready.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::frame::FrameReader;
use super::listener::ListenerContext;
use super::sasl::{Admit, Gate, Outcome};
use crate::broker::Broker;
use crate::clock::monotonic;
use crate::control::hook::{Hook, Pass};
use crate::handler::Requester;
use crate::metrics::Metrics;
use crate::protocol::{self, Decoded, ResponseBuffer};
use crate::security::Principal;

/// Flush responses once this much is pending even if more requests are buffered.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const KEEP_CAPACITY: usize = 1024 * 1024;
const INITIAL_CAPACITY: usize = 1024;
/// Slices per vectored write (well under IOV_MAX).
const MAX_SLICES: usize = 64;

pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    principal: Principal,
    listener: Arc<ListenerContext>,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = broker.metrics();
    let _open = metrics.connection_opened();
    let config = broker.config();
    let mut gate = Gate::new(listener.sasl.clone(), broker.clock().clone());
    let max_frame = if gate.pending() {
        config.sasl_server_max_receive_size
    } else {
        config.socket_request_max_bytes
    };
    let mut frames = FrameReader::new(stream, max_frame);
    let idle = Duration::from_millis(config.connections_max_idle_ms);
    // Answered, not yet written.
    let mut out = ResponseBuffer::with_capacity(INITIAL_CAPACITY);
    // The response of the request being handled.
    let mut current = ResponseBuffer::with_capacity(INITIAL_CAPACITY);
    let mut requester = Requester {
        principal,
        listener: listener.name.clone(),
        peer,
    };
    // The test-control plane's hook: fault rules and capture see each admitted request here.
    let mut hook = Hook::new(&broker);
    let mut swallowed = false;
    loop {
        let next = tokio::select! {
            next = monotonic::timeout(idle, frames.next()) => next,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let frame = match next {
            Err(_) => {
                tracing::info!(%peer, "closing connection idle for {idle:?} (connections.max.idle.ms)");
                break;
            }
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                tracing::warn!(%peer, "closing connection: {e}");
                break;
            }
        };
        if swallowed {
            // A swallowed request is never answered, and as Kafka answers a connection's
            // requests in order, nothing after it is either: the client's timeout ends this.
            continue;
        }
        let api = if gate.wants_raw_token() {
            None
        } else {
            protocol::peek_api_key(&frame)
        };
        metrics.bytes_in(frame.len());
        let timer = metrics.request(api);
        let mut fault_close = false;
        let handling = async {
            if gate.wants_raw_token() {
                return Ok(gate.raw_token(frame, &mut current).await);
            }
            match protocol::decode(frame) {
                Ok(Decoded::Request(request)) => match gate.admit(&request) {
                    Admit::Handler => {
                        match hook.pass(&broker, &requester, *request, &mut current).await {
                            Pass::Answered(result) => result.map(|()| Outcome::Continue),
                            Pass::Close => {
                                fault_close = true;
                                Ok(Outcome::Continue)
                            }
                            Pass::Swallow => {
                                swallowed = true;
                                Ok(Outcome::Continue)
                            }
                        }
                    }
                    Admit::Gate => gate.handle(*request, &mut current).await,
                    Admit::Refuse(reason) => Ok(Outcome::Close(reason)),
                },
                Ok(Decoded::ApiVersionsTooNew { correlation_id }) => {
                    protocol::encode_api_versions_too_new(&mut current, correlation_id)
                        .map(|()| Outcome::Continue)
                }
                Err(e) => Err(e),
            }
        };
        let flushing = flushing_while(handling, frames.get_mut(), &mut out, metrics, peer, idle);
        let Some(result) = flushing.await else {
            return;
        };
        timer.finish();
        out.append(&mut current);
        current.shrink(KEEP_CAPACITY, INITIAL_CAPACITY);
        if fault_close {
            // Answers to the requests before it still go out.
            tracing::info!(%peer, api_key = ?api, "closing connection (fault rule)");
            break;
        }
        match result {
            Ok(Outcome::Continue) => {}
            Ok(Outcome::Authenticated(principal)) => {
                tracing::debug!(%peer, listener = %listener.name, %principal, "authenticated");
                requester.principal = principal;
                frames.set_max(config.socket_request_max_bytes);
            }
            Ok(Outcome::Failed(reason)) => {
                tracing::info!(%peer, listener = %listener.name, "failed authentication: {reason}");
                // Answered late, so guessing passwords is slow; then closed.
                let delay = Duration::from_millis(config.failed_authentication_delay_ms);
                tokio::select! {
                    _ = monotonic::sleep(delay) => {}
                    _ = shutdown.wait_for(|stop| *stop) => {}
                }
                break;
            }
            Ok(Outcome::Close(reason)) => {
                tracing::info!(%peer, listener = %listener.name, "closing connection: {reason}");
                out = ResponseBuffer::default();
                break;
            }
            Err(e) => {
                tracing::warn!(%peer, api_key = ?api, "closing connection: {e}");
                break;
            }
        }
        if !out.is_empty() && (!frames.has_frame() || out.len() >= FLUSH_THRESHOLD) {
            // A client that stops reading its responses is dropped after the idle timeout
            // rather than holding its buffers forever.
            let written =
                monotonic::timeout(idle, write_out(frames.get_mut(), &mut out, metrics)).await;
            if !wrote(written, peer, idle) {
                return;
            }
            // One large response must not pin its buffer for the connection's lifetime.
            out.shrink(KEEP_CAPACITY, INITIAL_CAPACITY);
        }
    }
    let write = frames.get_mut();
    if !out.is_empty() {
        let _ = monotonic::timeout(idle, write_out(write, &mut out, metrics)).await;
    }
    let _ = write.shutdown().await;
}

/// Runs `handling` to its end; while it waits, the responses already in `out` are written.
/// `None` when a write failed and the connection must end.
async fn flushing_while<T, W: AsyncWrite + Unpin>(
    handling: impl Future<Output = T>,
    write: &mut W,
    out: &mut ResponseBuffer,
    metrics: &Metrics,
    peer: SocketAddr,
    idle: Duration,
) -> Option<T> {
    tokio::pin!(handling);
    loop {
        if out.is_empty() {
            return Some(handling.await);
        }
        tokio::select! {
            // A request answered at once adds its response to the batch instead.
            biased;
            result = &mut handling => return Some(result),
            written = monotonic::timeout(idle, write_out(write, out, metrics)) => {
                if !wrote(written, peer, idle) {
                    return None;
                }
            }
        }
    }
}

/// Whether a timed [`write_out`] succeeded; logs why the connection ends if not.
fn wrote<E>(written: Result<io::Result<()>, E>, peer: SocketAddr, idle: Duration) -> bool {
    match written {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "write failed: {e}");
            false
        }
        Err(_) => {
            tracing::info!(%peer, "closing connection that read no response for {idle:?}");
            false
        }
    }
}

/// Writes everything pending, in as few vectored writes as the socket takes.
async fn write_out<W: AsyncWrite + Unpin>(
    write: &mut W,
    out: &mut ResponseBuffer,
    metrics: &Metrics,
) -> io::Result<()> {
    while !out.is_empty() {
        let slices = out.io_slices(MAX_SLICES);
        let n = write.write_vectored(&slices).await?;
        drop(slices);
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        out.advance(n);
        metrics.bytes_out(n);
    }
    // TLS streams hold the last records until flushed; for TCP this does nothing.
    write.flush().await
}
