//! Launchers for the external Kafka clients (kcat, Python, Java, Node) that
//! `protocol-tests/run.sh` installs into `protocol-tests/.deps/`.
//!
//! Every launch has a deadline (the child is killed when it expires) and a failure panics with
//! the command line, the exit status, stdout and stderr. A missing client is a test failure that
//! names the install command, never a skipped test. The launchers block: from async tests call
//! them through [`blocking`].

// Shared by several test files; not every helper is used by every build of the test crate.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::raw::{stored_batches, topic_name, RawClient};

/// How long a client process may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL_HINT: &str =
    "run `bash protocol-tests/run.sh` (or `--deps-only`) to install the test clients";

/// `protocol-tests/`.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol-tests")
}

/// `protocol-tests/.deps/`, where run.sh installs the clients.
pub fn deps_dir() -> PathBuf {
    tests_dir().join(".deps")
}

/// Runs `kcat` with `args`, feeding it `stdin` if given. Panics unless it exits with 0.
pub fn kcat(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = ClientCommand::kcat().args(args);
    if let Some(input) = stdin {
        cmd = cmd.stdin(input);
    }
    cmd.run()
}

/// Runs `protocol-tests/python/<script>` with the test venv's Python. Panics unless it exits 0.
pub fn python(script: &str, args: &[&str]) -> Output {
    ClientCommand::python(script).args(args).run()
}

/// Runs the Java test program `class` (from `protocol-tests/java/`) with the Kafka client jars.
/// Panics unless it exits 0.
pub fn java(class: &str, args: &[&str]) -> Output {
    ClientCommand::java(class).args(args).run()
}

/// Runs `protocol-tests/node/<script>` with kafkajs on the module path. Panics unless it exits 0.
pub fn node(script: &str, args: &[&str]) -> Output {
    ClientCommand::node(script).args(args).run()
}

/// Runs a blocking client launch on tokio's blocking pool and returns its result; a panic in
/// `f` (a failed client) is re-raised with its original message.
pub async fn blocking<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("client task did not finish: {err}"),
    }
}

