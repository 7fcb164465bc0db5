//! What SASL users may do, as ACLs set with `weir acl` say: alice may write and read topics
//! prefixed `a.` and read with group `ga`, except write `a.secret` (deny over allow), and use
//! transactional id `tx-a`; bob, logged in with PLAIN, has no ACL. Produce, consume, groups,
//! transactions (rdkafka over SASL_PLAINTEXT), Metadata hiding and auto-creation (weir's
//! client) hold as Kafka's StandardAuthorizer decides; `User:ANONYMOUS` on PLAINTEXT is a super
//! user and sees everything.

use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::MetadataRequest;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message};
use weir::client::{topic_name, Client, ClientSecurity};

use crate::cli::weir;
use crate::security::{SecureBroker, ALICE, BOB};

const WAIT: Duration = Duration::from_secs(15);
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;

/// librdkafka settings for alice (SCRAM-SHA-512) or bob (PLAIN) over SASL_PLAINTEXT.
fn login(user: (&str, &str)) -> Vec<(&'static str, String)> {
    let mechanism = if user == BOB {
        "PLAIN"
    } else {
        "SCRAM-SHA-512"
    };
    vec![
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanisms", mechanism.into()),
        ("sasl.username", user.0.into()),
        ("sasl.password", user.1.into()),
    ]
}

fn config(b: &SecureBroker, user: (&str, &str)) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", b.addr("SASL_PLAINTEXT").to_string());
    for (k, v) in login(user) {
        config.set(k, v);
    }
    config
}

fn producer(b: &SecureBroker, user: (&str, &str), extra: &[(&str, &str)]) -> FutureProducer {
    let mut config = config(b, user);
    config
        .set("message.timeout.ms", "10000")
        .set("linger.ms", "0");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config.create().expect("producer")
}

/// The error code of producing one record, `None` when it was written.
async fn produce(p: &FutureProducer, topic: &str) -> Option<RDKafkaErrorCode> {
    let record = FutureRecord::to(topic).key("k").payload("v");
    match p.send(record, Duration::from_secs(10)).await {
        Ok(_) => None,
        Err((e, _)) => Some(e.rdkafka_error_code().expect("a Kafka error code")),
    }
}

/// Subscribes with `group` and polls until a record or an error comes.
fn consume(
    b: &SecureBroker,
    user: (&str, &str),
    group: &str,
    topic: &str,
) -> Result<(), KafkaError> {
    let consumer: BaseConsumer = config(b, user)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                assert_eq!(m.payload(), Some(&b"v"[..]));
                consumer
                    .commit_message(&m, rdkafka::consumer::CommitMode::Sync)
                    .map_err(|e| {
                        eprintln!("commit: {e}");
                        e
                    })?;
                return Ok(());
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    panic!("{group}: neither a record nor an error within {WAIT:?}");
}

