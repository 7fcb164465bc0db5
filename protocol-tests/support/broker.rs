//! Brokers for tests: embedded in the test process, or a separate `weir serve` process that a
//! test can kill hard.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A broker running inside the test process, with its own temporary data folder.
pub struct TestBroker {
    pub handle: weir::BrokerHandle,
    pub dir: TempDir,
}

impl TestBroker {
    pub async fn start() -> TestBroker {
        Self::start_with(&[]).await
    }

    /// Starts a broker with config overrides given by Kafka name, e.g. `("num.partitions", "3")`.
    pub async fn start_with(settings: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().expect("temp dir");
        let handle = start_in(dir.path(), settings).await;
        TestBroker { handle, dir }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.addr()
    }

    pub fn bootstrap(&self) -> String {
        self.addr().to_string()
    }

    /// Stops the broker cleanly and starts a new one on the same data folder (new port).
    pub async fn restart(self, settings: &[(&str, &str)]) -> TestBroker {
        let TestBroker { handle, dir } = self;
        handle.shutdown().await;
        let handle = start_in(dir.path(), settings).await;
        TestBroker { handle, dir }
    }
}

async fn start_in(dir: &Path, settings: &[(&str, &str)]) -> weir::BrokerHandle {
    let mut builder = weir::Broker::builder().listen("127.0.0.1:0").data_dir(dir);
    for (key, value) in settings {
        builder = builder.set(key, value);
    }
    builder.start().await.expect("broker starts")
}

/// A `weir serve` child process. Dropping it kills the process.
pub struct ProcessBroker {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the broker wrote to stderr so far.
    log: Arc<Mutex<String>>,
    /// I/O failures the broker injected (`--io-faults`), by point, counted from its log.
    pub injected: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl ProcessBroker {
    /// Starts `weir serve` on port 0 and waits for its ready line (`broker ready addr=HOST:PORT`).
    pub fn spawn(data_dir: &Path, extra_args: &[&str]) -> ProcessBroker {
        Self::spawn_on("127.0.0.1:0", data_dir, extra_args)
    }

    /// As [`ProcessBroker::spawn`] on a given listen address, so clients can reconnect to a
    /// restarted broker.
    pub fn spawn_on(listen: &str, data_dir: &Path, extra_args: &[&str]) -> ProcessBroker {
        Self::spawn_with(listen, data_dir, extra_args, None)
    }

    /// As [`ProcessBroker::spawn`], with at most `max_open_files` open files (`ulimit -n`).
    pub fn spawn_with_open_files(
        data_dir: &Path,
        extra_args: &[&str],
        max_open_files: u64,
    ) -> ProcessBroker {
        Self::spawn_with("127.0.0.1:0", data_dir, extra_args, Some(max_open_files))
    }

    fn spawn_with(
        listen: &str,
        data_dir: &Path,
        extra_args: &[&str],
        max_open_files: Option<u64>,
    ) -> ProcessBroker {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        // The broker refuses WEIR_* variables that name no setting (and should not pick up a
        // developer's settings): it sees only what the test passes.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("WEIR_") {
                command.env_remove(name);
            }
        }
        if let Some(max) = max_open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child being started.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: max,
                        rlim_max: max,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command
            .arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn weir serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let injected = Arc::new(Mutex::new(BTreeMap::new()));
        let counter = injected.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
                if line.contains("injected I/O failure") || line.contains("injected I/O stall") {
                    let point = line
                        .split("point=")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .unwrap_or("?")
                        .trim_matches('"')
                        .to_string();
                    *counter.lock().unwrap().entry(point).or_insert(0) += 1;
                }
                if !sent {
                    if let Some(addr) = line.split("addr=").nth(1) {
                        if line.contains("broker ready") {
                            let addr = addr.split_whitespace().next().unwrap_or("").to_string();
                            let _ = tx.send(addr);
                            sent = true;
                        }
                    }
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                break addr.parse().expect("ready line carries a socket address");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("weir serve exited before it was ready: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "weir serve not ready within 30 s"
            );
        };
        ProcessBroker {
            child,
            addr,
            log,
            injected,
        }
    }

    /// What the broker logged so far (stderr).
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ProcessBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
