//! The compatibility matrix (issue 5): the same scenarios driven through every mainstream
//! client family against one weir broker, printed as a client x scenario table.
//!
//! Clients: rdkafka-rs (in process), kcat, confluent-kafka (Python), the Java client,
//! kafka-python, aiokafka and kafkajs — the external ones through small programs sharing one
//! command-line contract (`protocol-tests/python/compat_common.py` describes it). Scenarios:
//!
//! 1. metadata and auto-created topics; admin create/describe/delete topic;
//! 2. keyed and unkeyed records with headers and timestamps, equal keys on one partition (the
//!    client's default partitioner), read back in order by the same client;
//! 3. every codec the client writes, read back by every client that reads it (a cross matrix);
//! 4. a group of three members on six partitions: balance, exactly-once processing, a member
//!    leaving, a member dying (SIGKILL, session timeout), commit and resume;
//! 5. an idempotent producer with the client's other defaults;
//! 6. seek to the beginning, the end, an offset and a timestamp.
//!
//! One test runs every cell with bounded parallelism, prints the matrix (also written to
//! `target/compat-matrix.md`) and fails if any cell failed. A codec a client cannot write or
//! read is a gap only if [`CODEC_GAPS`] declares it; the matrix shows it as a gap, not a pass.

mod contract;
mod driver;
mod harness;
mod rdkafka_rs;
mod scenarios;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::support::broker::TestBroker;
use contract::{Ack, Rec, COUNT};
use driver::{Client, External, Info, Kcat, Kind};
use harness::CODECS;
use rdkafka_rs::RdkafkaRs;
use scenarios::Ctx;

/// Clients running their cells at the same time (2 cores; JVMs and librdkafka threads).
const PARALLEL: usize = 3;
/// Group scenarios at the same time (each runs three or four client processes).
const PARALLEL_GROUPS: usize = 2;

const SCENARIOS: [&str; 6] = [
    "1 metadata + admin",
    "2 produce + read back",
    "3 compression (cross)",
    "4 consumer group",
    "5 idempotent",
    "6 seek",
];

#[derive(Debug, Clone)]
enum Cell {
    Pass(Option<String>),
    /// A declared gap: the client lacks what the scenario checks (see [`CODEC_GAPS`]).
    Gap(String),
    Fail(String),
}

fn clients() -> Vec<Arc<dyn Client>> {
    let external = |name, kind| Arc::new(External { name, kind }) as Arc<dyn Client>;
    vec![
        Arc::new(RdkafkaRs),
        Arc::new(Kcat),
        external("confluent-kafka", Kind::Python("compat_confluent.py")),
        external("java", Kind::Java("CompatClient")),
        external("kafka-python", Kind::Python("compat_kafka_python.py")),
        external("aiokafka", Kind::Python("compat_aiokafka.py")),
        external("kafkajs", Kind::Node("compat_kafkajs.js")),
    ]
}

/// The codecs each client is known not to write and read, and why. The compression cell
/// fails when a client lacks a codec not listed here, and when a listed one works after all
/// (so the list stays true); a listed gap shows as `gap` in the matrix.
const CODEC_GAPS: &[(&str, &[&str], &str)] = &[(
    "kafkajs",
    &["snappy", "lz4", "zstd"],
    "kafkajs implements only gzip; snappy, lz4 and zstd need codec packages the application \
     registers (kafkajs docs, Producing Messages: Compression)",
)];

/// The declared codec gaps of `client` and the reason for them.
fn codec_gaps(client: &str) -> (Vec<&'static str>, &'static str) {
    CODEC_GAPS
        .iter()
        .find(|(name, _, _)| *name == client)
        .map_or((Vec::new(), ""), |(_, codecs, why)| (codecs.to_vec(), *why))
}