/// A Kafka client logged in as `user` over SASL_PLAINTEXT.
async fn client(b: &SecureBroker, user: (&str, &str)) -> Client {
    let mechanism = if user == BOB {
        "PLAIN"
    } else {
        "SCRAM-SHA-512"
    };
    let module = if user == BOB {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    let props = format!(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism={mechanism}\nsasl.jaas.config={module} required username=\"{}\" password=\"{}\";\n",
        user.0, user.1
    );
    let props = weir::client::security::parse_properties(&props);
    let security = ClientSecurity::from_properties(&props).expect("client properties");
    Client::connect_with(
        &b.addr("SASL_PLAINTEXT").to_string(),
        "weir-acl-test",
        WAIT,
        security,
    )
    .await
    .expect("log in")
}

/// The topics a Metadata request for every topic shows.
async fn visible(client: &mut Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .metadata(None)
        .await
        .expect("metadata")
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    names.sort();
    names
}

/// Metadata for `topic` with auto-creation asked for: its error code.
async fn auto_create(client: &mut Client, topic: &str) -> i16 {
    let response = client
        .call(|_| {
            MetadataRequest::default()
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
                ]))
                .with_allow_auto_topic_creation(true)
        })
        .await
        .expect("metadata");
    response.topics[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_users_get_what_their_acls_allow() {
    let mut settings = super::AUTHORIZER.to_vec();
    settings.push(("auto.create.topics.enable", "true"));
    let b = SecureBroker::start(&settings).await;
    let admin = b.addr("PLAINTEXT").to_string();
    for topic in ["a.orders", "a.secret", "b.private"] {
        weir(&admin, &["topic", "create", topic], None).await.ok();
    }
    let acl = |args: &'static [&'static str]| {
        let admin = admin.clone();
        async move {
            let mut full = vec!["acl"];
            full.extend_from_slice(args);
            weir(&admin, &full, None).await.ok().to_string()
        }
    };
    acl(&[
        "add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Write",
        "--operation",
        "Read",
        "--topic",
        "a.",
        "--resource-pattern-type",
        "prefixed",
    ])
    .await;
    acl(&[
        "add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "read",
        "--group",
        "ga",
    ])
    .await;
    acl(&[
        "add",
        "--deny-principal",
        "User:alice",
        "--operation",
        "WRITE",
        "--topic",
        "a.secret",
    ])
    .await;
    let added = acl(&[
        "add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "write",
        "--transactional-id",
        "tx-a",
    ])
    .await;
    assert!(added.contains("TRANSACTIONAL_ID"), "{added}");
    let listed = weir(&admin, &["acl", "list", "--output", "json"], None)
        .await
        .json();
    assert_eq!(listed.as_array().expect("a list").len(), 5, "{listed}");
    let matching = weir(
        &admin,
        &[
            "acl",
            "list",
            "--topic",
            "a.orders",
            "--resource-pattern-type",
            "match",
            "--output",
            "json",
        ],
        None,
    )
    .await
    .json();
    assert_eq!(matching.as_array().expect("a list").len(), 2, "{matching}");

    // Produce: prefixed allow, deny over allow, no ACL at all, another user. The producer is
    // idempotent: InitProducerId passes on WRITE to some topic.
    let alice = producer(&b, ALICE, &[("enable.idempotence", "true")]);
    assert_eq!(produce(&alice, "a.orders").await, None);
    assert_eq!(
        produce(&alice, "a.secret").await,
        Some(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    assert_eq!(
        produce(&alice, "b.private").await,
        Some(RDKafkaErrorCode::TopicAuthorizationFailed)
    );
    let bob = producer(&b, BOB, &[]);
    assert_eq!(
        produce(&bob, "a.orders").await,
        Some(RDKafkaErrorCode::TopicAuthorizationFailed)
    );

    // Consume: alice with group ga reads and commits; with group gb she is refused; bob is
    // refused the topic.
    let b2 = &b;
    tokio::task::block_in_place(|| {
        consume(b2, ALICE, "ga", "a.orders").expect("alice reads with group ga");
        let refused = consume(b2, ALICE, "gb", "a.orders").expect_err("group gb");
        assert_eq!(
            refused.rdkafka_error_code(),
            Some(RDKafkaErrorCode::GroupAuthorizationFailed),
            "{refused}"
        );
    });

    // Transactions: tx-a is alice's, tx-b is nobody's.
    let txn = producer(&b, ALICE, &[("transactional.id", "tx-a")]);
    tokio::task::block_in_place(|| {
        txn.init_transactions(WAIT).expect("init tx-a");
        txn.begin_transaction().expect("begin");
    });
    assert_eq!(produce(&txn, "a.orders").await, None);
    tokio::task::block_in_place(|| txn.commit_transaction(WAIT).expect("commit tx-a"));
    let other = producer(&b, ALICE, &[("transactional.id", "tx-b")]);
    let refused = tokio::task::block_in_place(|| other.init_transactions(WAIT))
        .expect_err("tx-b is not alice's");
    assert_eq!(
        refused.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed),
        "{refused}"
    );

    // Metadata shows each principal the topics it may describe; the super user sees all.
    let mut alice_client = client(&b, ALICE).await;
    assert_eq!(visible(&mut alice_client).await, ["a.orders", "a.secret"]);
    let mut bob_client = client(&b, BOB).await;
    assert!(visible(&mut bob_client).await.is_empty());
    let mut super_client = Client::connect(&admin, "weir-acl-test", WAIT)
        .await
        .expect("connect");
    assert_eq!(
        visible(&mut super_client).await,
        ["a.orders", "a.secret", "b.private"]
    );
    let named = alice_client
        .metadata(Some(&["b.private".to_string()]))
        .await
        .expect("metadata");
    assert_eq!(named.topics[0].error_code, TOPIC_AUTHORIZATION_FAILED);

    // A TLS client is the principal of its certificate's subject (RFC 2253: the last RDN of
    // the certificate first).
    let chain = std::fs::read_to_string(&b.certs.client_cert).expect("cert");
    let key = std::fs::read_to_string(&b.certs.client_key).expect("key");
    let tls = ClientSecurity::from_properties(&[
        ("security.protocol".to_string(), "SSL".to_string()),
        (
            "ssl.truststore.location".to_string(),
            crate::security::Certs::path(&b.certs.ca),
        ),
        ("ssl.keystore.certificate.chain".to_string(), chain),
        ("ssl.keystore.key".to_string(), key),
    ])
    .expect("client security");
    let mut cert_client =
        Client::connect_with(&b.addr("SSL").to_string(), "weir-acl-test", WAIT, tls)
            .await
            .expect("connect over SSL");
    assert!(visible(&mut cert_client).await.is_empty());
    acl(&[
        "add",
        "--allow-principal",
        "User:O=weir,CN=alice",
        "--operation",
        "Describe",
        "--topic",
        "b.private",
    ])
    .await;
    assert_eq!(visible(&mut cert_client).await, ["b.private"]);

    // Auto-creation needs CREATE: refused until alice may create topics prefixed a.
    assert_eq!(
        auto_create(&mut alice_client, "a.new").await,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert!(!visible(&mut super_client)
        .await
        .contains(&"a.new".to_string()));
    acl(&[
        "add",
        "--allow-principal",
        "User:alice",
        "--operation",
        "Create",
        "--topic",
        "a.",
        "--resource-pattern-type",
        "prefixed",
    ])
    .await;
    assert_eq!(auto_create(&mut alice_client, "a.new").await, 0);
    assert!(visible(&mut super_client)
        .await
        .contains(&"a.new".to_string()));

    // Removing the deny lets the prefixed allow through.
    let removed = acl(&[
        "remove",
        "--topic",
        "a.secret",
        "--deny-principal",
        "User:alice",
    ])
    .await;
    assert!(removed.contains("a.secret"), "{removed}");
    let alice = producer(&b, ALICE, &[]);
    assert_eq!(produce(&alice, "a.secret").await, None);
}
