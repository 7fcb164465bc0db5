//! Reading a broker's admin HTTP endpoints over plain TCP (no HTTP client library).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

/// `GET path` over plain TCP (one HTTP/1.1 request, then the server closes); returns (status
/// line, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    http_request(addr, "GET", path).await
}

/// One `method path` request with an empty body; returns (status line, body).
pub async fn http_request(addr: SocketAddr, method: &str, path: &str) -> (String, String) {
    http_send(addr, method, path, "").await
}

/// One `method path` request with a JSON `body`; returns (status line, body).
pub async fn http_send(addr: SocketAddr, method: &str, path: &str, body: &str) -> (String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect to metrics");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read response");
        raw
    };
    let raw = timeout(WAIT, exchange).await.expect("scrape timed out");
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP head and body");
    let status = head.lines().next().unwrap_or("").to_string();
    (status, body.to_string())
}

/// Scrapes `/metrics` and returns every sample as `name{labels}` -> value.
pub async fn scrape(addr: SocketAddr) -> BTreeMap<String, f64> {
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert!(
        body.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("sample line");
            (name.to_string(), value.parse().expect("numeric sample"))
        })
        .collect()
}
