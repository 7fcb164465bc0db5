//! The cost of security: TLS produce and consume throughput next to plaintext on the same
//! broker in the same run (and SASL_SSL with SCRAM-SHA-512), new TLS + SCRAM connections per
//! second next to new plaintext connections, and the broker's memory per open TLS connection.
//!
//! One `weir serve` process with PLAINTEXT, SSL and SASL_SSL listeners and certificates made
//! for the run. Throughput: librdkafka (OpenSSL) clients as in the main workloads. Connections:
//! weir's own client (`weir::client`, rustls), which does the TLS handshake, ApiVersions,
//! SaslHandshake and the two SCRAM round trips, from 4 concurrent tasks.

use std::path::Path;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use weir::client::security::{parse_properties, ClientSecurity};
use weir::client::Connection;

use crate::clients::{self, ProduceSpec};
use crate::process::BrokerProcess;

const USER: (&str, &str) = ("bench", "bench-secret");

/// CA and broker certificate files in `dir`: (ca.pem, server.pem with key and chain).
fn certificates(dir: &Path) -> (String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "weir bench CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("server params");
    let key = KeyPair::generate().expect("server key");
    let cert = server
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("server cert");
    let ca_path = dir.join("ca.pem");
    let server_path = dir.join("server.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write CA");
    std::fs::write(
        &server_path,
        format!("{}{}", key.serialize_pem(), cert.pem()),
    )
    .expect("write server");
    (
        ca_path.to_string_lossy().into_owned(),
        server_path.to_string_lossy().into_owned(),
    )
}

fn add_user(bootstrap: &str) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["user", "add", USER.0, "--mechanism", "SCRAM-SHA-512"])
        .args(["--password", USER.1, "--bootstrap", bootstrap])
        .env_remove("WEIR_BOOTSTRAP")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("weir user add");
    assert!(status.success(), "weir user add failed");
}

struct Throughput {
    produce_mb_s: f64,
    consume_mb_s: f64,
}

fn throughput(
    bootstrap: &str,
    topic: &str,
    records: u64,
    security: &[(&str, String)],
) -> Throughput {
    clients::set_security(security);
    clients::create_topic(bootstrap, topic, 1);
    let spec = ProduceSpec {
        records,
        record_size: 1024,
        acks: 1,
        producers: 1,
    };
    let produced = clients::produce(bootstrap, topic, spec);
    let consumed = clients::consume_assigned(bootstrap, topic, 1, records);
    clients::set_security(&[]);
    let mb = (records * 1024) as f64 / 1e6;
    Throughput {
        produce_mb_s: mb / produced.as_secs_f64(),
        consume_mb_s: consumed.bytes as f64 / 1e6 / consumed.elapsed.as_secs_f64(),
    }
}

/// New connections per second: `total` connections from 4 tasks, each opened (TLS handshake,
/// ApiVersions, SASL) and dropped.
fn connection_rate(addr: &str, security: &ClientSecurity, total: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let began = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (addr, security) = (addr.to_string(), security.clone());
                tokio::spawn(async move {
                    for _ in 0..total / 4 {
                        Connection::connect_with(&addr, Duration::from_secs(10), &security)
                            .await
                            .expect("connection");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("connect task");
        }
        (total / 4 * 4) as f64 / began.elapsed().as_secs_f64()
    })
}

/// Broker RSS growth per connection while `count` more authenticated connections are open;
/// the connections are returned, so that memory they free is not reused by the next count.
fn memory_per_connection(
    runtime: &tokio::runtime::Runtime,
    broker: &BrokerProcess,
    addr: &str,
    security: &ClientSecurity,
    count: usize,
) -> (f64, Vec<Connection>) {
    runtime.block_on(async {
        let before = broker.memory().rss_kib;
        let mut open = Vec::with_capacity(count);
        for _ in 0..count {
            open.push(
                Connection::connect_with(addr, Duration::from_secs(10), security)
                    .await
                    .expect("connection"),
            );
        }
        let after = broker.memory().rss_kib;
        ((after.saturating_sub(before)) as f64 / count as f64, open)
    })
}

