//! The client drivers: one [`Client`] per client family. The external programs
//! (`compat_*.py`, `compat_kafkajs.js`, `CompatClient.java`) share one command-line contract and
//! so one driver, [`External`]; kcat is driven through its own flags ([`Kcat`]); rdkafka-rs runs
//! in the test process (`rdkafka_rs.rs`). Every method panics with the client's output when the
//! client fails; the suite turns a panic into a failed cell.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::contract::{self, Ack, Job, ProducerCaps, Rec, FULL};
use crate::support::clients::{deps_dir, stdout_lines, tests_dir, ClientCommand};

/// A client's name and version, and the codecs it can write and read.
#[derive(Debug, Clone)]
pub struct Info {
    pub version: String,
    pub codecs: Vec<String>,
}

/// What a `topics` run reported.
#[derive(Debug, Clone)]
pub struct Topics {
    /// Partitions of the auto-created topic.
    pub auto_partitions: usize,
    /// Partitions described after creating the admin topic with 4, if the client has an admin
    /// API; then it was deleted too.
    pub described: Option<usize>,
}

/// The lines of a `seek` run.
pub type Seek = Vec<String>;

pub trait Client: Send + Sync {
    /// The matrix row name; also the `client` header value the client writes.
    fn name(&self) -> &'static str;
    fn info(&self) -> Info;
    fn caps(&self) -> ProducerCaps {
        FULL
    }
    /// Why admin create/describe/delete is not applicable, if it is not.
    fn no_admin(&self) -> Option<&'static str> {
        None
    }
    fn topics(&self, bootstrap: &str, auto: &str, admin: &str) -> Topics;
    /// Writes COUNT records per job; the acks if the client reports them.
    fn produce(&self, bootstrap: &str, ts_base: i64, jobs: &[Job]) -> Option<Vec<Ack>>;
    /// Reads every partition of each (topic, expected count) from the beginning.
    fn consume(&self, bootstrap: &str, topics: &[(String, usize)]) -> Vec<Rec>;
    fn member(&self, bootstrap: &str, group: &str, topic: &str, name: &str) -> Member;
    fn seek(&self, bootstrap: &str, topic: &str, ts: i64) -> Seek;
}

const RUN_TIMEOUT: Duration = Duration::from_secs(110);

// ---------------------------------------------------------------------------------------------

/// A program implementing the contract of `protocol-tests/python/compat_common.py`.
pub struct External {
    pub name: &'static str,
    pub kind: Kind,
}

