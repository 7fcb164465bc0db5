//! KIP-368 re-authentication (`connections.max.reauth.ms`) and OAUTHBEARER with unsecured
//! tokens.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::{MetadataRequest, SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use weir::security::scram::ScramClient;
use weir::security::Scram;

use super::{SecureBroker, ALICE};
use crate::support::raw::{expect_closed, request_frame, send_raw, RawClient};
use crate::support::scrape::scrape;

/// SCRAM-SHA-256 on an open connection (a first authentication or a re-authentication);
/// returns the session lifetime the broker granted.
async fn scram_login(client: &mut RawClient, user: &str, password: &str) -> i64 {
    let handshake = client
        .call(
            1,
            &SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str("SCRAM-SHA-256")),
        )
        .await;
    assert_eq!(handshake.error_code, 0);
    let mut scram = ScramClient::new(Scram::Sha256, user, password).expect("scram");
    let first = client
        .call(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(scram.first_message())),
        )
        .await;
    assert_eq!(first.error_code, 0);
    let last = scram
        .final_message(&first.auth_bytes)
        .expect("client-final");
    let done = client
        .call(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(last)),
        )
        .await;
    assert_eq!(done.error_code, 0, "{done:?}");
    scram
        .verify_server(&done.auth_bytes)
        .expect("server signature");
    done.session_lifetime_ms
}

#[tokio::test]
async fn sessions_end_unless_the_client_authenticates_again() {
    let b = SecureBroker::start(&[("connections.max.reauth.ms", "2000")]).await;
    let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-reauth").await;
    let lifetime = scram_login(&mut client, ALICE.0, ALICE.1).await;
    // The broker started the session before this instant, so it ends by `first + 2 s`.
    let first = Instant::now();
    assert!(
        (1..=2000).contains(&lifetime),
        "session lifetime {lifetime}"
    );
    // Re-authenticated as the same user halfway: the new session runs until at least
    // `first + 3 s`, so the connection goes on past the first session's end.
    tokio::time::sleep_until((first + Duration::from_millis(1000)).into()).await;
    scram_login(&mut client, ALICE.0, ALICE.1).await;
    let second = Instant::now();
    tokio::time::sleep_until((first + Duration::from_millis(2200)).into()).await;
    assert_eq!(
        client
            .call(9, &MetadataRequest::default())
            .await
            .brokers
            .len(),
        1
    );
    // Not again: the next request after the second session's end closes the connection.
    tokio::time::sleep_until((second + Duration::from_millis(2300)).into()).await;
    send_raw(
        client.stream(),
        &request_frame(&MetadataRequest::default(), 9, 50),
    )
    .await;
    expect_closed(client.stream(), "a request after the SASL session ended").await;

    // Re-authenticating as someone else is refused.
    super::add_user(&b.broker, "mallory", "mallory-secret").await;
    let mut client = RawClient::open(b.addr("SASL_PLAINTEXT"), "weir-reauth").await;
    scram_login(&mut client, ALICE.0, ALICE.1).await;
    client
        .call(
            1,
            &SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str("SCRAM-SHA-256")),
        )
        .await;
    let mut scram = ScramClient::new(Scram::Sha256, "mallory", "mallory-secret").expect("scram");
    let first = client
        .call(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(scram.first_message())),
        )
        .await;
    let last = scram
        .final_message(&first.auth_bytes)
        .expect("client-final");
    let done = client
        .call(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(last)),
        )
        .await;
    assert_eq!(
        done.error_code, 58,
        "changing principals on re-authentication"
    );
    expect_closed(client.stream(), "after a refused re-authentication").await;
}

fn rdkafka_producer(bootstrap: &str, settings: &[(&str, &str)]) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "20000")
        .set("linger.ms", "0");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    config.create().expect("producer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_authenticates_again_on_the_same_connection() {
    let b = SecureBroker::start(&[
        ("connections.max.reauth.ms", "1000"),
        ("admin.listen", "127.0.0.1:0"),
    ])
    .await;
    let producer = rdkafka_producer(
        &b.addr("SASL_PLAINTEXT").to_string(),
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", ALICE.0),
            ("sasl.password", ALICE.1),
        ],
    );
    let admin = b.broker.handle.admin_addr().expect("admin listener");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sent = 0;
    // Produce until the broker has seen more SaslHandshakes than the client has connections
    // (bootstrap and broker): re-authentications on open connections.
    loop {
        producer
            .send(
                FutureRecord::to("reauth").key("k").payload("v"),
                Duration::from_secs(10),
            )
            .await
            .expect("produce across re-authentications");
        sent += 1;
        let metrics = scrape(admin).await;
        let handshakes = metrics
            .get("weir_requests_total{api=\"SaslHandshake\"}")
            .copied()
            .unwrap_or(0.0);
        let connections = metrics
            .get("weir_connections_total")
            .copied()
            .unwrap_or(0.0);
        if handshakes > connections + 1.0 && sent > 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no re-authentication seen: {handshakes} handshakes on {connections} connections"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_with_unsecured_tokens() {
    let b = SecureBroker::start(&[(
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms",
        "OAUTHBEARER",
    )])
    .await;
    let producer = rdkafka_producer(
        &b.addr("SASL_PLAINTEXT").to_string(),
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=alice"),
        ],
    );
    let delivery = producer
        .send(
            FutureRecord::to("oauth").key("k").payload("v"),
            Duration::from_secs(10),
        )
        .await
        .expect("produce with an unsecured OAUTHBEARER token");
    assert_eq!((delivery.partition, delivery.offset), (0, 0));
}
