//! A consumer-protocol (KIP-848) group member in a child process: the Java client
//! (`ConsumerProtocolMember.java`) or confluent-kafka (`confluent_consumer_protocol_member.py`),
//! both with `group.protocol=consumer`. A test can SIGKILL it or stop it cleanly (it closes the
//! consumer, leaving the group). Each member commits every record before printing it, so a
//! printed record is a processed record.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::clients::{deps_dir, tests_dir};

/// Which client a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Java,
    Confluent,
}

/// One record a member processed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Processed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub member: String,
}

#[derive(Debug, Default)]
pub struct Seen {
    /// The partitions owned now, as "topic:partition".
    pub owned: BTreeSet<String>,
    /// Every change of `owned`, with when it was seen.
    pub history: Vec<(Instant, BTreeSet<String>)>,
    pub records: Vec<Processed>,
    pub left: bool,
    pub stderr: String,
}

pub struct Member {
    pub name: String,
    seen: Arc<Mutex<Seen>>,
    child: Child,
    stdin: Option<ChildStdin>,
}

fn lock(seen: &Arc<Mutex<Seen>>) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|e| e.into_inner())
}

impl Member {
    /// Starts a member of `group`; `subscription` is `--topic T` or `--pattern REGEX`.
    pub fn start(
        kind: Kind,
        name: &str,
        bootstrap: &str,
        group: &str,
        subscription: &[&str],
    ) -> Member {
        let mut cmd = match kind {
            Kind::Java => {
                let jars = deps_dir().join("jars");
                let classes = deps_dir().join("java-classes");
                assert!(
                    classes.join("ConsumerProtocolMember.class").exists(),
                    "run `bash protocol-tests/run.sh --deps-only` to compile the Java programs"
                );
                let mut c = Command::new("java");
                c.args([
                    "-Xshare:auto",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    &format!("{}/*:{}", jars.display(), classes.display()),
                    "ConsumerProtocolMember",
                ]);
                c
            }
            Kind::Confluent => {
                let python = deps_dir().join("venv/bin/python");
                assert!(
                    python.exists(),
                    "run `bash protocol-tests/run.sh --deps-only`"
                );
                let mut c = Command::new(python);
                c.arg(tests_dir().join("python/confluent_consumer_protocol_member.py"))
                    .env("PYTHONUNBUFFERED", "1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                c
            }
        };
        let mut child = cmd
            .args([bootstrap, group])
            .args(subscription)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start consumer-protocol member");
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let (out, err) = (
            child.stdout.take().expect("stdout"),
            child.stderr.take().expect("stderr"),
        );
        {
            let (seen, name) = (seen.clone(), name.to_string());
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    parse(&name, &line, &seen);
                }
            });
        }
        {
            let seen = seen.clone();
            thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut s = lock(&seen);
                    s.stderr.push_str(&line);
                    s.stderr.push('\n');
                }
            });
        }
        Member {
            name: name.to_string(),
            seen,
            stdin: child.stdin.take(),
            child,
        }
    }

    pub fn owned(&self) -> BTreeSet<String> {
        self.check_alive();
        lock(&self.seen).owned.clone()
    }

    pub fn records(&self) -> Vec<Processed> {
        lock(&self.seen).records.clone()
    }

    pub fn history(&self) -> Vec<(Instant, BTreeSet<String>)> {
        lock(&self.seen).history.clone()
    }

    /// Panics with the member's stderr if it died on its own.
    fn check_alive(&self) {
        let s = lock(&self.seen);
        if !s.left && s.stderr.lines().any(|l| l.starts_with("FAIL: ")) {
            panic!("member {} failed:\n{}", self.name, s.stderr);
        }
    }

    /// SIGKILL: no leave, no last commit.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the member to close its consumer (leaving the group) and waits for it to exit.
    pub fn stop(&mut self, limit: Duration) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let s = lock(&self.seen);
                assert!(
                    status.success() && s.left,
                    "member {} did not leave cleanly ({status}):\n{}",
                    self.name,
                    s.stderr
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "member {} still running {limit:?} after stop",
                self.name
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(name: &str, line: &str, seen: &Arc<Mutex<Seen>>) {
    let mut s = lock(seen);
    if let Some(rest) = line.strip_prefix("OWN ") {
        let owned: BTreeSet<String> = rest
            .split(',')
            .filter(|p| *p != "-" && !p.is_empty())
            .map(str::to_string)
            .collect();
        s.owned = owned.clone();
        s.history.push((Instant::now(), owned));
    } else if let Some(rest) = line.strip_prefix("REC ") {
        let f: Vec<&str> = rest.split(' ').collect();
        if f.len() >= 3 {
            s.records.push(Processed {
                topic: f[0].to_string(),
                partition: f[1].parse().unwrap_or(-1),
                offset: f[2].parse().unwrap_or(-1),
                member: name.to_string(),
            });
        }
    } else if line == "LEFT" {
        s.left = true;
    }
}
