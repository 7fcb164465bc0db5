//! Hostile and careless input on secured listeners: garbage and plaintext Kafka on TLS ports,
//! untrusted client certificates, requests before authentication, unknown mechanisms, wrong
//! passwords (answered late, then closed), oversized SASL tokens; the v0 raw-token flow; and
//! secrets kept out of logs and DescribeConfigs. After each, the broker keeps serving.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, DescribeConfigsRequest, MetadataRequest, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use weir::client::Client;
use weir::client::ClientSecurity;
use weir::security::plain;
use weir::security::scram::ScramClient;
use weir::security::Scram;

use super::{Certs, SecureBroker, ALICE, BOB};
use crate::support::raw::{expect_closed, request_frame, send_raw, RawClient};

const WAIT: Duration = Duration::from_secs(10);

fn props(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A client for the SSL listener with the trusted (or the untrusted) client certificate.
fn ssl_client(b: &SecureBroker, trusted: bool) -> ClientSecurity {
    let (cert, key) = if trusted {
        (&b.certs.client_cert, &b.certs.client_key)
    } else {
        (&b.certs.untrusted_cert, &b.certs.untrusted_key)
    };
    let chain = std::fs::read_to_string(cert).expect("cert");
    let key = std::fs::read_to_string(key).expect("key");
    ClientSecurity::from_properties(&props(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.location", Certs::path(&b.certs.ca)),
        ("ssl.keystore.certificate.chain", chain),
        ("ssl.keystore.key", key),
    ]))
    .expect("client security")
}

/// The broker must close the connection, after at most a TLS alert record.
async fn expect_alert_then_closed<S: AsyncRead + Unpin>(stream: &mut S, what: &str) {
    let mut received = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => panic!("{what}: connection still open {WAIT:?} later"),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
    // TLS record type 21 is an alert; a well-behaved TLS server says why before closing.
    assert!(
        received.is_empty() || (received[0] == 21 && received.len() <= 7),
        "{what}: expected nothing or a TLS alert, got {received:?}"
    );
}

async fn serves(b: &SecureBroker) {
    let mut client = Client::connect_with(
        &b.addr("SSL").to_string(),
        "weir-security-test",
        WAIT,
        ssl_client(b, true),
    )
    .await
    .expect("the SSL listener still serves a good client");
    client.metadata(None).await.expect("metadata over SSL");
    crate::support::raw::assert_broker_serves(b.addr("PLAINTEXT")).await;
}

#[tokio::test]
async fn garbage_plaintext_and_untrusted_certificates_on_tls_ports_are_closed() {
    let b = SecureBroker::start(&[]).await;
    for listener in ["SSL", "SASL_SSL"] {
        let mut garbage = TcpStream::connect(b.addr(listener)).await.expect("connect");
        send_raw(&mut garbage, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        expect_alert_then_closed(&mut garbage, "garbage on a TLS port").await;
        let mut kafka = TcpStream::connect(b.addr(listener)).await.expect("connect");
        send_raw(
            &mut kafka,
            &request_frame(&ApiVersionsRequest::default(), 0, 1),
        )
        .await;
        expect_alert_then_closed(&mut kafka, "a plaintext Kafka request on a TLS port").await;
    }
    let untrusted = Client::connect_with(
        &b.addr("SSL").to_string(),
        "weir-security-test",
        WAIT,
        ssl_client(&b, false),
    )
    .await;
    assert!(
        untrusted.is_err(),
        "a certificate from an untrusted CA was accepted"
    );
    let anonymous = ClientSecurity::from_properties(&props(&[
        ("security.protocol", "SSL".into()),
        ("ssl.truststore.location", Certs::path(&b.certs.ca)),
    ]))
    .expect("security");
    assert!(
        Client::connect_with(
            &b.addr("SSL").to_string(),
            "weir-security-test",
            WAIT,
            anonymous
        )
        .await
        .is_err(),
        "ssl.client.auth=required let a client without a certificate in"
    );
    serves(&b).await;
}

async fn handshake(client: &mut RawClient, version: i16, mechanism: &str) -> (i16, Vec<String>) {
    let response = client
        .call(
            version,
            &SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_string(mechanism.into())),
        )
        .await;
    (
        response.error_code,
        response.mechanisms.iter().map(|m| m.to_string()).collect(),
    )
}

fn authenticate_frame(bytes: Vec<u8>, correlation_id: i32) -> BytesMut {
    request_frame(
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)),
        2,
        correlation_id,
    )
}

