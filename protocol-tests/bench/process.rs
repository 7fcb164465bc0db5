//! The broker under test as a separate `weir serve` process, so its CPU time and memory are
//! its own: started on a fresh data folder, read from `/proc/<pid>`, stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::ApiVersionsRequest;
use weir::client::wire;

/// The release binary cargo built for this bench, unless `WEIR_BENCH_BIN` names another
/// (to compare builds).
fn weir_binary() -> std::ffi::OsString {
    std::env::var_os("WEIR_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_weir").into())
}
const READY: &str = "broker ready addr=";
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct BrokerProcess {
    child: Child,
    pub addr: String,
    /// Every listener's address by name (`PLAINTEXT`, `SSL`, ...).
    pub listeners: std::collections::HashMap<String, String>,
    /// `perf record` attached to the broker when `WEIR_BENCH_PERF=<folder>` is set.
    perf: Option<Child>,
    _data: tempfile::TempDir,
}

/// Memory figures from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

impl BrokerProcess {
    /// Starts `weir serve --listen 127.0.0.1:0` on an empty data folder with `settings`
    /// (`key=value`, passed as `--set`) and waits for its ready line.
    pub fn start(settings: &[String]) -> BrokerProcess {
        Self::start_on("127.0.0.1:0", settings)
    }

    /// As [`BrokerProcess::start`] with `listeners` (Kafka's form, several allowed).
    pub fn start_on(listen: &str, settings: &[String]) -> BrokerProcess {
        let data = data_dir();
        let mut child = command(&data, listen, settings)
            .spawn()
            .expect("start weir");
        let stderr = child.stderr.take().expect("broker stderr");
        let (tx, rx) = mpsc::channel();
        // Drains the broker's log for its whole life (a full pipe would block it).
        let (listener_tx, listener_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("listener ready") || line.contains(READY) {
                    let field = |name: &str| {
                        line.split(name)
                            .nth(1)
                            .and_then(|r| r.split_whitespace().next())
                            .map(str::to_string)
                    };
                    if let (Some(name), Some(addr)) = (field("listener="), field("addr=")) {
                        let _ = listener_tx.send((name, addr));
                    }
                }
                if let Some(at) = line.find(READY) {
                    let addr = line[at + READY.len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                } else if line.contains("ERROR") {
                    eprintln!("  broker: {line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(START_TIMEOUT)
            .expect("broker printed no ready line");
        let listeners = listener_rx.try_iter().collect();
        let perf = std::env::var_os("WEIR_BENCH_PERF").map(|dir| {
            let out = std::path::Path::new(&dir).join(format!("weir-{}.data", child.id()));
            Command::new("perf")
                .args(["record", "-F", "999", "--call-graph", "dwarf,32768", "-o"])
                .arg(out)
                .arg("-p")
                .arg(child.id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start perf record")
        });
        BrokerProcess {
            child,
            addr,
            listeners,
            perf,
            _data: data,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds the broker has used so far: the run time of its threads in nanoseconds
    /// (`/proc/<pid>/task/*/schedstat`), or, where that is missing, user + system time in
    /// clock ticks from `/proc/<pid>/stat` (10 ms resolution). Threads that exit take their
    /// time with them from the first figure; tokio keeps idle blocking threads for 10 s, so
    /// within one phase of a workload none do.
    pub fn cpu_seconds(&self) -> f64 {
        let pid = self.pid();
        let from_threads = std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()
            .map(|tasks| {
                tasks
                    .filter_map(|t| t.ok())
                    .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                    .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                    .sum::<u64>()
            });
        match from_threads {
            Some(ns) if ns > 0 => ns as f64 / 1e9,
            _ => self.cpu_seconds_from_stat(),
        }
    }

    fn cpu_seconds_from_stat(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
            .sum();
        ticks as f64 / clock_ticks()
    }

    pub fn memory(&self) -> Memory {
        memory_of(self.pid())
    }

    /// SIGTERM, then wait for the graceful stop (kill after 10 s).
    pub fn stop(mut self) {
        if let Some(mut perf) = self.perf.take() {
            // perf writes its file on SIGINT.
            if let Ok(pid) = i32::try_from(perf.id()) {
                // SAFETY: signalling our own child process.
                unsafe { libc::kill(pid, libc::SIGINT) };
            }
            let _ = perf.wait();
        }
        terminate(&mut self.child);
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("weir-bench-")
        .tempdir()
        .expect("temp data folder")
}

fn command(data: &tempfile::TempDir, listen: &str, settings: &[String]) -> Command {
    let mut cmd = Command::new(weir_binary());
    cmd.arg("serve")
        .arg("--listen")
        .arg(listen)
        .arg("--data-dir")
        .arg(data.path());
    for s in settings {
        cmd.arg("--set").arg(s);
    }
    // WEIR_BENCH_* and other variables of the harness are not broker settings: the broker
    // would refuse to start with them.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WEIR_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn terminate(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

pub fn memory_of(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
    }
}

/// Result of one cold start.
pub struct Startup {
    /// Process spawn to the first ApiVersions answer.
    pub first_answer: Duration,
    /// RSS once started and idle (after one answered request and a pause).
    pub idle: Memory,
}

/// Spawns the broker on a port chosen beforehand and sends raw ApiVersions v0 requests in a
/// loop (reconnecting while the port is closed) until one is answered.
pub fn cold_start() -> Startup {
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("probe port");
        probe.local_addr().expect("probe addr").port()
    };
    let data = data_dir();
    let listen = format!("127.0.0.1:{port}");
    let began = Instant::now();
    let mut child = command(&data, &listen, &[]).spawn().expect("start weir");
    let first_answer = loop {
        if began.elapsed() > START_TIMEOUT {
            terminate(&mut child);
            panic!("no ApiVersions answer within {START_TIMEOUT:?}");
        }
        if api_versions_v0(&listen).is_some() {
            break began.elapsed();
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        if let Some(mut s) = stderr {
            let _ = std::io::copy(&mut s, &mut std::io::sink());
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let idle = memory_of(child.id());
    terminate(&mut child);
    drop(data);
    Startup { first_answer, idle }
}

/// One ApiVersions v0 request on a new connection; `Some` with the response size if answered.
pub fn api_versions_v0(addr: &str) -> Option<usize> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let header = wire::request_header::<ApiVersionsRequest>(0, 1, None);
    let request = wire::request_frame(&header, &ApiVersionsRequest::default(), 0).ok()?;
    stream.write_all(&request).ok()?;
    // The length prefix, then the response header: its correlation id.
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).ok()?;
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    (wire::correlation_id_of(&head[4..]) == Some(1)).then_some(size)
}
