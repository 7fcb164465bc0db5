//! One client connection: frames in, requests handled one at a time, responses out in order.
//!
//! Requests are handled in the order they arrive (Kafka's ordering guarantee for pipelined
//! produce depends on it); responses to pipelined requests are flushed together, with
//! vectored writes so fetched records go out from the buffers they were read into.

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
use crate::control::gate::{Gate, Pass};
use crate::metrics::Metrics;
use crate::protocol::{self, Decoded, ResponseBuffer};

/// Flush responses once this much is pending even if more requests are buffered.
const FLUSH_THRESHOLD: usize = 64 * 1024;
const KEEP_CAPACITY: usize = 1024 * 1024;
const INITIAL_CAPACITY: usize = 1024;
/// Slices per vectored write (well under IOV_MAX).
const MAX_SLICES: usize = 64;
/// The name of the one listener, as Kafka names a plaintext listener.
const LISTENER: &str = "PLAINTEXT";

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
    let mut out = ResponseBuffer::with_capacity(INITIAL_CAPACITY);
    // The test-control plane's hook: fault rules and capture see each request here.
    let mut gate = Gate::new(&broker, peer, LISTENER);
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
        let api = protocol::peek_api_key(&frame);
        metrics.bytes_in(frame.len());
        let timer = metrics.request(api);
        let mut close = false;
        let result = match protocol::decode(frame) {
            Ok(Decoded::Request(request)) => match gate.pass(&broker, *request, &mut out).await {
                Pass::Answered(result) => result,
                Pass::Close => {
                    close = true;
                    Ok(())
                }
                Pass::Swallow => {
                    swallowed = true;
                    Ok(())
                }
            },
            Ok(Decoded::ApiVersionsTooNew { correlation_id }) => {
                protocol::encode_api_versions_too_new(&mut out, correlation_id)
            }
            Err(e) => Err(e),
        };
        timer.finish();
        if close {
            tracing::info!(%peer, api_key = ?api, "closing connection (fault rule)");
            break;
        }
        if let Err(e) = result {
            tracing::warn!(%peer, api_key = ?api, "closing connection: {e}");
            break;
        }
        if !out.is_empty() && (!frames.has_frame() || out.len() >= FLUSH_THRESHOLD) {
            // A client that stops reading its responses is dropped after the idle timeout
            // rather than holding its buffers forever.
            match monotonic::timeout(idle, write_out(&mut write, &mut out, metrics)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "write failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer, "closing connection that read no response for {idle:?}");
                    return;
                }
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
