//! A small async Kafka client, built on the `kafka_protocol` codec: the one the command-line
//! tools use, and the one the protocol tests build their raw requests with.
//!
//! - [`wire`]: request frames (typed, or a header plus any body bytes) and response frames.
//! - [`Connection`]: one broker; negotiates versions with ApiVersions (or not, for a test that
//!   wants to send the first request itself), sends at the negotiated or an exact version,
//!   writes several requests before reading their responses (pipelining), writes raw bytes.
//! - [`Client`]: a cluster from a bootstrap list, following Metadata (partition leaders) and
//!   FindCoordinator (group coordinators) to the right broker.
//! - [`security`]: TLS (rustls) and SASL (PLAIN, SCRAM) for secured listeners, from Kafka
//!   client properties.

mod cluster;
mod connection;
mod error;
pub mod security;
pub mod wire;

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

pub use cluster::Client;
pub use connection::{Connection, DEFAULT_CLIENT_ID, MAX_RESPONSE_BYTES};
pub use error::{check_msg, error_name, is_disconnect, ClientError};
pub use security::{ClientSecurity, Stream};
pub use wire::api_name;

/// `text` as a protocol string.
pub fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

pub fn topic_name(text: &str) -> TopicName {
    TopicName(s(text))
}
