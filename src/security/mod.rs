//! Who a connection is: TLS (rustls) and SASL (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) pieces
//! that `server/` puts together per connection, and the SCRAM credential store.
//!
//! Nothing here knows a request type: `server/` feeds SASL messages in and gets a principal
//! out; handlers only ever see the resulting [`Principal`].

pub mod credentials;
pub mod jaas;
pub mod mapping;
pub mod mechanism;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod scram;
pub mod tls;

pub use credentials::Credentials;
pub use mechanism::{Mechanism, Scram};
pub use principal::Principal;