/// The compression cell's verdict on what `client` reported it supports, against
/// [`CODEC_GAPS`]: `None` when the codecs are all there.
fn codec_verdict(client: &str, supported: &[String]) -> Option<Cell> {
    let (gaps, why) = codec_gaps(client);
    let has = |codec: &str| supported.iter().any(|c| c == codec);
    let undeclared: Vec<&str> = CODECS
        .iter()
        .copied()
        .filter(|c| !has(c) && !gaps.contains(c))
        .collect();
    let working: Vec<&str> = gaps.iter().copied().filter(|c| has(c)).collect();
    if !undeclared.is_empty() {
        return Some(Cell::Fail(format!(
            "{client} lacks {}, which is not a declared gap (CODEC_GAPS)",
            undeclared.join(", ")
        )));
    }
    if !working.is_empty() {
        return Some(Cell::Fail(format!(
            "{client} now supports {}, declared a gap in CODEC_GAPS: remove it there",
            working.join(", ")
        )));
    }
    (!gaps.is_empty()).then(|| Cell::Gap(format!("{}: {why}", gaps.join(", "))))
}

#[test]
fn codec_gaps_must_be_declared_and_stay_true() {
    let list = |codecs: &[&str]| codecs.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert!(codec_verdict("java", &list(&CODECS)).is_none());
    assert!(matches!(
        codec_verdict("kafkajs", &list(&["none", "gzip"])),
        Some(Cell::Gap(_))
    ));
    // An undeclared gap, a declared gap that works, and a declared gap plus an undeclared one.
    for (client, codecs) in [
        ("java", &["none", "gzip", "snappy", "lz4"][..]),
        ("kafkajs", &["none", "gzip", "snappy"][..]),
        ("kafkajs", &["none"][..]),
    ] {
        assert!(
            matches!(codec_verdict(client, &list(codecs)), Some(Cell::Fail(_))),
            "{client} {codecs:?}"
        );
    }
}

/// Runs a blocking step on the blocking pool; a panic becomes `Err(message)`.
async fn step<T, F>(f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            Err(payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".to_string()))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn to_cell(result: Result<Option<String>, String>) -> Cell {
    match result {
        Ok(note) => Cell::Pass(note),
        Err(e) => Cell::Fail(e),
    }
}

/// Runs `work(i)` for every client index, at most `limit` at a time, in client order.
async fn each<T, F, Fut>(n: usize, limit: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit));
    let mut handles = Vec::new();
    for i in 0..n {
        let permits = permits.clone();
        let fut = work(i);
        handles.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore");
            fut.await
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("client task"));
    }
    out
}

struct First {
    info: Result<Info, String>,
    topics: Cell,
    produced: Result<Option<Vec<Ack>>, String>,
    idempotent: Cell,
    seek: Cell,
}