#[tokio::test]
async fn sasl_listeners_serve_nothing_before_authentication_and_name_their_mechanisms() {
    let b = SecureBroker::start(&[]).await;
    let addr = b.addr("SASL_PLAINTEXT");
    let mut client = RawClient::open(addr, "weir-sasl-gate").await;
    let versions = client.call(3, &ApiVersionsRequest::default()).await;
    assert!(versions
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::SaslHandshake as i16 && k.max_version == 1));
    send_raw(
        client.stream(),
        &request_frame(&MetadataRequest::default(), 9, 2),
    )
    .await;
    expect_closed(client.stream(), "Metadata before authentication").await;

    let mut client = RawClient::open(addr, "weir-sasl-gate").await;
    let (code, enabled) = handshake(&mut client, 1, "GSSAPI").await;
    assert_eq!(code, 33, "UNSUPPORTED_SASL_MECHANISM");
    assert_eq!(enabled, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    expect_closed(client.stream(), "after an unsupported mechanism").await;

    // On a listener without SASL, SaslHandshake is answered ILLEGAL_SASL_STATE, as in Kafka.
    let mut plain = RawClient::open(b.addr("PLAINTEXT"), "weir-sasl-gate").await;
    assert_eq!(handshake(&mut plain, 1, "PLAIN").await.0, 34);
    serves(&b).await;
}

#[tokio::test]
async fn wrong_passwords_are_answered_after_the_delay_then_closed() {
    let b = SecureBroker::start(&[("connection.failed.authentication.delay.ms", "400")]).await;
    let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-sasl-wrong").await;
    assert_eq!(handshake(&mut client, 1, "PLAIN").await.0, 0);
    let started = Instant::now();
    let response = client
        .call(
            2,
            &SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from(plain::message(BOB.0, "guess"))),
        )
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(response.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    let message = response
        .error_message
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert!(message.contains("Authentication failed"), "{message}");
    assert!(
        !message.contains("guess"),
        "the password is echoed: {message}"
    );
    expect_closed(client.stream(), "after a failed authentication").await;

    // The right PLAIN password works, from the JAAS users and from the SCRAM store.
    for (user, password) in [BOB, ALICE] {
        let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-sasl-ok").await;
        assert_eq!(handshake(&mut client, 1, "PLAIN").await.0, 0);
        let response = client
            .call(
                1,
                &SaslAuthenticateRequest::default()
                    .with_auth_bytes(Bytes::from(plain::message(user, password))),
            )
            .await;
        assert_eq!(response.error_code, 0, "{user}: {response:?}");
        let metadata = client.call(9, &MetadataRequest::default()).await;
        assert_eq!(metadata.brokers.len(), 1);
    }
    serves(&b).await;
}

#[tokio::test]
async fn an_oversized_sasl_token_closes_the_connection() {
    let b = SecureBroker::start(&[("sasl.server.max.receive.size", "1024")]).await;
    let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-sasl-big").await;
    assert_eq!(handshake(&mut client, 1, "PLAIN").await.0, 0);
    send_raw(client.stream(), &authenticate_frame(vec![b'x'; 4096], 2)).await;
    expect_closed(
        client.stream(),
        "a SASL token over sasl.server.max.receive.size",
    )
    .await;
    // After authentication the usual limit applies: a produce-sized request is fine.
    let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-sasl-big").await;
    assert_eq!(handshake(&mut client, 1, "PLAIN").await.0, 0);
    let ok = client
        .call(
            2,
            &SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from(plain::message(BOB.0, BOB.1))),
        )
        .await;
    assert_eq!(ok.error_code, 0);
    client.create_topic_at(5, "big-after-auth", 1, &[]).await;
    let batch = crate::support::raw::valid_batch(4, 1000).freeze();
    let produced = client.produce(9, "big-after-auth", vec![(0, batch)]).await;
    assert_eq!(
        produced[0].1, 0,
        "a 4 KB produce after authentication: {produced:?}"
    );
    serves(&b).await;
}

/// A raw token after SaslHandshake v0: `i32` length and the bytes, answered the same way.
async fn raw_token<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    token: &[u8],
) -> Option<Vec<u8>> {
    let mut frame = BytesMut::new();
    frame.put_i32(token.len() as i32);
    frame.extend_from_slice(token);
    stream.write_all(&frame).await.ok()?;
    let len = tokio::time::timeout(WAIT, stream.read_i32())
        .await
        .expect("no answer to a raw token")
        .ok()?;
    let mut body = vec![0; usize::try_from(len).expect("length")];
    stream.read_exact(&mut body).await.ok()?;
    Some(body)
}

