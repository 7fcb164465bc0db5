//! weir as a test double: how soon a harness can use a fresh broker (the binary with
//! `--ephemeral --control --ready-file`, and one started in-process), how long a reset takes,
//! and what an idle control plane (enabled, no rule, capture off) costs produce throughput,
//! as a ratio to the same workload without it, measured in the same run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::clients::{self, ProduceSpec};
use crate::process::{api_versions_v0, BrokerProcess};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The test-double rows of the figures table; `spec` is the reference produce workload.
pub fn run(quick: bool, spec: ProduceSpec) -> Vec<String> {
    eprintln!("running test-double figures");
    let n = if quick { 5 } else { 11 };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let binary = median((0..n).map(|_| ms(binary_start())).collect());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let in_process = median((0..n).map(|_| ms(in_process_start(&runtime))).collect());
    let reset = median(resets(&runtime, 10, n).into_iter().map(ms).collect());
    drop(runtime);
    // The same workload with and without the control plane, interleaved so drift in the
    // machine's load hits both alike.
    let pairs = if quick { 3 } else { 7 };
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        off.push(produce_secs(&[], spec));
        on.push(produce_secs(&control_settings(), spec));
    }
    let payload = (spec.records * spec.record_size as u64) as f64 / 1e6;
    let (off_mbs, on_mbs) = (payload / median(off), payload / median(on));
    vec![
        format!("| `weir serve --ephemeral --control --ready-file` spawn to first ApiVersions answer (median of {n}) | {binary:.1} ms |"),
        format!("| in-process `Broker::builder().ephemeral().control().start()` to first ApiVersions answer (median of {n}) | {in_process:.1} ms |"),
        format!("| reset: 10 topics x 4 partitions with records, 3 groups with offsets (median of {n}) | {reset:.1} ms |"),
        format!(
            "| produce {} x {} B, 1p, acks={}: control plane off / on and idle (median of {pairs} each, interleaved) | {off_mbs:.0} / {on_mbs:.0} MB/s, ratio {:.3} |",
            spec.records,
            spec.record_size,
            spec.acks,
            on_mbs / off_mbs
        ),
    ]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Spawn of `weir serve --ephemeral --control ... --ready-file F` to the first ApiVersions
/// answer, reading the Kafka address from the ready file as a harness does.
pub fn binary_start() -> Duration {
    let dir = tempfile::tempdir().expect("temp folder");
    let ready = dir.path().join("ready.json");
    let mut cmd = Command::new(
        std::env::var_os("WEIR_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_weir").into()),
    );
    cmd.args([
        "serve",
        "--ephemeral",
        "--control",
        "--listen",
        "127.0.0.1:0",
    ])
    .args(["--admin-listen", "127.0.0.1:0", "--ready-file"])
    .arg(&ready)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WEIR_") {
            cmd.env_remove(name);
        }
    }
    let began = Instant::now();
    let mut child = cmd.spawn().expect("start weir");
    let addr = loop {
        assert!(began.elapsed() < START_TIMEOUT, "no ready file");
        if let Some(addr) = kafka_addr(&ready) {
            break addr;
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    while api_versions_v0(&addr).is_none() {
        assert!(began.elapsed() < START_TIMEOUT, "no ApiVersions answer");
    }
    let took = began.elapsed();
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let _ = child.wait();
    took
}

fn kafka_addr(ready: &Path) -> Option<String> {
    let text = std::fs::read_to_string(ready).ok()?;
    let line: serde_json::Value = serde_json::from_str(&text).ok()?;
    line["kafka"].as_str().map(str::to_string)
}

/// `Broker::builder()...ephemeral().control().start()` to the first ApiVersions answer, in
/// this process.
pub fn in_process_start(runtime: &tokio::runtime::Runtime) -> Duration {
    let began = Instant::now();
    let broker = runtime.block_on(async {
        weir::Broker::builder()
            .listen("127.0.0.1:0")
            .ephemeral()
            .control()
            .start()
            .await
            .expect("broker starts")
    });
    let addr = broker.addr().to_string();
    while api_versions_v0(&addr).is_none() {
        assert!(began.elapsed() < START_TIMEOUT, "no ApiVersions answer");
    }
    let took = began.elapsed();
    runtime.block_on(broker.shutdown());
    took
}

/// Reset of a broker holding `topics` topics of 4 partitions (10 records in each partition)
/// and 3 groups with committed offsets; returns the wall time of each of `runs` resets.
pub fn resets(runtime: &tokio::runtime::Runtime, topics: usize, runs: usize) -> Vec<Duration> {
    let broker = runtime.block_on(async {
        weir::Broker::builder()
            .listen("127.0.0.1:0")
            .ephemeral()
            .control()
            .start()
            .await
            .expect("broker starts")
    });
    let control = broker.control().expect("control plane");
    let addr = broker.addr().to_string();
    let mut took = Vec::new();
    for _ in 0..runs {
        let names: Vec<String> = (0..topics).map(|t| format!("t{t}")).collect();
        for name in &names {
            clients::create_topic(&addr, name, 4);
            clients::produce(
                &addr,
                name,
                ProduceSpec {
                    records: 40,
                    record_size: 100,
                    acks: 1,
                    producers: 1,
                },
            );
        }
        for g in 0..3 {
            commit(&addr, &format!("g{g}"), &names[0]);
        }
        let began = Instant::now();
        let report = runtime.block_on(control.reset()).expect("reset");
        took.push(began.elapsed());
        assert_eq!(
            (report.topics_deleted, report.groups),
            (topics, 3),
            "{report:?}"
        );
    }
    runtime.block_on(broker.shutdown());
    took
}

fn commit(bootstrap: &str, group: &str, topic: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    for p in 0..4 {
        offsets
            .add_partition_offset(topic, p, Offset::Offset(5))
            .expect("offset");
    }
    consumer.commit(&offsets, CommitMode::Sync).expect("commit");
}

/// Produce seconds for the reference produce workload on a `weir serve` with `settings`.
pub fn produce_secs(settings: &[String], spec: ProduceSpec) -> f64 {
    let broker = BrokerProcess::start(settings);
    clients::create_topic(&broker.addr, "bench", 1);
    let took = clients::produce(&broker.addr, "bench", spec);
    broker.stop();
    took.as_secs_f64()
}

/// The control plane enabled and idle (no rule, capture off), as `weir serve --control`.
pub fn control_settings() -> Vec<String> {
    vec![
        "control.enable=true".to_string(),
        "admin.listen=127.0.0.1:0".to_string(),
    ]
}