async fn first_phase(client: Arc<dyn Client>, ctx: Ctx) -> First {
    let c = client.clone();
    let info = step(move || c.info()).await;
    let (c, x) = (client.clone(), ctx.clone());
    let topics = to_cell(step(move || scenarios::topics(&*c, &x)).await);
    let produced = match &info {
        Ok(info) => {
            let (c, x, codecs) = (client.clone(), ctx.clone(), info.codecs.clone());
            step(move || scenarios::produce(&*c, &x, &codecs)).await
        }
        Err(e) => Err(format!("info failed: {e}")),
    };
    let idempotent = match &produced {
        Ok(acks) => {
            let (c, x, acks) = (client.clone(), ctx.clone(), acks.clone());
            to_cell(
                step(move || {
                    scenarios::idempotent(&*c, &x, acks.as_deref());
                    None
                })
                .await,
            )
        }
        Err(e) => Cell::Fail(format!("produce failed: {e}")),
    };
    let (c, x) = (client.clone(), ctx.clone());
    let seek = to_cell(step(move || scenarios::seek(&*c, &x)).await);
    First {
        info,
        topics,
        produced,
        idempotent,
        seek,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compatibility_matrix() {
    let started = Instant::now();
    let broker = TestBroker::start_with(&[
        ("num.partitions", "3"),
        ("auto.create.topics.enable", "true"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "1000"),
    ])
    .await;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let ctx = Ctx {
        bootstrap: broker.bootstrap(),
        addr: broker.addr(),
        // A whole second a minute ago: every produced timestamp is recent but not in the future.
        ts_base: (now_ms - 60_000) / 1000 * 1000,
    };
    let clients = clients();
    let n = clients.len();

    // Phase 1: metadata/admin, produce every codec (+ idempotent), seek.
    let first: Vec<First> = each(n, PARALLEL, |i| {
        first_phase(clients[i].clone(), ctx.clone())
    })
    .await;
    let codecs: Vec<Vec<String>> = first
        .iter()
        .map(|f| {
            f.info
                .as_ref()
                .map(|i| i.codecs.clone())
                .unwrap_or_default()
        })
        .collect();
    let phase1 = started.elapsed();

    // Phase 2: every client reads every topic written with a codec it reads.
    let consumed: Vec<Result<Vec<Rec>, String>> = each(n, PARALLEL, |i| {
        let mut topics = Vec::new();
        for (p, producer) in clients.iter().enumerate() {
            if first[p].produced.is_err() {
                continue;
            }
            for codec in codecs[p].iter().filter(|c| codecs[i].contains(c)) {
                topics.push((scenarios::codec_topic(&**producer, codec), COUNT));
            }
        }
        let (c, x) = (clients[i].clone(), ctx.clone());
        async move {
            if topics.is_empty() {
                return Err("no topics to read".to_string());
            }
            step(move || c.consume(&x.bootstrap, &topics)).await
        }
    })
    .await;
    let phase2 = started.elapsed();

    // Phase 3: consumer groups.
    let groups: Vec<Cell> = each(n, PARALLEL_GROUPS, |i| {
        let (c, x) = (clients[i].clone(), ctx.clone());
        async move {
            to_cell(
                step(move || {
                    scenarios::group(&*c, &x);
                    None
                })
                .await,
            )
        }
    })
    .await;
    let phase3 = started.elapsed();

    // The cross matrix: (producer, codec) x consumer.
    let mut cross: BTreeMap<(usize, String, usize), Cell> = BTreeMap::new();
    for (p, producer) in clients.iter().enumerate() {
        for codec in &codecs[p] {
            for (c, consumer) in clients.iter().enumerate() {
                let cell = if !codecs[c].contains(codec) {
                    Cell::Gap(format!("{} does not read {codec}", consumer.name()))
                } else {
                    match (&first[p].produced, &consumed[c]) {
                        (Err(_), _) => Cell::Fail(format!("{} produce failed", producer.name())),
                        (_, Err(e)) => {
                            Cell::Fail(format!("{} consume failed: {e}", consumer.name()))
                        }
                        (Ok(acks), Ok(recs)) => to_cell(
                            contract::verify(
                                &scenarios::codec_topic(&**producer, codec),
                                producer.name(),
                                producer.caps(),
                                ctx.ts_base,
                                acks.as_deref(),
                                recs,
                            )
                            .map(|()| None),
                        ),
                    }
                };
                cross.insert((p, codec.clone(), c), cell);
            }
        }
    }

    // The client x scenario matrix.
    let mut rows: Vec<[Cell; 6]> = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let f = &first[i];
        let same = match cross.get(&(i, "none".to_string(), i)) {
            Some(Cell::Pass(_)) if client.caps().timestamps => Cell::Pass(None),
            Some(Cell::Pass(_)) => Cell::Pass(Some(
                "kcat -P takes keys, but headers only for all records (-H) and no timestamps: \
                 per-record headers and timestamps not checked"
                    .to_string(),
            )),
            Some(other) => other.clone(),
            None => match &f.produced {
                Err(e) => Cell::Fail(format!("produce failed: {e}")),
                Ok(_) => Cell::Fail("no read-back result".to_string()),
            },
        };
        let mut failures = Vec::new();
        for ((p, codec, c), cell) in &cross {
            if (*p == i || *c == i) && matches!(cell, Cell::Fail(_)) {
                if let Cell::Fail(e) = cell {
                    failures.push(format!(
                        "{} {codec} -> {}: {e}",
                        clients[*p].name(),
                        clients[*c].name()
                    ));
                }
            }
        }
        let compression = if let Err(e) = &f.produced {
            Cell::Fail(format!("produce failed: {e}"))
        } else if !failures.is_empty() {
            Cell::Fail(failures.join("; "))
        } else {
            codec_verdict(client.name(), &codecs[i]).unwrap_or(Cell::Pass(None))
        };
        rows.push([
            f.topics.clone(),
            same,
            compression,
            groups[i].clone(),
            f.idempotent.clone(),
            f.seek.clone(),
        ]);
    }

    let report = render(&clients, &first, &cross, &rows);
    let timing = format!(
        "compat run: phase 1 (metadata, produce, idempotent, seek) {:.0} s, phase 2 (cross reads) {:.0} s, phase 3 (groups) {:.0} s\n",
        phase1.as_secs_f64(),
        (phase2 - phase1).as_secs_f64(),
        (phase3 - phase2).as_secs_f64()
    );
    // Straight to the process's stderr: the test harness captures print!, not this.
    let _ = std::io::stderr().write_all(format!("\n{report}\n{timing}").as_bytes());
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(target.join("compat-matrix.md"), &report);

    let mut failed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        for (s, cell) in row.iter().enumerate() {
            if let Cell::Fail(e) = cell {
                failed.push(format!("{} / {}: {e}", clients[i].name(), SCENARIOS[s]));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} compatibility cells failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    drop(broker);
}

fn render(
    clients: &[Arc<dyn Client>],
    first: &[First],
    cross: &BTreeMap<(usize, String, usize), Cell>,
    rows: &[[Cell; 6]],
) -> String {
    let mut notes: Vec<String> = Vec::new();
    let mut mark = |cell: &Cell| -> String {
        let (word, note) = match cell {
            Cell::Pass(None) => return "pass".to_string(),
            Cell::Pass(Some(n)) => ("pass", n),
            Cell::Gap(n) => ("gap", n),
            Cell::Fail(n) => ("**FAIL**", n),
        };
        let first_line = note.lines().next().unwrap_or_default();
        let short: String = first_line.chars().take(300).collect();
        let k = match notes.iter().position(|x| *x == short) {
            Some(k) => k + 1,
            None => {
                notes.push(short);
                notes.len()
            }
        };
        format!("{word} [{k}]")
    };
    let mut out = String::new();
    out.push_str("### Client x scenario\n\n| client | version | ");
    out.push_str(&SCENARIOS.join(" | "));
    out.push_str(" |\n|---|---|");
    out.push_str(&"---|".repeat(SCENARIOS.len()));
    out.push('\n');
    for (i, client) in clients.iter().enumerate() {
        let version = match &first[i].info {
            Ok(info) => info.version.clone(),
            Err(_) => "?".to_string(),
        };
        let cells: Vec<String> = rows[i].iter().map(&mut mark).collect();
        let _ = writeln!(
            out,
            "| {} | {version} | {} |",
            client.name(),
            cells.join(" | ")
        );
    }
    out.push_str("\n### Compression: producer x codec -> consumer\n\n| producer | codec | ");
    let names: Vec<&str> = clients.iter().map(|c| c.name()).collect();
    out.push_str(&names.join(" | "));
    out.push_str(" |\n|---|---|");
    out.push_str(&"---|".repeat(names.len()));
    out.push('\n');
    for (p, client) in clients.iter().enumerate() {
        for codec in CODECS {
            let cells: Vec<String> = (0..clients.len())
                .map(|c| match cross.get(&(p, codec.to_string(), c)) {
                    // The producer does not write this codec.
                    None => "gap".to_string(),
                    Some(Cell::Pass(_)) => "pass".to_string(),
                    Some(Cell::Gap(_)) => "gap".to_string(),
                    Some(other) => mark(other),
                })
                .collect();
            let _ = writeln!(
                out,
                "| {} | {codec} | {} |",
                client.name(),
                cells.join(" | ")
            );
        }
    }
    if !notes.is_empty() {
        out.push_str("\nNotes:\n\n");
        for (k, note) in notes.iter().enumerate() {
            let _ = writeln!(out, "{}. {note}", k + 1);
        }
    }
    let mut details = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (s, cell) in row.iter().enumerate() {
            if let Cell::Fail(e) = cell {
                let _ = writeln!(
                    details,
                    "\n--- {} / {} ---\n{e}",
                    clients[i].name(),
                    SCENARIOS[s]
                );
            }
        }
    }
    if !details.is_empty() {
        out.push_str("\nFailures in full:\n");
        out.push_str(&details);
    }
    out
}
