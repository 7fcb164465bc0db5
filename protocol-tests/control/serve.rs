//! `weir serve` as a test harness starts it (ephemeral data, a ready file, seeded topics, the
//! control plane) driven by `weir ctl`, and the control plane's HTTP API with its refusals.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpStream;

use crate::support::clients::blocking;
use crate::support::raw::RawClient;
use crate::support::scrape::{http_request, http_send};

const WAIT: Duration = Duration::from_secs(30);

fn weir() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WEIR_") {
            command.env_remove(name);
        }
    }
    command
}

/// `weir ctl --admin ADMIN --output json ARGS`: its JSON answer (panics on failure).
fn ctl(admin: &str, args: &[&str]) -> Value {
    let output = ctl_output(admin, args);
    assert!(
        output.status.success(),
        "weir ctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON answer")
}

fn ctl_output(admin: &str, args: &[&str]) -> Output {
    weir()
        .args(["ctl", "--admin", admin, "--output", "json"])
        .args(args)
        .output()
        .expect("run weir ctl")
}

struct Served {
    child: Child,
    ready: Value,
    ready_line: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], ready_file: &Path) -> Served {
    let mut child = weir()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--ready-file")
        .arg(ready_file)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn weir serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let ready_line = rx.recv_timeout(WAIT).expect("a ready line on stdout");
    let ready: Value = serde_json::from_str(&ready_line).expect("the ready line is JSON");
    Served {
        child,
        ready,
        ready_line,
    }
}

fn addr(v: &Value, key: &str) -> SocketAddr {
    v[key].as_str().expect(key).parse().expect("an address")
}

