//! One client connection: frames in, requests handled one at a time, responses out in order.
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

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::frame::FrameReader;
use crate::broker::Broker;
use crate::clock::monotonic;
use crate::handler;
use crate::metrics::Metrics;
use crate::protocol::{self, Decoded, ResponseBuffer};

/// Flush responses once this much is pending even if more requests are buffered.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const KEEP_CAPACITY: usize = 1024 * 1024;
const INITIAL_CAPACITY: usize = 1024;
/// Slices per vectored write (well under IOV_MAX).
const MAX_SLICES: usize = 64;

pub async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Arc<Broker>,
    mut shutdown: watch::Receiver<bool>,
) {
    let metrics = broker.metrics();
    let _open = metrics.connection_opened();
    let (read, mut write) = stream.into_split();
    let config = broker.config();
    let mut frames = FrameReader::new(read, config.socket_request_max_bytes);
    let idle = Duration::from_millis(config.connections_max_idle_ms);
    // Answered, not yet written.
    let mut out = ResponseBuffer::with_capacity(INITIAL_CAPACITY);
    // The response of the request being handled.
    let mut current = ResponseBuffer::with_capacity(INITIAL_CAPACITY);
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
        let api = protocol::peek_api_key(&frame);
        metrics.bytes_in(frame.len());
        let timer = metrics.request(api);
        let handling = async {
            match protocol::decode(frame) {
                Ok(Decoded::Request(request)) => {
                    handler::respond(&broker, peer, *request, &mut current).await
                }
                Ok(Decoded::ApiVersionsTooNew { correlation_id }) => {
                    protocol::encode_api_versions_too_new(&mut current, correlation_id)
                }
                Err(e) => Err(e),
            }
        };
        let Some(result) =
            flushing_while(handling, &mut write, &mut out, metrics, peer, idle).await
        else {
            return;
        };
        timer.finish();
        out.append(&mut current);
        current.shrink(KEEP_CAPACITY, INITIAL_CAPACITY);
        if let Err(e) = result {
            tracing::warn!(%peer, api_key = ?api, "closing connection: {e}");
            break;
        }
        if !out.is_empty() && (!frames.has_frame() || out.len() >= FLUSH_THRESHOLD) {
            // A client that stops reading its responses is dropped after the idle timeout
            // rather than holding its buffers forever.
            let written = monotonic::timeout(idle, write_out(&mut write, &mut out, metrics)).await;
            if !wrote(written, peer, idle) {
                return;
            }
            // One large response must not pin its buffer for the connection's lifetime.
            out.shrink(KEEP_CAPACITY, INITIAL_CAPACITY);
        }
    }
    if !out.is_empty() {
        let _ = monotonic::timeout(idle, write_out(&mut write, &mut out, metrics)).await;
    }
    let _ = write.shutdown().await;
}

/// Runs `handling` to its end; while it waits, the responses already in `out` are written.
/// `None` when a write failed and the connection must end.
async fn flushing_while<T>(
    handling: impl Future<Output = T>,
    write: &mut OwnedWriteHalf,
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
async fn write_out(
    write: &mut OwnedWriteHalf,
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
    Ok(())
}