#[tokio::test]
async fn the_v0_raw_token_flow_authenticates_plain_and_scram() {
    let b = SecureBroker::start(&[]).await;
    let addr = b.addr("SASL_PLAINTEXT");
    let mut client = RawClient::open(addr, "weir-sasl-v0").await;
    assert_eq!(handshake(&mut client, 0, "PLAIN").await.0, 0);
    let answer = raw_token(client.stream(), &plain::message(BOB.0, BOB.1)).await;
    assert_eq!(answer, Some(Vec::new()), "PLAIN success is an empty token");
    assert_eq!(
        client
            .call(9, &MetadataRequest::default())
            .await
            .brokers
            .len(),
        1
    );

    let mut client = RawClient::open(addr, "weir-sasl-v0").await;
    assert_eq!(handshake(&mut client, 0, "SCRAM-SHA-256").await.0, 0);
    let mut scram = ScramClient::new(Scram::Sha256, ALICE.0, ALICE.1).expect("scram");
    let first = raw_token(client.stream(), &scram.first_message())
        .await
        .expect("server-first");
    let last = scram.final_message(&first).expect("client-final");
    let done = raw_token(client.stream(), &last)
        .await
        .expect("server-final");
    scram.verify_server(&done).expect("server signature");
    assert_eq!(
        client
            .call(9, &MetadataRequest::default())
            .await
            .brokers
            .len(),
        1
    );

    // A wrong password in the raw flow cannot be told: the connection just closes.
    let mut client = RawClient::open(addr, "weir-sasl-v0").await;
    assert_eq!(handshake(&mut client, 0, "PLAIN").await.0, 0);
    assert_eq!(
        raw_token(client.stream(), &plain::message(BOB.0, "nope")).await,
        None
    );
    serves(&b).await;
}

#[tokio::test]
async fn metadata_answers_with_the_listener_the_client_came_in_on() {
    let b = SecureBroker::start(&[(
        "advertised.listeners",
        "SASL_PLAINTEXT://kafka.example:19094",
    )])
    .await;
    let sasl = ClientSecurity::from_properties(&props(&[
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        (
            "sasl.jaas.config",
            format!(
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{}\" password=\"{}\";",
                ALICE.0, ALICE.1
            ),
        ),
    ]))
    .expect("security");
    let mut client = Client::connect_with(
        &b.addr("SASL_PLAINTEXT").to_string(),
        "weir-security-test",
        WAIT,
        sasl,
    )
    .await
    .expect("SCRAM over SASL_PLAINTEXT");
    let brokers = client.metadata(None).await.expect("metadata").brokers;
    assert_eq!(
        (brokers[0].host.as_str(), brokers[0].port),
        ("kafka.example", 19094)
    );
    for listener in ["PLAINTEXT", "SSL"] {
        let security = if listener == "SSL" {
            ssl_client(&b, true)
        } else {
            ClientSecurity::default()
        };
        let mut client = Client::connect_with(
            &b.addr(listener).to_string(),
            "weir-security-test",
            WAIT,
            security,
        )
        .await
        .expect("connect");
        let brokers = client.metadata(None).await.expect("metadata").brokers;
        let addr = b.addr(listener);
        assert_eq!(
            (brokers[0].host.to_string(), brokers[0].port),
            (addr.ip().to_string(), i32::from(addr.port())),
            "{listener}"
        );
    }
}

#[test]
fn secrets_stay_out_of_logs_and_describe_configs() {
    use crate::support::broker::ProcessBroker;
    let certs = Certs::generate();
    let key = std::fs::read_to_string(&certs.server).expect("server key");
    let key_body: String = key.lines().nth(1).expect("a PEM body line").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let jaas = format!(
        "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_{}=\"{}\";",
        BOB.0, BOB.1
    );
    let inline_key = format!("ssl.keystore.key={key}");
    let chain = format!("ssl.keystore.certificate.chain={key}");
    let broker = ProcessBroker::spawn_on(
        "SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        dir.path(),
        &["--set", &jaas, "--set", &inline_key, "--set", &chain],
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        for password in ["wrong-password-1", BOB.1] {
            let mut client = RawClient::open(broker.addr, "weir-secrets").await;
            assert_eq!(handshake(&mut client, 1, "PLAIN").await.0, 0);
            let response = client
                .call(
                    2,
                    &SaslAuthenticateRequest::default()
                        .with_auth_bytes(Bytes::from(plain::message(BOB.0, password))),
                )
                .await;
            if password != BOB.1 {
                assert_eq!(response.error_code, 58);
                continue;
            }
            let described = client
                .call(
                    4,
                    &DescribeConfigsRequest::default().with_resources(vec![
                        DescribeConfigsResource::default()
                            .with_resource_type(4)
                            .with_resource_name(StrBytes::from_static_str("1")),
                    ]),
                )
                .await;
            let configs = &described.results[0].configs;
            for name in [
                "ssl.keystore.key",
                "ssl.keystore.certificate.chain",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config",
            ] {
                let entry = configs
                    .iter()
                    .find(|c| c.name.as_str() == name)
                    .unwrap_or_else(|| panic!("{name} not described"));
                assert!(
                    entry.is_sensitive && entry.value.is_none(),
                    "{name}: {entry:?}"
                );
            }
            let text = format!("{described:?}");
            assert!(!text.contains(BOB.1) && !text.contains(&key_body));
        }
    });
    let log = broker.log();
    assert!(log.contains("failed authentication"), "{log}");
    for secret in [BOB.1, "wrong-password-1", key_body.as_str()] {
        assert!(!log.contains(secret), "a secret is in the log:\n{log}");
    }
}