#[tokio::test(flavor = "multi_thread")]
async fn weir_serve_for_harnesses_ready_file_seeded_topics_and_weir_ctl() {
    let dir = tempfile::tempdir().unwrap();
    let topics = dir.path().join("topics.toml");
    std::fs::write(
        &topics,
        "[[topic]]\nname = \"orders\"\npartitions = 3\nconfigs = { \"retention.ms\" = \"86400000\" }\n",
    )
    .unwrap();
    let ready_file = dir.path().join("ready.json");
    let topics = topics.to_str().unwrap().to_string();
    let rf = ready_file.clone();
    let mut served = blocking(move || {
        serve(
            &["--ephemeral", "--clock", "manual", "--topics", &topics],
            &rf,
        )
    })
    .await;
    let written = std::fs::read_to_string(&ready_file).expect("ready file");
    assert_eq!(
        written, served.ready_line,
        "the ready file holds the ready line"
    );
    assert_eq!(served.ready["ready"], true);
    assert_eq!(served.ready["control"], true);
    let kafka = addr(&served.ready, "kafka");
    let admin = served.ready["admin"].as_str().unwrap().to_string();
    let data_dir = served.ready["data_dir"].as_str().unwrap().to_string();
    assert!(Path::new(&data_dir).is_dir());

    // The seeded topic is there with its partitions.
    let mut raw = RawClient::open(kafka, "harness").await;
    let metadata = raw
        .call(
            9,
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(metadata.topics.len(), 1);
    assert_eq!(metadata.topics[0].name.as_ref().unwrap().as_str(), "orders");
    assert_eq!(metadata.topics[0].partitions.len(), 3);

    let a = admin.clone();
    blocking(move || {
        let status = ctl(&a, &["status"]);
        assert_eq!(status["broker"], "up");
        assert_eq!(status["seeded_topics"], serde_json::json!(["orders"]));
        assert_eq!(status["clock"]["manual"], true);

        let added = ctl(
            &a,
            &[
                "fault",
                "add",
                "--api",
                "Produce",
                "--topic",
                "orders",
                "--error",
                "NOT_LEADER_OR_FOLLOWER",
                "--times",
                "2",
            ],
        );
        let id = added["id"].as_u64().unwrap();
        let listed = ctl(&a, &["fault", "list"]);
        assert_eq!(listed[0]["id"], id);
        assert_eq!(listed[0]["error"], "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(listed[0]["remaining"], 2);
        let refused = ctl_output(
            &a,
            &[
                "fault",
                "add",
                "--api",
                "Heartbeat",
                "--error",
                "6",
                "--scope",
                "partitions",
            ],
        );
        assert_eq!(
            refused.status.code(),
            Some(2),
            "a rule that cannot work is a usage error"
        );
        ctl(&a, &["throttle", "--client-id", "slow", "--time", "250ms"]);
        assert_eq!(ctl(&a, &["fault", "list"]).as_array().unwrap().len(), 2);
        ctl(&a, &["fault", "remove", &id.to_string()]);
        assert_eq!(ctl(&a, &["fault", "clear"])["cleared"], 1);

        let before = ctl(&a, &["clock"])["now_ms"].as_i64().unwrap();
        let after = ctl(&a, &["clock", "advance", "1d"])["now_ms"]
            .as_i64()
            .unwrap();
        assert_eq!(after - before, 86_400_000);
        let spread = ctl(&a, &["clock", "advance", "10s", "--over", "100ms"])["now_ms"]
            .as_i64()
            .unwrap();
        assert_eq!(spread - after, 10_000);
        assert_eq!(ctl(&a, &["clock", "set", "1000"])["now_ms"], 1000);

        assert_eq!(
            ctl(&a, &["capture", "start", "--capacity", "50"])["capacity"],
            50
        );
    })
    .await;

    let mut raw = RawClient::open(kafka, "harness").await;
    raw.call(9, &kafka_protocol::messages::MetadataRequest::default())
        .await;
    let a = admin.clone();
    blocking(move || {
        let shown = ctl(
            &a,
            &[
                "capture",
                "show",
                "--api",
                "Metadata",
                "--client-id",
                "harness",
            ],
        );
        let requests = shown["requests"].as_array().unwrap();
        assert!(!requests.is_empty(), "{shown}");
        assert_eq!(requests[0]["api"], "Metadata");
        assert_eq!(ctl(&a, &["broker", "down"])["broker"], "down");
    })
    .await;
    assert!(
        TcpStream::connect(kafka).await.is_err(),
        "down: connections refused"
    );
    let a = admin.clone();
    let report = blocking(move || {
        assert_eq!(ctl(&a, &["broker", "up"])["broker"], "up");
        ctl(&a, &["reset"])
    })
    .await;
    assert_eq!(report["topics_deleted"], 1);
    assert_eq!(report["topics_seeded"], 1);
    assert!(
        TcpStream::connect(kafka).await.is_ok(),
        "up again on the same address"
    );

    // A clean stop removes the ephemeral data and the ready file.
    let pid = served.child.id() as libc::pid_t;
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = blocking(move || {
        let status = served.child.wait().expect("wait");
        drop(served);
        status
    })
    .await;
    assert!(status.success(), "{status}");
    assert!(!Path::new(&data_dir).exists(), "ephemeral data removed");
    assert!(!ready_file.exists(), "ready file removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn weir_serve_refuses_control_settings_that_cannot_work() {
    let run = |args: &[&str]| {
        weir()
            .args(["serve", "--listen", "127.0.0.1:0", "--ephemeral"])
            .args(args)
            .output()
            .expect("run weir serve")
    };
    let output = blocking(move || run(&["--control"])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("admin.listen"));
    let output = blocking(move || run(&["--set", "control.clock=manual"])).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("control.enable"));
    let output = blocking(move || run(&["--clock", "sundial"])).await;
    assert_eq!(output.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("topics.toml");
    std::fs::write(&bad, "[[topic]]\nname = \"a\"\npartitions = 0\n").unwrap();
    let b = bad.clone();
    let output = blocking(move || run(&["--topics", b.to_str().unwrap()])).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("topics.toml"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_api_answers_json_and_refuses_what_it_cannot_do() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .control()
        .set("admin.listen", "127.0.0.1:0")
        .start()
        .await
        .unwrap();
    let admin = broker.admin_addr().unwrap();
    let json = |body: &str| -> Value { serde_json::from_str(body).expect("JSON") };

    let (status, body) = http_send(
        admin,
        "POST",
        "/faults",
        r#"{"api":"Fetch","swallow":true,"times":1}"#,
    )
    .await;
    assert_eq!(status, "HTTP/1.1 201 Created", "{body}");
    let id = json(&body)["id"].as_u64().unwrap();
    let (status, body) = http_send(
        admin,
        "POST",
        "/faults?position=0",
        r#"{"client_id":"x","latency_ms":5}"#,
    )
    .await;
    assert_eq!(status, "HTTP/1.1 201 Created", "{body}");
    let (_, body) = http_request(admin, "GET", "/faults").await;
    let listed = json(&body);
    assert_eq!(listed[0]["client_id"], "x", "inserted first");
    assert_eq!(listed[1]["id"], id);

    for (rule, why) in [
        (r#"{"api":"Produce"}"#, "set one of"),
        (
            r#"{"api":"Produce","close":true,"swallow":true}"#,
            "only one action",
        ),
        (r#"{"api":"NoSuchApi","close":true}"#, "not an API"),
        (
            r#"{"api":"Produce","error":"NO_SUCH_ERROR"}"#,
            "not a Kafka error",
        ),
        (r#"{"api":"Produce","clsoe":true}"#, "unknown field"),
        (
            r#"{"api":"Heartbeat","error":6,"scope":"partitions"}"#,
            "no per-partition",
        ),
        (r#"not json"#, "bad JSON"),
    ] {
        let (status, body) = http_send(admin, "POST", "/faults", rule).await;
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "{rule}: {body}");
        assert!(
            json(&body)["error"].as_str().unwrap().contains(why),
            "{rule}: {body}"
        );
    }
    let (status, _) = http_request(admin, "DELETE", "/faults/999").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, body) = http_send(admin, "POST", "/clock/advance", r#"{"ms":1000}"#).await;
    assert_eq!(
        status, "HTTP/1.1 409 Conflict",
        "the system clock is not moved: {body}"
    );
    let (status, body) = http_request(admin, "GET", "/clock").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(json(&body)["manual"], false);
    let (status, body) = http_send(admin, "POST", "/capture/start", r#"{"capacity":0}"#).await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request", "{body}");
    let (_, body) = http_request(admin, "POST", "/capture/start").await;
    assert_eq!(json(&body)["enabled"], true);
    let (status, body) = http_request(admin, "GET", "/capture?api=Produce&limit=5").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    assert_eq!(json(&body)["requests"], serde_json::json!([]));
    let (_, body) = http_request(admin, "DELETE", "/faults").await;
    assert_eq!(json(&body)["cleared"], 2);
    let (status, body) = http_request(admin, "POST", "/reset").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    let (_, body) = http_request(admin, "GET", "/control").await;
    assert_eq!(json(&body)["broker"], "up");
    broker.shutdown().await;

    // Without control.enable none of it is served.
    let plain = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .set("admin.listen", "127.0.0.1:0")
        .start()
        .await
        .unwrap();
    assert!(plain.control().is_none());
    let admin = plain.admin_addr().unwrap();
    for (method, path) in [
        ("GET", "/control"),
        ("GET", "/faults"),
        ("POST", "/reset"),
        ("POST", "/broker/down"),
    ] {
        let (status, _) = http_request(admin, method, path).await;
        assert_eq!(status, "HTTP/1.1 404 Not Found", "{method} {path}");
    }
    plain.shutdown().await;
}
