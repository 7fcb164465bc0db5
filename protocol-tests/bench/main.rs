//! `cargo bench --bench broker [-- --quick]`: weir driven by librdkafka over loopback.
//!
//! Every workload starts its own `weir serve` process (release build, fresh data folder), so
//! the broker's CPU time (`/proc/<pid>/task/*/schedstat`) and memory (`/proc/<pid>/status`)
//! are its own, not the clients'. Clients run in this process on the same machine. Figures are
//! printed as one table; MB is 10^6 bytes of record payload.
//!
//! Workloads: 1 and 16 partitions; 100 B and 1 KiB records; acks=1 and acks=-1 (with and
//! without `log.flush.interval.messages=1`, fsync before every acknowledgement); 1 and 8
//! producers; a group of 4 consumers reading 16 partitions. Producers use linger.ms=5, 1 MB
//! batches (`batch.size`, `batch.num.messages`), no compression. Then the latency probes at a
//! fixed low rate (100 B, linger.ms=0, acks=1), and cold starts.
//!
//! `--quick` runs a reduced set once each (under two minutes); without it every workload runs
//! three times and the median is reported. `--only throughput|reference|latency|start|groups|
//! security|testdouble|txn|<text>` runs one part (`<text>`: the workloads whose name contains it);
//! `groups` is the consumer-group figures (groups.rs); `security` (see `security.rs`) compares
//! TLS and SASL_SSL with plaintext on one broker; `testdouble` (`testdouble.rs`): ephemeral
//! starts to the first ApiVersions answer (binary and in-process), reset time, and the idle
//! control plane's cost on produce throughput; `txn` (`txn.rs`): transactional produce and
//! read_committed fetch as ratios of idempotent produce and read_uncommitted fetch, and
//! commit latency.
//!
//! Environment: `WEIR_BENCH_BIN=<path>` runs another `weir` build (before/after comparisons);
//! `WEIR_BENCH_PERF=<folder>` attaches `perf record` to each broker and leaves its profile
//! there; `WEIR_BENCH_SCALE=<n>` multiplies the record counts (longer runs for profiling);
//! `WEIR_BENCH_COMPRESSION=<codec>` sets the producers' `compression.type` (default none).

mod clients;
mod compaction;
mod groups;
mod process;
mod security;
mod testdouble;
mod txn;

use std::time::{Duration, Instant};

use clients::{Consumed, ProduceSpec};
use process::BrokerProcess;

#[derive(Clone, Copy)]
enum Readers {
    /// One consumer assigned every partition.
    Assigned,
    /// A consumer group of this many members.
    Group(usize),
}

#[derive(Clone, Copy)]
struct Workload {
    partitions: i32,
    produce: ProduceSpec,
    fsync: bool,
    readers: Readers,
}

impl Workload {
    fn name(&self) -> String {
        let p = &self.produce;
        let size = if p.record_size >= 1024 {
            format!("{} KiB", p.record_size / 1024)
        } else {
            format!("{} B", p.record_size)
        };
        let mut name = format!(
            "{} x {size}, {}p, acks={}",
            p.records, self.partitions, p.acks
        );
        if self.fsync {
            name.push_str(" +fsync");
        }
        if p.producers > 1 {
            name.push_str(&format!(", {} producers", p.producers));
        }
        if let Readers::Group(n) = self.readers {
            name.push_str(&format!(", group of {n}"));
        }
        name
    }
}

fn workload(
    records: u64,
    record_size: usize,
    partitions: i32,
    acks: i32,
    fsync: bool,
    producers: usize,
    readers: Readers,
) -> Workload {
    Workload {
        partitions,
        produce: ProduceSpec {
            records,
            record_size,
            acks,
            producers,
        },
        fsync,
        readers,
    }
}

fn workloads(quick: bool) -> Vec<Workload> {
    use Readers::{Assigned, Group};
    let (small, fsync_count) = if quick {
        (500_000, 50_000)
    } else {
        (2_000_000, 200_000)
    };
    let mut list = vec![
        // The reference workload.
        workload(200_000, 1024, 1, 1, false, 1, Assigned),
        workload(small, 100, 1, 1, false, 1, Assigned),
        workload(200_000, 1024, 16, 1, false, 1, Assigned),
        workload(200_000, 1024, 1, -1, false, 1, Assigned),
        workload(fsync_count, 1024, 1, -1, true, 1, Assigned),
        workload(200_000, 1024, 16, 1, false, 8, Assigned),
        workload(200_000, 1024, 16, 1, false, 1, Group(4)),
    ];
    if !quick {
        list.extend([
            workload(small, 100, 16, 1, false, 1, Assigned),
            workload(small, 100, 1, -1, false, 1, Assigned),
            workload(fsync_count, 1024, 1, 1, true, 1, Assigned),
            workload(small / 2, 100, 1, -1, true, 1, Assigned),
            workload(200_000, 1024, 1, 1, false, 8, Assigned),
            workload(small, 100, 16, 1, false, 8, Assigned),
        ]);
    }
    list
}

