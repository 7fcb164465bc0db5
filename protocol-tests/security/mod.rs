//! Listeners, TLS and SASL with real clients: every client over SSL (client certificate),
//! SASL_PLAINTEXT (PLAIN) and SASL_SSL (SCRAM-SHA-512), wrong credentials, hostile input on
//! secure ports, the SCRAM credential APIs and the credential store's crash safety.
//!
//! One broker serves all four listener types at once; certificates are generated per run.

mod certs;
mod clients;
mod credentials;
mod hostile;
mod reauth;

use std::net::SocketAddr;

use weir::security::credentials::Change;
use weir::security::scram::Credential;
use weir::security::Scram;

use crate::support::broker::TestBroker;
pub use certs::Certs;

/// A SCRAM user (both SHA-256 and SHA-512 credentials, in the credential store).
pub const ALICE: (&str, &str) = ("alice", "alice-secret");
/// A PLAIN user of the SASL_PLAINTEXT listener's PlainLoginModule config.
pub const BOB: (&str, &str) = ("bob", "bob-secret");

pub struct SecureBroker {
    pub broker: TestBroker,
    pub certs: Certs,
}

impl SecureBroker {
    /// PLAINTEXT, SSL (client certificate required), SASL_PLAINTEXT (PLAIN with JAAS users,
    /// SCRAM) and SASL_SSL (SCRAM, PLAIN) on free ports, plus `extra` settings.
    pub async fn start(extra: &[(&str, &str)]) -> SecureBroker {
        let certs = Certs::generate();
        let jaas = format!(
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_{}=\"{}\";",
            BOB.0, BOB.1
        );
        let server = Certs::path(&certs.server);
        let ca = Certs::path(&certs.ca);
        let mut settings = vec![
            (
                "listeners",
                "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
            ),
            ("ssl.keystore.location", server.as_str()),
            ("ssl.truststore.location", ca.as_str()),
            ("listener.name.ssl.ssl.client.auth", "required"),
            ("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.as_str()),
            ("num.partitions", "1"),
            ("group.initial.rebalance.delay.ms", "0"),
        ];
        settings.extend_from_slice(extra);
        let broker = TestBroker::start_with(&settings).await;
        add_user(&broker, ALICE.0, ALICE.1).await;
        SecureBroker { broker, certs }
    }

    pub fn addr(&self, listener: &str) -> SocketAddr {
        self.broker
            .handle
            .listener_addr(listener)
            .unwrap_or_else(|| panic!("no {listener} listener"))
    }
}

/// Stores SCRAM-SHA-256 and SCRAM-SHA-512 credentials for `user` directly in the broker.
pub async fn add_user(broker: &TestBroker, user: &str, password: &str) {
    let changes = Scram::BOTH
        .into_iter()
        .map(|mech| Change::Upsert {
            user: user.to_string(),
            mech,
            credential: Credential::new(mech, password, 4096).expect("credential"),
        })
        .collect();
    let store = broker.handle.broker().credentials.clone();
    tokio::task::spawn_blocking(move || store.apply(changes))
        .await
        .expect("store task")
        .expect("store credentials");
}
