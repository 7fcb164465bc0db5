//! The cleaner's per-partition figures, read from weir's admin HTTP listener (`GET /metrics`):
//! Kafka's protocol has no request for them. A plain HTTP/1.0 GET; only the two metric
//! families `weir topic describe` shows are parsed from the OpenMetrics text.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::CliError;

/// By (topic, partition).
#[derive(Default)]
pub struct CleanerFigures {
    pub dirty_ratio: HashMap<(String, i32), f64>,
    pub last_cleaned_ms: HashMap<(String, i32), i64>,
}

/// The body of `GET /metrics` is at most this large.
const MAX_BODY: u64 = 64 << 20;

pub async fn fetch(addr: &str, timeout_s: f64) -> Result<CleanerFigures, CliError> {
    let timeout = Duration::try_from_secs_f64(timeout_s).unwrap_or(Duration::from_secs(10));
    let unreachable = |e: &dyn std::fmt::Display| {
        CliError::Usage(format!("--admin {addr}: cannot read /metrics: {e}"))
    };
    let text = tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut body = Vec::new();
        stream.take(MAX_BODY).read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&body).into_owned())
    })
    .await
    .map_err(|e| unreachable(&e))?
    .map_err(|e| unreachable(&e))?;
    if !text.starts_with("HTTP/1.1 200") && !text.starts_with("HTTP/1.0 200") {
        let status = text.lines().next().unwrap_or_default().to_string();
        return Err(unreachable(&status));
    }
    Ok(parse(&text))
}

fn parse(text: &str) -> CleanerFigures {
    let mut out = CleanerFigures::default();
    for line in text.lines() {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let label = |key: &str| {
            labels.split(',').find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_string())
            })
        };
        let (Some(topic), Some(partition)) = (label("topic"), label("partition")) else {
            continue;
        };
        let Ok(partition) = partition.parse::<i32>() else {
            continue;
        };
        let value = value.split_whitespace().next().unwrap_or_default();
        match name {
            "weir_log_cleaner_dirty_ratio" => {
                if let Ok(v) = value.parse() {
                    out.dirty_ratio.insert((topic, partition), v);
                }
            }
            "weir_log_cleaner_last_clean_timestamp_ms" => {
                if let Ok(v) = value.parse() {
                    out.last_cleaned_ms.insert((topic, partition), v);
                }
            }
            _ => {}
        }
    }
    out
}

/// `ms` since the epoch as an RFC 3339 UTC time.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_two_families() {
        let text = "HTTP/1.1 200 OK\r\n\r\n# TYPE weir_log_cleaner_dirty_ratio gauge\n\
            weir_log_cleaner_dirty_ratio{topic=\"t\",partition=\"2\"} 0.25\n\
            weir_log_cleaner_last_clean_timestamp_ms{topic=\"t\",partition=\"2\"} 1700000000000\n\
            weir_log_size_bytes{topic=\"t\"} 9\n";
        let f = super::parse(text);
        assert_eq!(f.dirty_ratio.get(&("t".into(), 2)), Some(&0.25));
        assert_eq!(
            f.last_cleaned_ms.get(&("t".into(), 2)),
            Some(&1_700_000_000_000)
        );
        assert_eq!(super::timestamp(0), "1970-01-01T00:00:00.000Z");
    }
}