/// Figures from one run of a workload.
#[derive(Clone, Copy, Default)]
struct Run {
    produce_secs: f64,
    consume_secs: f64,
    consumed_bytes: u64,
    cpu_produce: f64,
    cpu_consume: f64,
    peak_kib: u64,
    group_ready: Option<Duration>,
}

/// Rebalance delay for the group workload: all four members join within it, so one
/// rebalance round assigns every partition.
const GROUP_DELAY_MS: u32 = 1000;

fn run(w: &Workload) -> Run {
    let mut settings = Vec::new();
    if w.fsync {
        settings.push("log.flush.interval.messages=1".to_string());
    }
    settings.push(format!("group.initial.rebalance.delay.ms={GROUP_DELAY_MS}"));
    let broker = BrokerProcess::start(&settings);
    let topic = "bench";
    clients::create_topic(&broker.addr, topic, w.partitions);

    let cpu0 = broker.cpu_seconds();
    let produced = clients::produce(&broker.addr, topic, w.produce);
    let cpu1 = broker.cpu_seconds();
    let records = w.produce.records;
    let consumed: Consumed = match w.readers {
        Readers::Assigned => clients::consume_assigned(&broker.addr, topic, w.partitions, records),
        Readers::Group(n) => clients::consume_group(&broker.addr, topic, n, records),
    };
    let cpu2 = broker.cpu_seconds();
    let memory = broker.memory();
    broker.stop();
    Run {
        produce_secs: produced.as_secs_f64(),
        consume_secs: consumed.elapsed.as_secs_f64(),
        consumed_bytes: consumed.bytes,
        cpu_produce: cpu1 - cpu0,
        cpu_consume: cpu2 - cpu1,
        peak_kib: memory.peak_kib,
        group_ready: consumed.group_ready,
    }
}

