//! The `weir` command-line tools (issue 8), run as the real binary against an embedded broker:
//! every subcommand's table and `--output json`, produce/consume round trips, `group seek`
//! moving offsets a real rdkafka consumer then starts from, and the errors people hit.

mod errors;
mod group;
mod produce_consume;
mod topic;

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::broker::TestBroker;
use crate::support::clients::blocking;

/// How long one `weir` command may run before it is killed.
const DEADLINE: Duration = Duration::from_secs(60);

/// A finished `weir` run.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub command: String,
}

impl Run {
    /// Stdout, after checking the command succeeded.
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "{} failed: {self}", self.command);
        &self.stdout
    }

    /// Stdout parsed as JSON, after checking the command succeeded.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e}): {self}", self.command))
    }

    /// Stderr, after checking the command failed.
    pub fn failed(&self) -> &str {
        assert!(
            !self.status.success(),
            "{} should fail: {self}",
            self.command
        );
        &self.stderr
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Runs `weir ARGS --bootstrap BOOTSTRAP` with `stdin`, killing it after [`DEADLINE`].
pub async fn weir(bootstrap: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    full.push("--bootstrap".into());
    full.push(bootstrap.into());
    weir_env(full, stdin, &[]).await
}

/// Runs `weir ARGS` with extra environment variables (WEIR_BOOTSTRAP is cleared first).
pub async fn weir_env(args: Vec<String>, stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let stdin = stdin.map(str::to_string);
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    blocking(move || run_blocking(&args, stdin, &env)).await
}

fn run_blocking(args: &[String], stdin: Option<String>, env: &[(String, String)]) -> Run {
    let command = format!("weir {}", args.join(" "));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.args(args)
        .env_remove("WEIR_BOOTSTRAP")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn weir");
    let mut input = child.stdin.take().expect("stdin piped");
    let writer = std::thread::spawn(move || {
        if let Some(text) = stdin {
            let _ = input.write_all(text.as_bytes());
        }
    });
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for weir") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command}: still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Run {
        status,
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
        command,
    }
}

/// A broker for CLI tests: 3 partitions by default, groups form without delay.
pub async fn broker() -> TestBroker {
    TestBroker::start_with(&[
        ("num.partitions", "3"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.min.session.timeout.ms", "1000"),
    ])
    .await
}

/// The rows of a table (header first), split on runs of spaces.
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}
