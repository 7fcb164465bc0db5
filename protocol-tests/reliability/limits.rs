//! Connection limits and clients that hold resources: `max.connections`, `max.connections.per.ip`,
//! 10,000 idle connections (and the broker's memory per idle connection), a client that sends
//! half a frame and stalls, one that trickles a frame byte by byte, and one that never reads
//! its responses. In every case the broker keeps serving everyone else.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiVersionsRequest, FetchRequest, MetadataRequest, ProduceRequest};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::support::broker::{ProcessBroker, TestBroker};
use crate::support::raw::*;

/// Tests that open thousands of descriptors run one at a time.
static FD_HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind source");
    timeout(IO_TIMEOUT, socket.connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect")
}

/// One ApiVersions v0 round trip on an open connection.
async fn api_versions_ok<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    correlation_id: i32,
) -> bool {
    send_raw(
        stream,
        &request_frame(&ApiVersionsRequest::default(), 0, correlation_id),
    )
    .await;
    match read_frame(stream).await {
        Some(response) => correlation_id_of(&response) == correlation_id,
        None => false,
    }
}

/// A new connection from `source` is served, retrying while a slot that was just freed is
/// still being released by the broker.
async fn eventually_served(source: IpAddr, addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    loop {
        let mut stream = connect_from(source, addr).await;
        if api_versions_ok(&mut stream, 9).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: freed slot never reusable"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_connections_closes_extra_connections_and_frees_slots() {
    let broker = TestBroker::start_with(&[("max.connections", "3")]).await;
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let mut held = Vec::new();
    for i in 0..3 {
        let mut stream = connect_from(local, broker.addr()).await;
        assert!(api_versions_ok(&mut stream, i).await, "connection {i} of 3");
        held.push(stream);
    }
    let started = Instant::now();
    let mut extra = connect_from(local, broker.addr()).await;
    expect_closed(&mut extra, "a 4th connection with max.connections=3").await;
    println!("over max.connections: closed after {:?}", started.elapsed());
    for (i, stream) in held.iter_mut().enumerate() {
        assert!(
            api_versions_ok(stream, 100 + i as i32).await,
            "held connection {i} stopped being served"
        );
    }
    drop(held.pop());
    eventually_served(local, broker.addr(), "max.connections").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn max_connections_per_ip_limits_each_address_separately() {
    let broker = TestBroker::start_with(&[("max.connections.per.ip", "2")]).await;
    let (one, two): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
    let mut held = Vec::new();
    for i in 0..2 {
        let mut stream = connect_from(one, broker.addr()).await;
        assert!(api_versions_ok(&mut stream, i).await, "connection {i} of 2");
        held.push(stream);
    }
    let mut extra = connect_from(one, broker.addr()).await;
    expect_closed(&mut extra, "a 3rd connection from one address, limit 2").await;

    // Another address has its own allowance.
    let mut others = Vec::new();
    for i in 0..2 {
        let mut stream = connect_from(two, broker.addr()).await;
        assert!(
            api_versions_ok(&mut stream, 10 + i).await,
            "connection {i} from a second address"
        );
        others.push(stream);
    }
    let mut extra = connect_from(two, broker.addr()).await;
    expect_closed(&mut extra, "a 3rd connection from the second address").await;

    for (i, stream) in held.iter_mut().chain(others.iter_mut()).enumerate() {
        assert!(
            api_versions_ok(stream, 100 + i as i32).await,
            "held connection {i} stopped being served"
        );
    }
    drop(held.pop());
    eventually_served(one, broker.addr(), "max.connections.per.ip").await;
}

/// Raises this process's descriptor limit as far as allowed and returns it. Children (a
/// `weir serve` started afterwards) inherit it.
fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        // Root may raise the hard limit too; if not, the soft limit goes up to the hard one.
        let raised = libc::rlimit {
            rlim_cur: wanted.max(limit.rlim_cur),
            rlim_max: wanted.max(limit.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

/// Opens `n` connections, each doing one ApiVersions round trip (so the broker has allocated
/// its per-connection buffers), in batches so the listen backlog never overflows.
async fn open_idle(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut all = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..batch {
            tasks.spawn(async move {
                let mut stream = timeout(IO_TIMEOUT, TcpStream::connect(addr))
                    .await
                    .expect("connect timed out")
                    .expect("connect");
                assert!(api_versions_ok(&mut stream, i as i32).await, "idle #{i}");
                stream
            });
        }
        while let Some(stream) = tasks.join_next().await {
            all.push(stream.expect("connect task"));
        }
        left -= batch;
    }
    all
}

/// How many connections this process can hold, each costing `fds_per_connection` descriptors
/// here, at most 10,000.
fn idle_target(fds_per_connection: u64) -> usize {
    let limit = raise_fd_limit(2 * 10_000 + 1_000);
    let n = (limit.saturating_sub(1_000) / fds_per_connection).min(10_000) as usize;
    assert!(n >= 100, "descriptor limit {limit} too low for this test");
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_idle_connections_leave_the_broker_serving() {
    let _one_at_a_time = FD_HEAVY.lock().await;
    // Both ends of every connection live in this process.
    let n = idle_target(2);
    let broker = TestBroker::start().await;
    let started = Instant::now();
    let held = open_idle(broker.addr(), n).await;
    println!(
        "holding {} idle connections (opened in {:?})",
        held.len(),
        started.elapsed()
    );

    // A normal client: negotiates, creates a topic, produces and fetches.
    let started = Instant::now();
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("busy", 1, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(version, "busy", vec![(0, valid_batch(5, 100).freeze())])
        .await;
    assert_eq!(results[0].1, code::NONE, "{results:?}");
    let (error, high_watermark, records) = client.fetch("busy", 0, 0).await;
    assert_eq!((error, high_watermark), (code::NONE, 5));
    assert!(!records.is_empty());
    println!(
        "a normal client served with {} idle connections open in {:?}",
        held.len(),
        started.elapsed()
    );
    assert_broker_serves(broker.addr()).await;
    drop(held);
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS line")
}

/// VmRSS once two readings 50 ms apart agree (at most 5 s of readings).
async fn steady_rss_kib(pid: u32) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = vm_rss_kib(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = vm_rss_kib(pid);
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// Prints the broker's resident memory per idle connection (measured, not asserted).
#[tokio::test(flavor = "multi_thread")]
async fn memory_per_idle_connection_of_a_weir_serve_process() {
    let _one_at_a_time = FD_HEAVY.lock().await;
    // Only the client end lives here; the broker process inherits the raised limit.
    let n = idle_target(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let broker = tokio::task::spawn_blocking(move || ProcessBroker::spawn(&path, &[]))
        .await
        .expect("spawn");
    let pid = broker.child.id();
    // Warm up: one connection's worth of runtime state, then measure from there.
    // Every connection has had its ApiVersions answer when `open_idle` returns; the figures
    // are read once the broker's resident memory is steady.
    let warm = open_idle(broker.addr, 10).await;
    let before = steady_rss_kib(pid).await;
    let held = open_idle(broker.addr, n).await;
    let after = steady_rss_kib(pid).await;
    let per = (after.saturating_sub(before) as f64 * 1024.0) / held.len() as f64;
    println!(
        "weir serve: VmRSS {before} KiB -> {after} KiB with {} idle connections: \
         {per:.0} bytes per idle connection",
        held.len()
    );
    assert_broker_serves(broker.addr).await;
    drop(held);
    drop(warm);
}

#[tokio::test(flavor = "multi_thread")]
async fn half_a_frame_then_silence_is_closed_after_idle_timeout_and_slows_no_one() {
    let broker = TestBroker::start_with(&[("connections.max.idle.ms", "800")]).await;
    // Half a frame: a length of 100, then 10 bytes, then nothing.
    let mut stalled = TcpStream::connect(broker.addr()).await.expect("connect");
    let mut half = 100i32.to_be_bytes().to_vec();
    half.extend_from_slice(&[0u8; 10]);
    send_raw(&mut stalled, &half).await;
    // A slow-loris: a frame trickled a byte at a time, each byte well inside the idle time.
    let mut trickle = TcpStream::connect(broker.addr()).await.expect("connect");
    let started = Instant::now();
    let trickler = tokio::spawn(async move {
        let frame = request_frame(&ApiVersionsRequest::default(), 0, 1);
        for byte in frame.iter().take(frame.len() - 1) {
            if trickle.write_all(&[*byte]).await.is_err() {
                return (trickle, true);
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        (trickle, false)
    });

    // Meanwhile another client is served as fast as ever.
    let mut client = RawClient::connect(broker.addr()).await;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(600) {
        let t = Instant::now();
        assert!(api_versions_ok(client.stream(), 7).await);
        slowest = slowest.max(t.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a stalled client slowed others: {slowest:?}"
    );

    expect_closed(&mut stalled, "half a frame, then silence").await;
    let closed_after = started.elapsed();
    assert!(
        closed_after >= Duration::from_millis(700),
        "closed before connections.max.idle.ms: {closed_after:?}"
    );
    let (mut trickle, _) = trickler.await.expect("trickler");
    expect_closed(&mut trickle, "a frame trickled a byte every 150 ms").await;
    println!(
        "stalled client closed after {closed_after:?} (idle limit 800 ms); slowest answer to \
         another client meanwhile {slowest:?}"
    );
    assert!(api_versions_ok(client.stream(), 8).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_is_disconnected_and_others_are_served() {
    let broker = TestBroker::start_with(&[("connections.max.idle.ms", "1000")]).await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("unread", 1, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    for _ in 0..8 {
        let results = client
            .produce(version, "unread", vec![(0, valid_batch(50, 1000).freeze())])
            .await;
        assert_eq!(results[0].1, code::NONE);
    }
    let fetch_version = client.version::<FetchRequest>(12);
    let metadata_version = client.version::<MetadataRequest>(9);

    // Small receive buffer, pipelined fetches of ~400 KB each and metadata, never read.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut hog = socket.connect(broker.addr()).await.expect("connect");
    let started = Instant::now();
    let hog_task = tokio::spawn(async move {
        let mut sent = 0usize;
        for i in 0..100_000 {
            let frame = if i % 2 == 0 {
                request_frame(&fetch_request("unread", 0, 0, 0, 1), fetch_version, i)
            } else {
                request_frame(
                    &MetadataRequest::default().with_topics(None),
                    metadata_version,
                    i,
                )
            };
            match timeout(Duration::from_secs(30), hog.write_all(&frame)).await {
                Ok(Ok(())) => sent += frame.len(),
                // Reset or broken pipe: the broker let go of us.
                Ok(Err(_)) => return (sent, true),
                Err(_) => return (sent, false),
            }
        }
        (sent, false)
    });

    // Others are served meanwhile.
    let mut slowest = Duration::ZERO;
    while !hog_task.is_finished() && started.elapsed() < Duration::from_secs(20) {
        let t = Instant::now();
        let (error, high_watermark, _) = client.fetch("unread", 0, 0).await;
        assert_eq!((error, high_watermark), (code::NONE, 400));
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (sent, disconnected) = timeout(Duration::from_secs(30), hog_task)
        .await
        .expect("the non-reading client was never disconnected")
        .expect("hog task");
    assert!(
        disconnected,
        "the non-reading client was never disconnected"
    );
    println!(
        "a client that never reads was disconnected after {:?} having sent {sent} bytes of \
         requests; slowest fetch of another client meanwhile {slowest:?}",
        started.elapsed()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "others slowed: {slowest:?}"
    );
    assert_broker_serves(broker.addr()).await;
}