/// The cleaner I/O cap of the compaction bench's second configuration.
const CLEANER_CAP: u64 = 100_000_000;

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only throughput|reference|latency|start|<text>` runs one part (for profiling and
    // checks): `reference` is the first workload alone, `<text>` the workloads named with it.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let part = |name: &str| only.is_none() || only.as_deref() == Some(name);
    let repeats = if quick { 1 } else { 3 };
    let began = Instant::now();
    let load_before = load();
    let mb = |bytes: f64| bytes / 1e6;

    let mut rows = Vec::new();
    let mut group_ready = None;
    let mut list = workloads(quick);
    // WEIR_BENCH_SCALE=N multiplies record counts (longer runs for profiling).
    let scale: u64 = std::env::var("WEIR_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for w in &mut list {
        w.produce.records *= scale;
    }
    match only.as_deref() {
        None | Some("throughput") => {}
        Some("reference") => list.truncate(1),
        Some("latency" | "start" | "groups" | "security" | "testdouble" | "compaction" | "txn") => {
            list.clear()
        }
        // Anything else picks the workloads whose name contains it.
        Some(filter) => list.retain(|w| w.name().contains(filter)),
    }
    for w in list {
        eprintln!("running {} ({repeats}x)", w.name());
        let runs: Vec<Run> = (0..repeats).map(|_| run(&w)).collect();
        let payload = (w.produce.records * w.produce.record_size as u64) as f64;
        let pick = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let produce_secs = pick(&|r| r.produce_secs);
        let consume_secs = pick(&|r| r.consume_secs);
        let consumed = pick(&|r| r.consumed_bytes as f64);
        if let Some(ready) = runs.iter().filter_map(|r| r.group_ready).max() {
            group_ready = Some(ready);
        }
        rows.push(format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.1} |",
            w.name(),
            mb(payload) / produce_secs,
            w.produce.records as f64 / produce_secs,
            mb(consumed) / consume_secs,
            w.produce.records as f64 / consume_secs,
            pick(&|r| r.cpu_produce) / (payload / 1e9),
            pick(&|r| r.cpu_consume) / (consumed / 1e9),
            runs.iter().map(|r| r.peak_kib).max().unwrap_or(0) as f64 / 1024.0,
        ));
    }

    let (count, warmup) = if quick { (2_000, 200) } else { (10_000, 500) };
    let rate = 1_000;
    let (mut acks, mut e2e) = (Vec::new(), Vec::new());
    if part("latency") {
        eprintln!("running latency probes");
        let broker = BrokerProcess::start(&[]);
        clients::create_topic(&broker.addr, "acks", 1);
        acks = clients::paced_produce(&broker.addr, "acks", count, warmup, rate, 100, &|_, _| {});
        acks.sort();
        clients::create_topic(&broker.addr, "e2e", 1);
        e2e = clients::end_to_end(&broker.addr, "e2e", count, warmup, rate);
        e2e.sort();
        broker.stop();
    }

    let starts: Vec<_> = if part("start") {
        eprintln!("running cold starts");
        (0..if quick { 5 } else { 11 })
            .map(|_| process::cold_start())
            .collect()
    } else {
        Vec::new()
    };
    let start_ms = median(
        starts
            .iter()
            .map(|s| s.first_answer.as_secs_f64() * 1e3)
            .collect(),
    );
    let idle_mib = median(
        starts
            .iter()
            .map(|s| s.idle.rss_kib as f64 / 1024.0)
            .collect(),
    );

    let group_rows = if part("groups") {
        groups::run(repeats)
    } else {
        Vec::new()
    };
    let security_rows = if part("security") {
        security::run(quick)
    } else {
        Vec::new()
    };
    let compacted = (only.as_deref() == Some("compaction")).then(|| {
        let records = if quick { 100_000 } else { 300_000 };
        eprintln!("running the log cleaner");
        let free = compaction::run(records, None);
        eprintln!("running the log cleaner capped at {CLEANER_CAP} bytes/s");
        (free, compaction::run(records, Some(CLEANER_CAP)))
    });
    let txn_rows = if part("txn") {
        txn::run(quick)
    } else {
        Vec::new()
    };
    let double_rows = if part("testdouble") {
        testdouble::run(quick, workloads(true)[0].produce)
    } else {
        Vec::new()
    };

    let model = cpu_model();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "weir {} ({}) on {cores} cores, {model}; load average before {load_before}, after {}; {:.0} s",
        env!("CARGO_PKG_VERSION"),
        if quick { "--quick, 1 run each" } else { "median of 3 runs" },
        load(),
        began.elapsed().as_secs_f64()
    );
    println!();
    println!("| workload | produce MB/s | produce rec/s | consume MB/s | consume rec/s | broker CPU s/GB in | broker CPU s/GB out | broker peak RSS MiB |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in &rows {
        println!("{row}");
    }
    if !acks.is_empty() {
        println!(
            "| produce ack latency, 100 B at {rate}/s, linger.ms=0, acks=1 (n={}) | p50 {:.3} ms | p99 {:.3} ms | p99.9 {:.3} ms | | | | |",
            acks.len(),
            percentile(&acks, 0.50),
            percentile(&acks, 0.99),
            percentile(&acks, 0.999)
        );
        println!(
            "| end-to-end latency produce -> consume, same load (n={}) | p50 {:.3} ms | p99 {:.3} ms | | | | | |",
            e2e.len(),
            percentile(&e2e, 0.50),
            percentile(&e2e, 0.99)
        );
    }
    if let Some((c, capped)) = &compacted {
        println!(
            "| log cleaner: {:.0} MB of 1 KiB records, 10% live keys, one pass | {:.0} MB/s cleaned | | | | | | |",
            c.dirty_mb,
            c.dirty_mb / c.clean_secs
        );
        println!(
            "| broker RSS before the pass / peak during it (dedupe buffer {:.0} MiB) | {:.1} / {:.1} MiB | | | | | | |",
            c.dedupe_mib, c.rss_before_mib, c.rss_peak_cleaning_mib
        );
        for (c, label) in [
            (c, "uncapped".to_string()),
            (
                capped,
                format!("log.cleaner.io.max.bytes.per.second={CLEANER_CAP}"),
            ),
        ] {
            println!(
                "| produce 1 KiB, acks=1, while a pass runs vs idle (same broker, median of 5 pairs), cleaner {label} | {:.0} vs {:.0} MB/s | ratio {:.2}{} | | | | | |",
                c.produce_while_cleaning,
                c.produce_idle,
                c.produce_ratio,
                if c.overlapped {
                    ""
                } else {
                    " (a pass ended before its producer did)"
                }
            );
        }
    }
    if !starts.is_empty() {
        println!(
            "| start to first ApiVersions answer (median of {}) | {start_ms:.1} ms | | | | | | |",
            starts.len()
        );
        println!("| broker idle RSS after start | {idle_mib:.1} MiB | | | | | | |");
    }
    if let Some(ready) = group_ready {
        println!(
            "| group of 4 ready (subscribe to every member fetching; rebalance delay {GROUP_DELAY_MS} ms) | {:.0} ms | | | | | | |",
            ready.as_secs_f64() * 1e3
        );
    }
    if !group_rows.is_empty() {
        println!();
        println!("| consumer groups (raw-protocol members) | consumer protocol (KIP-848) | classic protocol, Kafka defaults | classic / consumer |");
        println!("| --- | ---: | ---: | ---: |");
        for row in &group_rows {
            println!("{row}");
        }
    }
    if !security_rows.is_empty() {
        println!();
        println!("| security (same broker, same run) | PLAINTEXT | SSL | SASL_SSL SCRAM-SHA-512 |");
        println!("| --- | ---: | ---: | ---: |");
        for row in &security_rows {
            println!("{row}");
        }
    }
    if !txn_rows.is_empty() {
        println!();
        println!("| transactions (same broker, same run) | baseline | transactional | ratio |");
        println!("| --- | ---: | ---: | ---: |");
        for row in &txn_rows {
            println!("{row}");
        }
    }
    if !double_rows.is_empty() {
        println!();
        println!("| test double | result |");
        println!("| --- | --- |");
        for row in &double_rows {
            println!("{row}");
        }
    }
}