pub enum Kind {
    Python(&'static str),
    Node(&'static str),
    Java(&'static str),
}

impl External {
    fn command(&self) -> ClientCommand {
        let cmd = match self.kind {
            Kind::Python(script) => ClientCommand::python(script),
            Kind::Node(script) => ClientCommand::node(script),
            Kind::Java(class) => ClientCommand::java(class),
        };
        cmd.timeout(RUN_TIMEOUT)
    }

    fn run(&self, args: &[String]) -> Vec<String> {
        stdout_lines(&self.command().args(args).run())
    }

    /// The same program as a long-running child the suite can signal.
    fn spawn_command(&self) -> Command {
        match self.kind {
            Kind::Python(script) => {
                let mut cmd = Command::new(deps_dir().join("venv/bin/python"));
                cmd.arg(tests_dir().join("python").join(script))
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                cmd
            }
            Kind::Node(script) => {
                let mut cmd = Command::new("node");
                cmd.arg(tests_dir().join("node").join(script))
                    .env("NODE_PATH", deps_dir().join("node/node_modules"));
                cmd
            }
            Kind::Java(class) => {
                let classpath = format!(
                    "{}/*:{}",
                    deps_dir().join("jars").display(),
                    deps_dir().join("java-classes").display()
                );
                let mut cmd = Command::new("java");
                cmd.args(["-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp"])
                    .arg(classpath)
                    .arg(class);
                cmd
            }
        }
    }
}

impl Client for External {
    fn name(&self) -> &'static str {
        self.name
    }

    fn info(&self) -> Info {
        let lines = self.run(&["info".to_string()]);
        Info {
            version: contract::tagged(&lines, "VERSION")
                .expect("VERSION line")
                .to_string(),
            codecs: contract::tagged(&lines, "CODECS")
                .expect("CODECS line")
                .split(',')
                .map(str::to_string)
                .collect(),
        }
    }

    fn topics(&self, bootstrap: &str, auto: &str, admin: &str) -> Topics {
        let lines = self.run(&strings(&["topics", bootstrap, auto, admin]));
        let number = |tag| -> usize {
            contract::tagged(&lines, tag)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {tag} line in {lines:?}"))
        };
        assert!(
            contract::tagged(&lines, "DELETED").is_some(),
            "no DELETED line in {lines:?}"
        );
        Topics {
            auto_partitions: number("AUTO"),
            described: Some(number("DESCRIBED")),
        }
    }

    fn produce(&self, bootstrap: &str, ts_base: i64, jobs: &[Job]) -> Option<Vec<Ack>> {
        let mut args = strings(&[
            "produce",
            bootstrap,
            &contract::COUNT.to_string(),
            &ts_base.to_string(),
        ]);
        args.extend(jobs.iter().map(Job::arg));
        Some(contract::parse_acks(&self.run(&args)).unwrap_or_else(|e| panic!("{e}")))
    }

    fn consume(&self, bootstrap: &str, topics: &[(String, usize)]) -> Vec<Rec> {
        let mut args = strings(&["consume", bootstrap]);
        args.extend(topics.iter().map(|(t, n)| format!("{t}:{n}")));
        contract::parse_recs(&self.run(&args)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn member(&self, bootstrap: &str, group: &str, topic: &str, name: &str) -> Member {
        let mut cmd = self.spawn_command();
        cmd.args(["member", bootstrap, group, topic]);
        Member::spawn(name, cmd, |_| None)
    }

    fn seek(&self, bootstrap: &str, topic: &str, ts: i64) -> Seek {
        self.run(&strings(&["seek", bootstrap, topic, &ts.to_string()]))
    }
}

pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------

/// kcat (librdkafka 2.0 from Debian): its produce mode takes keys (`-K`) and headers for all
/// records (`-H`) but no per-record headers or timestamps, reports no offsets, and it has no
/// admin commands.
pub struct Kcat;

const KCAT_FORMAT: &str = "REC %t %p %o %T %k %s %h\\n";

fn kcat(args: &[String], stdin: Option<&[u8]>) -> Vec<String> {
    let mut cmd = ClientCommand::kcat().args(args).timeout(RUN_TIMEOUT);
    if let Some(input) = stdin {
        cmd = cmd.stdin(input);
    }
    stdout_lines(&cmd.run())
}

impl Client for Kcat {
    fn name(&self) -> &'static str {
        "kcat"
    }

    fn info(&self) -> Info {
        let lines = kcat(&strings(&["-V"]), None);
        let version_line = lines
            .iter()
            .find(|l| l.starts_with("Version "))
            .expect("kcat -V prints its version");
        // "Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=gzip,snappy,...)"
        let kcat_version = version_line.split(' ').nth(1).unwrap_or("?");
        let librdkafka = version_line
            .split("librdkafka ")
            .nth(1)
            .and_then(|v| v.split(' ').next())
            .unwrap_or("?");
        let features = version_line
            .split("builtin.features=")
            .nth(1)
            .unwrap_or_default();
        let mut codecs = vec!["none".to_string()];
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            if features.split([',', ')']).any(|f| f == codec) {
                codecs.push(codec.to_string());
            }
        }
        Info {
            version: format!("{kcat_version} (librdkafka {librdkafka})"),
            codecs,
        }
    }

    fn caps(&self) -> ProducerCaps {
        ProducerCaps {
            per_record_headers: false,
            timestamps: false,
        }
    }

    fn no_admin(&self) -> Option<&'static str> {
        Some("kcat has no admin commands (create/describe/delete topic)")
    }

    fn topics(&self, bootstrap: &str, auto: &str, _admin: &str) -> Topics {
        kcat(
            &strings(&["-P", "-b", bootstrap, "-t", auto]),
            Some(b"auto\n"),
        );
        let lines = kcat(&strings(&["-L", "-b", bootstrap, "-t", auto, "-J"]), None);
        let json: serde_json::Value =
            serde_json::from_str(lines.join("\n").trim()).expect("kcat -L -J prints JSON");
        let partitions = json["topics"][0]["partitions"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0);
        Topics {
            auto_partitions: partitions,
            described: None,
        }
    }

    fn produce(&self, bootstrap: &str, _ts_base: i64, jobs: &[Job]) -> Option<Vec<Ack>> {
        for job in jobs {
            let mut input = String::new();
            for i in 0..contract::COUNT {
                if let Some(key) = contract::key(i) {
                    input.push_str(&key);
                    input.push('|');
                }
                input.push_str(&contract::value(&job.topic, i));
                input.push('\n');
            }
            let mut args = strings(&[
                "-P",
                "-b",
                bootstrap,
                "-t",
                &job.topic,
                "-K",
                "|",
                "-H",
                "client=kcat",
                "-z",
                &job.codec,
            ]);
            if job.idempotent {
                args.extend(strings(&["-X", "enable.idempotence=true"]));
            }
            kcat(&args, Some(input.as_bytes()));
        }
        None
    }

    fn consume(&self, bootstrap: &str, topics: &[(String, usize)]) -> Vec<Rec> {
        let mut recs = Vec::new();
        for (topic, _) in topics {
            let lines = kcat(
                &strings(&[
                    "-C",
                    "-b",
                    bootstrap,
                    "-t",
                    topic,
                    "-o",
                    "beginning",
                    "-e",
                    "-q",
                    "-f",
                    KCAT_FORMAT,
                ]),
                None,
            );
            recs.extend(contract::parse_recs(&lines).unwrap_or_else(|e| panic!("{e}")));
        }
        recs
    }

    fn member(&self, bootstrap: &str, group: &str, topic: &str, name: &str) -> Member {
        let mut cmd = Command::new("kcat");
        // -u: unbuffered output, or the records sit in stdio's buffer of a pipe.
        cmd.args(["-b", bootstrap, "-G", group, topic, "-u", "-f", KCAT_FORMAT])
            .args(["-X", "session.timeout.ms=3000"])
            .args(["-X", "heartbeat.interval.ms=500"])
            .args(["-X", "max.poll.interval.ms=20000"])
            .args(["-X", "auto.offset.reset=earliest"]);
        // kcat reports its assignment on stderr:
        // "% Group g rebalanced (memberid m): assigned: t [0], t [3]" / "...: revoked: ...".
        Member::spawn(name, cmd, |line| {
            let rest = line.strip_prefix("% Group ")?.split("): ").nth(1)?;
            if rest.starts_with("revoked") {
                return Some("ASSIGNED -".to_string());
            }
            let list = rest.strip_prefix("assigned: ")?;
            let parts: Vec<String> = list
                .split(", ")
                .filter_map(|tp| tp.split('[').nth(1)?.strip_suffix(']').map(str::to_string))
                .collect();
            Some(format!("ASSIGNED {}", parts.join(",")))
        })
    }

    fn seek(&self, bootstrap: &str, topic: &str, ts: i64) -> Seek {
        let read = |offset: &str, count: Option<usize>| -> Vec<Rec> {
            let mut args = strings(&[
                "-C",
                "-b",
                bootstrap,
                "-t",
                topic,
                "-o",
                offset,
                "-e",
                "-q",
                "-f",
                KCAT_FORMAT,
            ]);
            if let Some(n) = count {
                args.extend(strings(&["-c", &n.to_string()]));
            }
            contract::parse_recs(&kcat(&args, None)).unwrap_or_else(|e| panic!("{e}"))
        };
        let first = |recs: Vec<Rec>| recs.first().map_or(-1, |r| r.offset);
        vec![
            format!("READ {}", read("beginning", None).len()),
            format!("BEGINNING {}", first(read("beginning", Some(1)))),
            format!(
                "OFFSET {}",
                first(read(&contract::SEEK_OFFSET.to_string(), Some(1)))
            ),
            format!(
                "TIMESTAMP {}",
                first(read(
                    &format!("s@{}", ts + contract::SEEK_TS_DELTA),
                    Some(1)
                ))
            ),
            format!("END {}", read("end", None).len()),
        ]
    }
}

// ---------------------------------------------------------------------------------------------

/// A group member in a child process: its output lines (stdout, and stderr lines the driver
/// translates) are collected as they come. Dropping it kills the process.
pub struct Member {
    pub name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The threads reading stdout and stderr; they end when the pipes close.
    readers: Vec<thread::JoinHandle<()>>,
}

impl Member {
    pub fn spawn(name: &str, mut cmd: Command, translate: fn(&str) -> Option<String>) -> Member {
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start member {name} ({cmd:?}): {e}"));
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let stderr: Arc<Mutex<Vec<String>>> = Arc::default();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let mut readers = Vec::new();
        {
            let lines = lines.clone();
            readers.push(thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lock(&lines).push(line);
                }
            }));
        }
        {
            let (lines, stderr) = (lines.clone(), stderr.clone());
            readers.push(thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Some(t) = translate(&line) {
                        lock(&lines).push(t);
                    }
                    lock(&stderr).push(line);
                }
            }));
        }
        Member {
            name: name.to_string(),
            child,
            lines,
            readers,
            stderr,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }

    /// The partitions of the last ASSIGNED line (empty before the first).
    pub fn owned(&self) -> Vec<i32> {
        let lines = lock(&self.lines);
        let last = lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("ASSIGNED "))
            .unwrap_or("-");
        last.split(',')
            .filter(|p| !p.is_empty() && *p != "-")
            .map(|p| p.parse().expect("partition number"))
            .collect()
    }

    pub fn records(&self) -> Vec<Rec> {
        contract::parse_recs(&self.lines()).unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// What the member printed, for a failure message.
    pub fn transcript(&self) -> String {
        let err = lock(&self.stderr);
        let tail = &err[err.len().saturating_sub(30)..];
        format!(
            "--- member {} stdout ---\n{}\n--- stderr (tail) ---\n{}",
            self.name,
            self.lines().join("\n"),
            tail.join("\n")
        )
    }

    /// SIGTERM: the client closes gracefully (leaving the group); waits for the exit.
    pub fn terminate(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.exited() {
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "member {} did not exit within 30 s of SIGTERM\n{}",
                    self.name,
                    self.transcript()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
        // Everything it printed is in once the readers reached the end of its pipes.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.readers.iter().all(|r| r.is_finished()) {
            assert!(
                Instant::now() < deadline,
                "member {}: its output pipes stayed open 10 s after it exited",
                self.name
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: the member dies without a word to the broker.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
