//! SCRAM users: the Java and confluent-kafka AdminClients and `weir user` (over every listener
//! type, with `--command-config`) manage them; new users authenticate at once; the store
//! survives SIGKILL in the middle of changes, ignores a torn temp file, and a torn store stops
//! the broker with the file named.

use std::time::Duration;

use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, DescribeUserScramCredentialsRequest,
};
use kafka_protocol::protocol::StrBytes;
use weir::client::Client;
use weir::client::ClientSecurity;
use weir::security::scram::salted_password;
use weir::security::Scram;

use super::{Certs, SecureBroker, ALICE, BOB};
use crate::cli::weir;
use crate::support::broker::ProcessBroker;
use crate::support::clients::{blocking, java, python, stdout_lines};
use crate::support::raw::RawClient;

const WAIT: Duration = Duration::from_secs(10);

fn scram_props(user: &str, password: &str, mechanism: &str) -> String {
    format!(
        "sasl.mechanism={mechanism}\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";\n"
    )
}

/// Whether `user` can log in with SCRAM-SHA-512 over SASL_SSL.
async fn can_log_in(b: &SecureBroker, user: &str, password: &str) -> bool {
    let props = format!(
        "security.protocol=SASL_SSL\nssl.truststore.location={}\n{}",
        Certs::path(&b.certs.ca),
        scram_props(user, password, "SCRAM-SHA-512")
    );
    let props = weir::client::security::parse_properties(&props);
    let security = ClientSecurity::from_properties(&props).expect("client properties");
    Client::connect_with(
        &b.addr("SASL_SSL").to_string(),
        "weir-security-test",
        WAIT,
        security,
    )
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_and_confluent_admin_clients_manage_scram_users() {
    let b = SecureBroker::start(&[]).await;
    let bootstrap = b.addr("PLAINTEXT").to_string();
    let (java_boot, py_boot) = (bootstrap.clone(), bootstrap.clone());
    let java_run = tokio::spawn(blocking(move || {
        java("ScramAdmin", &[&java_boot, "dave", "dave-secret"])
    }));
    let py_run = tokio::spawn(blocking(move || {
        python(
            "scram_admin_confluent.py",
            &[&py_boot, "erin", "erin-secret"],
        )
    }));
    for (user, output) in [
        ("dave", java_run.await.expect("java")),
        ("erin", py_run.await.expect("python")),
    ] {
        let lines = stdout_lines(&output);
        for expected in [
            format!("CRED {user} SCRAM-SHA-512 8192"),
            format!("CRED {user} SCRAM-SHA-256 4096"),
            format!("AFTER {user} SCRAM-SHA-512"),
            "OK".to_string(),
        ] {
            assert!(
                lines.contains(&expected),
                "{user}: no {expected:?} in {lines:?}"
            );
        }
        assert!(
            !lines
                .iter()
                .any(|l| l == &format!("AFTER {user} SCRAM-SHA-256")),
            "{lines:?}"
        );
        assert_eq!(lines.iter().filter(|l| l.starts_with("REFUSED")).count(), 2);
        assert!(
            can_log_in(&b, user, &format!("{user}-secret")).await,
            "{user}"
        );
        assert!(!can_log_in(&b, user, "wrong").await, "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_user_manages_scram_users_over_every_listener_type() {
    let b = SecureBroker::start(&[]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Certs::path(&b.certs.ca);
    let keystore = dir.path().join("client-keystore.pem");
    std::fs::write(
        &keystore,
        format!(
            "{}{}",
            std::fs::read_to_string(&b.certs.client_key).expect("key"),
            std::fs::read_to_string(&b.certs.client_cert).expect("cert")
        ),
    )
    .expect("keystore");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("properties");
        path.to_string_lossy().into_owned()
    };
    let ssl = write(
        "ssl.properties",
        format!(
            "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={ca}\nssl.keystore.type=PEM\nssl.keystore.location={}\n",
            keystore.display()
        ),
    );
    let sasl_ssl = write(
        "sasl_ssl.properties",
        format!(
            "security.protocol=SASL_SSL\nssl.truststore.location={ca}\n{}",
            scram_props(ALICE.0, ALICE.1, "SCRAM-SHA-512")
        ),
    );
    let plain = write(
        "plain.properties",
        format!(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{}\" password=\"{}\";\n",
            BOB.0, BOB.1
        ),
    );
    let carol = write(
        "carol.properties",
        format!(
            "security.protocol=SASL_PLAINTEXT\n{}",
            scram_props("carol", "carol-secret", "SCRAM-SHA-256")
        ),
    );
    let at = |listener: &str| b.addr(listener).to_string();

    weir(
        &at("SASL_SSL"),
        &[
            "user",
            "add",
            "carol",
            "--password-stdin",
            "--command-config",
            &sasl_ssl,
        ],
        Some("carol-secret\n"),
    )
    .await
    .ok();
    let listed = weir(
        &at("SSL"),
        &["user", "list", "--output", "json", "--command-config", &ssl],
        None,
    )
    .await
    .json();
    let carol_rows: Vec<&serde_json::Value> = listed
        .as_array()
        .expect("a JSON list")
        .iter()
        .filter(|r| r["user"] == "carol")
        .collect();
    assert_eq!(carol_rows.len(), 2, "{listed}");

    // carol works at once: a topic, a record and its read-back over SCRAM-SHA-256.
    let topic = "carols-topic";
    weir(
        &at("SASL_PLAINTEXT"),
        &["topic", "create", topic, "--command-config", &carol],
        None,
    )
    .await
    .ok();
    weir(
        &at("SASL_PLAINTEXT"),
        &["produce", topic, "--command-config", &carol],
        Some("hello from carol\n"),
    )
    .await
    .ok();
    let read = weir(
        &at("SASL_PLAINTEXT"),
        &[
            "consume",
            topic,
            "--from-beginning",
            "--exit-at-end",
            "--format",
            "%v",
            "--command-config",
            &plain,
        ],
        None,
    )
    .await;
    assert_eq!(read.ok().trim(), "hello from carol");

    weir(&at("PLAINTEXT"), &["user", "remove", "carol"], None)
        .await
        .ok();
    let refused = weir(
        &at("SASL_PLAINTEXT"),
        &["topic", "list", "--command-config", &carol],
        None,
    )
    .await;
    assert!(
        refused.failed().contains("Authentication failed"),
        "{refused}"
    );
}

/// AlterUserScramCredentials for `user` (SCRAM-SHA-256), answered by the broker at `addr`.
async fn upsert(client: &mut RawClient, user: &str) -> i16 {
    let salt = vec![7u8; 16];
    let salted = salted_password(Scram::Sha256, user.as_bytes(), &salt, 4096);
    let request = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(StrBytes::from_string(user.to_string()))
            .with_mechanism(Scram::Sha256.code())
            .with_iterations(4096)
            .with_salt(salt.into())
            .with_salted_password(salted.into()),
    ]);
    client.call(0, &request).await.results[0].error_code
}

async fn users(addr: std::net::SocketAddr) -> Vec<String> {
    let mut client = RawClient::open(addr, "weir-scram-check").await;
    let response = client
        .call(
            0,
            &DescribeUserScramCredentialsRequest::default().with_users(None),
        )
        .await;
    response
        .results
        .iter()
        .map(|r| r.user.to_string())
        .collect()
}

#[test]
fn the_credential_store_survives_sigkill_and_torn_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let broker = ProcessBroker::spawn(dir.path(), &[]);
    let addr = broker.addr;
    // Changes acknowledged before the kill, and one in flight when it lands.
    let acked = runtime.block_on(async {
        let mut client = RawClient::open(addr, "weir-scram-crash").await;
        let mut acked = Vec::new();
        for i in 0..20 {
            let user = format!("user-{i}");
            assert_eq!(upsert(&mut client, &user).await, 0);
            acked.push(user);
        }
        let frame =
            crate::support::raw::request_frame(&AlterUserScramCredentialsRequest::default(), 0, 99);
        crate::support::raw::send_raw(client.stream(), &frame).await;
        acked
    });
    broker.kill_hard();
    // A crash between writing the temp file and renaming it leaves a torn temp file.
    let store = dir.path().join("credentials.json");
    let full = std::fs::read(&store).expect("store");
    std::fs::write(dir.path().join("credentials.tmp"), &full[..full.len() / 3]).expect("tmp");

    let broker = ProcessBroker::spawn(dir.path(), &[]);
    let listed = runtime.block_on(users(broker.addr));
    for user in &acked {
        assert!(
            listed.contains(user),
            "{user} lost after SIGKILL: {listed:?}"
        );
    }
    broker.kill_hard();

    // A store cut short (storage that lied about fsync) is refused, naming the file.
    std::fs::write(&store, &full[..full.len() / 2]).expect("torn store");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("WEIR_BOOTSTRAP")
        .output()
        .expect("run weir serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("credentials.json"), "{stderr}");
}
