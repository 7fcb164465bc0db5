//! The admin HTTP listener beyond metrics: health checks through a broker's life, the
//! connection cap, and what it answers to other paths and methods.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::raw::{
    code, request_frame_as, send_raw, topic_name, valid_batch, RawClient, CLOSE_TIMEOUT,
};
use crate::support::scrape::{http_get, http_request};

const WAIT: Duration = Duration::from_secs(20);

async fn start_with_admin(settings: &[(&str, &str)]) -> weir::BrokerHandle {
    let mut builder = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .in_memory()
        .set("admin.listen", "127.0.0.1:0");
    for (key, value) in settings {
        builder = builder.set(key, value);
    }
    builder.start().await.expect("broker starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_broker_is_live_and_ready() {
    let broker = start_with_admin(&[]).await;
    let admin = broker.admin_addr().expect("admin listener on");
    assert_eq!(broker.metrics_addr(), Some(admin), "one listener");
    let (status, body) = http_get(admin, "/health/live").await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", r#"{"status":"live"}"#)
    );
    let (status, body) = http_get(admin, "/health/ready").await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", r#"{"status":"ready"}"#)
    );
    let (status, _) = http_request(admin, "POST", "/metrics").await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let (status, body) = http_get(admin, "/health").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("/health/ready"), "{body}");
    broker.shutdown().await;
}

/// While the broker drains a connection it is still writing to, `/health/ready` answers 503
/// (`stopping`) and `/health/live` still 200; the admin listener closes only after the drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_turns_503_while_the_broker_drains() {
    let broker = start_with_admin(&[]).await;
    let admin = broker.admin_addr().expect("admin listener on");
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("drain", 1, &[]).await;
    // About 36 MB: more than loopback socket buffers hold, so a fetch of all of it keeps the
    // broker writing while the client reads nothing.
    let version = client.version::<kafka_protocol::messages::ProduceRequest>(9);
    for _ in 0..40 {
        let batch = Bytes::from(valid_batch(90, 10_000).to_vec());
        let results = client.produce(version, "drain", vec![(0, batch)]).await;
        assert_eq!(results[0].1, code::NONE);
    }
    let mut stalled = TcpStream::connect(broker.addr()).await.expect("connect");
    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(64 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name("drain"))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_partition_max_bytes(64 << 20)])]);
    send_raw(&mut stalled, &request_frame_as(&fetch, 4, 1, "stalled")).await;
    let mut size = [0u8; 4];
    tokio::time::timeout(WAIT, stalled.read_exact(&mut size))
        .await
        .expect("fetch answered in time")
        .expect("response size");
    assert!(i32::from_be_bytes(size) > 30 << 20, "a large response");

    let stopping = tokio::spawn(broker.shutdown());
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = http_get(admin, "/health/ready").await;
        if status == "HTTP/1.1 503 Service Unavailable" {
            assert_eq!(body, r#"{"status":"stopping"}"#);
            break;
        }
        assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
        assert!(Instant::now() < deadline, "never reported stopping");
        tokio::task::yield_now().await;
    }
    assert!(
        !stopping.is_finished(),
        "the drain waits for the stalled reader"
    );
    let (status, _) = http_get(admin, "/health/live").await;
    assert_eq!(status, "HTTP/1.1 200 OK");

    drop(stalled);
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("shutdown finishes once the reader is gone")
        .expect("shutdown task");
    assert!(
        TcpStream::connect(admin).await.is_err(),
        "the admin listener closes last"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_admin_max_connections_are_closed_and_slots_come_back() {
    let broker = start_with_admin(&[("admin.max.connections", "2")]).await;
    let admin = broker.admin_addr().expect("admin listener on");
    let mut first = TcpStream::connect(admin).await.expect("connect");
    let second = TcpStream::connect(admin).await.expect("connect");

    let mut extra = TcpStream::connect(admin).await.expect("connect");
    let request = format!("GET /health/live HTTP/1.1\r\nHost: {admin}\r\n\r\n");
    // The write may already fail if the broker closed the socket first.
    let _ = extra.write_all(request.as_bytes()).await;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(CLOSE_TIMEOUT, extra.read(&mut buf))
        .await
        .expect("the extra connection is closed, not left hanging");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "a third connection got an answer: {:?}",
        read.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    );

    // The two counted connections are served.
    first.write_all(request.as_bytes()).await.expect("send");
    let read = tokio::time::timeout(WAIT, first.read(&mut buf))
        .await
        .expect("answered")
        .expect("read");
    assert!(
        buf[..read].starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&buf[..read])
    );

    // Closing one frees its slot.
    drop(second);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut probe = TcpStream::connect(admin).await.expect("connect");
        let _ = probe.write_all(request.as_bytes()).await;
        if let Ok(Ok(n)) = tokio::time::timeout(CLOSE_TIMEOUT, probe.read(&mut buf)).await {
            if n > 0 {
                assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
                break;
            }
        }
        assert!(Instant::now() < deadline, "the freed slot never came back");
        tokio::task::yield_now().await;
    }
    broker.shutdown().await;
}