pub fn run(quick: bool) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, server) = certificates(dir.path());
    let broker = BrokerProcess::start_on(
        "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        &[format!("ssl.keystore.location={server}")],
    );
    let addr = |name: &str| {
        broker
            .listeners
            .get(name)
            .cloned()
            .expect("listener address")
    };
    let (plain, ssl, sasl_ssl) = (addr("PLAINTEXT"), addr("SSL"), addr("SASL_SSL"));
    add_user(&plain);
    let records = if quick { 100_000 } else { 300_000 };
    let tls = vec![
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", ca.clone()),
    ];
    let scram = vec![
        ("security.protocol", "SASL_SSL".to_string()),
        ("ssl.ca.location", ca.clone()),
        ("sasl.mechanisms", "SCRAM-SHA-512".to_string()),
        ("sasl.username", USER.0.to_string()),
        ("sasl.password", USER.1.to_string()),
    ];
    let repeats = if quick { 1 } else { 3 };
    eprintln!("running TLS throughput ({records} x 1 KiB, plaintext, SSL, SASL_SSL; {repeats}x)");
    let mut runs: [Vec<Throughput>; 3] = Default::default();
    for round in 0..repeats {
        // Interleaved, so a burst of load elsewhere on the machine hits all three alike.
        runs[0].push(throughput(&plain, &format!("plain-{round}"), records, &[]));
        runs[1].push(throughput(&ssl, &format!("tls-{round}"), records, &tls));
        runs[2].push(throughput(
            &sasl_ssl,
            &format!("scram-{round}"),
            records,
            &scram,
        ));
    }
    let [base, over_tls, over_scram] = runs.map(|r| Throughput {
        produce_mb_s: crate::median(r.iter().map(|t| t.produce_mb_s).collect()),
        consume_mb_s: crate::median(r.iter().map(|t| t.consume_mb_s).collect()),
    });

    let props = format!(
        "security.protocol=SASL_SSL\nssl.truststore.location={ca}\nsasl.mechanism=SCRAM-SHA-512\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
         username=\"{}\" password=\"{}\";\n",
        USER.0, USER.1
    );
    let secure = ClientSecurity::from_properties(&parse_properties(&props)).expect("security");
    let plaintext = ClientSecurity::default();
    let total = if quick { 400 } else { 2000 };
    eprintln!("running new connections ({total} each, 4 at a time)");
    let plain_rate = connection_rate(&plain, &plaintext, total);
    let scram_rate = connection_rate(&sasl_ssl, &secure, total);
    let held = if quick { 300 } else { 1000 };
    eprintln!("running memory per connection ({held} open)");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (plain_kib, plain_open) =
        memory_per_connection(&runtime, &broker, &plain, &plaintext, held);
    let (tls_kib, tls_open) = memory_per_connection(&runtime, &broker, &sasl_ssl, &secure, held);
    drop((plain_open, tls_open));
    broker.stop();

    let ratio = |a: f64, b: f64| a / b;
    vec![
        format!(
            "| produce 1 KiB records, 1 partition, acks=1 | {:.0} MB/s | {:.0} MB/s ({:.2}x) | {:.0} MB/s ({:.2}x) |",
            base.produce_mb_s,
            over_tls.produce_mb_s,
            ratio(over_tls.produce_mb_s, base.produce_mb_s),
            over_scram.produce_mb_s,
            ratio(over_scram.produce_mb_s, base.produce_mb_s)
        ),
        format!(
            "| consume the same records | {:.0} MB/s | {:.0} MB/s ({:.2}x) | {:.0} MB/s ({:.2}x) |",
            base.consume_mb_s,
            over_tls.consume_mb_s,
            ratio(over_tls.consume_mb_s, base.consume_mb_s),
            over_scram.consume_mb_s,
            ratio(over_scram.consume_mb_s, base.consume_mb_s)
        ),
        format!(
            "| new connections/s (connect, ApiVersions{}), 4 at a time | {plain_rate:.0} | | {scram_rate:.0} ({:.2}x) |",
            ", then TLS + SaslHandshake + SCRAM-SHA-512 on SASL_SSL",
            ratio(scram_rate, plain_rate)
        ),
        format!(
            "| broker memory per open connection ({held} more held; RSS growth) | {plain_kib:.1} KiB | | {tls_kib:.1} KiB |"
        ),
    ]
}