/// The lines of a client's stdout.
pub fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A client process to run with a deadline. Build one with [`ClientCommand::kcat`] and friends
/// (which check that the client is installed) or [`ClientCommand::new`].
pub struct ClientCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl ClientCommand {
    pub fn new(program: impl AsRef<OsStr>) -> ClientCommand {
        let mut cmd = Command::new(program);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        ClientCommand {
            cmd,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// kcat from PATH (apt package `kcat`).
    pub fn kcat() -> ClientCommand {
        let kcat = find_in_path("kcat").unwrap_or_else(|| {
            panic!("kcat is not on PATH: {INSTALL_HINT}");
        });
        ClientCommand::new(kcat)
    }

    /// `protocol-tests/python/<script>` run by `.deps/venv/bin/python`.
    pub fn python(script: &str) -> ClientCommand {
        let python = require(deps_dir().join("venv/bin/python"));
        let script = require(tests_dir().join("python").join(script));
        let mut cmd = ClientCommand::new(python).arg(script);
        cmd.cmd
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Java class `class` from `.deps/java-classes`, with `.deps/jars/*` on the class path.
    pub fn java(class: &str) -> ClientCommand {
        let java =
            find_in_path("java").unwrap_or_else(|| panic!("java is not on PATH: {INSTALL_HINT}"));
        let jars = require(deps_dir().join("jars"));
        let classes = deps_dir().join("java-classes");
        require(classes.join(format!("{class}.class")));
        check_java_classes_fresh(&classes);
        let classpath = format!("{}/*:{}", jars.display(), classes.display());
        ClientCommand::new(java).args([
            "-Xshare:auto",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            &classpath,
            class,
        ])
    }

    /// `protocol-tests/node/<script>` run by `node`, with kafkajs from `.deps/node`.
    pub fn node(script: &str) -> ClientCommand {
        let node =
            find_in_path("node").unwrap_or_else(|| panic!("node is not on PATH: {INSTALL_HINT}"));
        let modules = require(deps_dir().join("node/node_modules/kafkajs"))
            .parent()
            .expect("node_modules")
            .to_path_buf();
        let script = require(tests_dir().join("node").join(script));
        let mut cmd = ClientCommand::new(node).arg(script);
        cmd.cmd.env("NODE_PATH", modules);
        cmd
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> ClientCommand {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> ClientCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> ClientCommand {
        self.cmd.env(key, value);
        self
    }

    pub fn stdin(mut self, input: &[u8]) -> ClientCommand {
        self.stdin = Some(input.to_vec());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> ClientCommand {
        self.timeout = timeout;
        self
    }

    /// Runs the command; panics (showing everything) unless it exits with status 0.
    pub fn run(self) -> Output {
        let line = self.display();
        let output = self.run_unchecked();
        if !output.status.success() {
            panic!("{}", describe(&line, &output.status.to_string(), &output));
        }
        output
    }

    /// Runs the command and returns its output whatever the exit status; panics only if it
    /// cannot start or outlives its deadline.
    pub fn run_unchecked(mut self) -> Output {
        let line = self.display();
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start `{line}`: {err}"));

        if let (Some(input), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            // A separate thread, so a child that does not read its input cannot block us.
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let stdout = read_in_background(child.stdout.take());
        let stderr = read_in_background(child.stderr.take());

        let deadline = Instant::now() + self.timeout;
        let status: Option<ExitStatus> = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(err) => panic!("waiting for `{line}`: {err}"),
            }
        };
        // The pipes close when the child exits; a grandchild that kept them open is not waited
        // for beyond a few seconds.
        let collect = |rx: mpsc::Receiver<Vec<u8>>| {
            rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
        };
        let (stdout, stderr) = (collect(stdout), collect(stderr));
        match status {
            Some(status) => Output {
                status,
                stdout,
                stderr,
            },
            None => {
                let output = Output {
                    status: ExitStatus::default(),
                    stdout,
                    stderr,
                };
                panic!(
                    "{}",
                    describe(
                        &line,
                        &format!("timed out after {:?} and was killed", self.timeout),
                        &output
                    )
                );
            }
        }
    }

    fn display(&self) -> String {
        let mut parts = vec![self.cmd.get_program().to_string_lossy().into_owned()];
        parts.extend(
            self.cmd
                .get_args()
                .map(|a| shell_quote(&a.to_string_lossy())),
        );
        parts.join(" ")
    }
}

fn read_in_background<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

fn describe(line: &str, status: &str, output: &Output) -> String {
    format!(
        "client command failed\n  command: {line}\n  status: {status}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- end ---",
        tail(&output.stdout),
        tail(&output.stderr)
    )
}

/// The last 16 KiB of a client's output: enough to see what went wrong.
fn tail(bytes: &[u8]) -> String {
    const MAX: usize = 16 * 1024;
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= MAX {
        return text.into_owned();
    }
    let mut start = text.len() - MAX;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[... {start} bytes cut ...]\n{}", &text[start..])
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn require(path: PathBuf) -> PathBuf {
    if !path.exists() {
        panic!("{} is missing: {INSTALL_HINT}", path.display());
    }
    path
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// Fails if a Java source changed after run.sh last compiled the programs: running stale
/// classes would test the wrong thing.
fn check_java_classes_fresh(classes: &Path) {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let Some(compiled) = modified(&classes.join(".weir-stamp")) else {
        panic!("{} was not completed: {INSTALL_HINT}", classes.display());
    };
    let sources = std::fs::read_dir(tests_dir().join("java")).expect("protocol-tests/java");
    for entry in sources.flatten() {
        if modified(&entry.path()).is_some_and(|m| m > compiled) {
            panic!(
                "{} changed after the Java test programs were compiled: {INSTALL_HINT}",
                entry.path().display()
            );
        }
    }
}

/// Every stored record batch of `topic`/`partition` as the broker returns it to one raw
/// Fetch v4 from offset 0 (no client library in between).
pub async fn fetched_records(addr: SocketAddr, topic: &str, partition: i32) -> bytes::Bytes {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::FetchRequest;

    let request = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(64 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(0)
                .with_partition_max_bytes(64 << 20)])]);
    let response = RawClient::open(addr, "weir-codec-probe")
        .await
        .call(4, &request)
        .await;
    let data = response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .find(|p| p.partition_index == partition)
        .unwrap_or_else(|| panic!("fetch response has no {topic}/{partition}: {response:?}"));
    assert_eq!(
        data.error_code, 0,
        "fetch {topic}/{partition} failed: {data:?}"
    );
    data.records.clone().unwrap_or_default()
}

/// The compression codec of every record batch that partition `topic`/`partition` holds, in
/// offset order (the batch attributes' low 3 bits: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
/// read with one raw Fetch v4 from offset 0. Shows that a client really compressed what it was
/// told to: some clients silently stop compressing when they dislike the broker's versions.
pub async fn fetched_batch_codecs(addr: SocketAddr, topic: &str, partition: i32) -> Vec<i16> {
    let records = fetched_records(addr, topic, partition).await;
    stored_batches(&records).iter().map(|b| b.codec()).collect()
}

/// Every record batch of partitions `0..partitions` of `topic` carries `codec_id` (`codec` by
/// name), and there is at least one batch.
pub async fn assert_batches_compressed(
    addr: SocketAddr,
    topic: &str,
    partitions: i32,
    codec: &str,
    codec_id: i16,
) {
    let mut batches = 0;
    for partition in 0..partitions {
        let codecs = fetched_batch_codecs(addr, topic, partition).await;
        assert!(
            codecs.iter().all(|&c| c == codec_id),
            "{topic}/{partition}: batch codecs {codecs:?}, expected all {codec_id} ({codec})"
        );
        batches += codecs.len();
    }
    assert!(batches > 0, "no record batches fetched for {topic}");
}

/// A record acknowledged to one of our producer programs (`ACK partition offset key value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: String,
}

/// A record one of our consumer programs received
/// (`REC partition offset key value headers`, headers as `k=v,k=v` or `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: String,
    pub headers: String,
}

/// The `ACK` lines of a producer program (Java `ProduceKeyed`, `kafka_python_client.py produce`),
/// in send order.
pub fn parse_acks(output: &Output) -> Vec<Acked> {
    tagged_fields(output, "ACK", 4)
        .into_iter()
        .map(|(line, f)| Acked {
            partition: parse_field(&line, &f[0]),
            offset: parse_field(&line, &f[1]),
            key: f[2].clone(),
            value: f[3].clone(),
        })
        .collect()
}

/// The `REC` lines of a consumer program (Java `ConsumeAssigned`,
/// `kafka_python_client.py consume`), in arrival order.
pub fn parse_received(output: &Output) -> Vec<Received> {
    tagged_fields(output, "REC", 5)
        .into_iter()
        .map(|(line, f)| Received {
            partition: parse_field(&line, &f[0]),
            offset: parse_field(&line, &f[1]),
            key: f[2].clone(),
            value: f[3].clone(),
            headers: f[4].clone(),
        })
        .collect()
}

fn tagged_fields(output: &Output, tag: &str, count: usize) -> Vec<(String, Vec<String>)> {
    stdout_lines(output)
        .into_iter()
        .filter_map(|line| {
            let rest = line.strip_prefix(tag)?.strip_prefix(' ')?.to_string();
            let fields: Vec<String> = rest.split(' ').map(str::to_string).collect();
            assert_eq!(fields.len(), count, "malformed {tag} line: {line:?}");
            Some((line, fields))
        })
        .collect()
}

fn parse_field<T: std::str::FromStr>(line: &str, field: &str) -> T {
    field
        .parse()
        .unwrap_or_else(|_| panic!("bad number {field:?} in {line:?}"))
}

/// Checks a consumer program's records against what a producer program was acknowledged, for a
/// topic that held nothing else: the same records at the acknowledged (partition, offset), each
/// partition read in offset order from 0 without a gap, every key on one partition, acks in
/// offset order per partition, and the headers `seq=<send index>,client=<client>`.
pub fn assert_consumed_what_was_acked(acks: &[Acked], received: &[Received], client: &str) {
    use std::collections::BTreeMap;

    let mut at: BTreeMap<(i32, i64), (usize, &Acked)> = BTreeMap::new();
    let mut key_partition: BTreeMap<&str, i32> = BTreeMap::new();
    let mut last_ack: BTreeMap<i32, i64> = BTreeMap::new();
    for (index, ack) in acks.iter().enumerate() {
        if let Some((other, _)) = at.insert((ack.partition, ack.offset), (index, ack)) {
            panic!("records #{other} and #{index} were both acked at {ack:?}");
        }
        let partition = *key_partition.entry(&ack.key).or_insert(ack.partition);
        assert_eq!(
            partition, ack.partition,
            "key {} acked on two partitions",
            ack.key
        );
        if let Some(previous) = last_ack.insert(ack.partition, ack.offset) {
            assert!(
                previous < ack.offset,
                "record #{index} acked at offset {} after a later send got {previous} on partition {}",
                ack.offset,
                ack.partition
            );
        }
    }

    let mut next_offset: BTreeMap<i32, i64> = BTreeMap::new();
    for record in received {
        let expected = next_offset.entry(record.partition).or_insert(0);
        assert_eq!(
            record.offset, *expected,
            "partition {} not read in order from 0: {record:?}",
            record.partition
        );
        *expected += 1;
        let (index, ack) = at
            .get(&(record.partition, record.offset))
            .unwrap_or_else(|| panic!("received a record that was never acked: {record:?}"));
        assert_eq!(
            (&record.key, &record.value),
            (&ack.key, &ack.value),
            "record at {}/{} differs from the acked one",
            record.partition,
            record.offset
        );
        assert_eq!(
            record.headers,
            format!("seq={index},client={client}"),
            "headers of {record:?}"
        );
    }
    assert_eq!(
        received.len(),
        acks.len(),
        "received {} records, {} were acked",
        received.len(),
        acks.len()
    );
}
