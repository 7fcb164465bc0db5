//! `weir serve` and its settings: a bad setting from any source stops it at start with a
//! message naming the key, and the documented default config file starts a broker as is.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::broker::ProcessBroker;
use crate::support::clients::blocking;
use crate::support::scrape::http_get;

/// Runs `weir serve ARGS` with only `env` among the WEIR_* variables; returns (exit code,
/// stderr). Every case here must fail before listening; one that starts is killed after 20 s
/// and fails the test.
fn serve(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WEIR_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while command_running(&mut child) {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, format!("still running after 20 s: {args:?} {env:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("weir serve output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn command_running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_stop_the_broker_at_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("weir.toml");
    std::fs::write(&file, "num.partitions = 3\nlog.segmnet.bytes = 1048576\n").expect("write");
    let file = file.to_string_lossy().into_owned();
    let data = dir.path().join("data");
    type Case = (Vec<String>, Vec<(String, String)>, String);
    let case = |args: &[&str], env: &[(&str, &str)], expected: &str| -> Case {
        (
            args.iter().map(|a| a.to_string()).collect(),
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            expected.to_string(),
        )
    };
    let cases = vec![
        case(&["--set", "no.such.setting=1"], &[], "\"no.such.setting\""),
        case(
            &["--set", "num.partitions=0"],
            &[],
            "num.partitions = \"0\"",
        ),
        case(
            &["--advertised", "PLAINTEXT://broker.example"],
            &[],
            "advertised.listeners = \"PLAINTEXT://broker.example\"",
        ),
        case(
            &["--set", "advertised.listeners=SSL://h:9093"],
            &[],
            "SSL is not one of the listeners",
        ),
        // The listener becomes a TLS one without a certificate.
        case(
            &["--set", "listener.security.protocol.map=PLAINTEXT:SSL"],
            &[],
            "ssl.keystore.location",
        ),
        case(&["--admin-listen", "127.0.0.1"], &[], "admin.listen"),
        case(&["--config", &file], &[], "\"log.segmnet.bytes\""),
        case(&[], &[("WEIR_NUM_PARTITION", "3")], "WEIR_NUM_PARTITION"),
        case(&[], &[("WEIR_NUM_PARTITIONS", "three")], "num.partitions"),
    ];
    let outcomes = blocking(move || {
        cases
            .into_iter()
            .map(|(args, env, expected)| {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let (code, stderr) = serve(&data, &args, &env);
                (format!("{args:?} {env:?}"), code, stderr, expected)
            })
            .collect::<Vec<_>>()
    })
    .await;
    for (case, code, stderr, expected) in outcomes {
        assert_eq!(code, Some(2), "{case}: {stderr}");
        assert!(
            stderr.contains(expected.as_str()),
            "{case}: {stderr:?} does not name {expected}"
        );
    }
}

/// The committed config/weir.toml is a valid config as it stands (the Docker image uses it).
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_default_config_file_starts_a_broker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/weir.toml");
    let file = file.to_string_lossy().into_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let admin = format!("127.0.0.1:{port}");
    let weir = ProcessBroker::spawn(dir.path(), &["--config", &file, "--metrics-listen", &admin]);
    let (status, body) = http_get(admin.parse().expect("address"), "/health/ready").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    weir.kill_hard();
}
