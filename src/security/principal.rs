//! Who is on the other end of a connection, as Kafka names it: `User:alice`.

use std::fmt;

/// Kafka's principal type for users; the only type weir's authenticators produce.
pub const USER_TYPE: &str = "User";
/// The name of the principal of a connection that did not authenticate (plaintext, or TLS
/// without a client certificate).
pub const ANONYMOUS: &str = "ANONYMOUS";

/// An authenticated (or anonymous) principal, `User:<name>` in Kafka's notation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub kind: String,
    pub name: String,
}

impl Principal {
    pub fn user(name: impl Into<String>) -> Principal {
        Principal {
            kind: USER_TYPE.to_string(),
            name: name.into(),
        }
    }

    pub fn anonymous() -> Principal {
        Principal::user(ANONYMOUS)
    }

    pub fn is_anonymous(&self) -> bool {
        self.kind == USER_TYPE && self.name == ANONYMOUS
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_kafka_does() {
        assert_eq!(Principal::user("alice").to_string(), "User:alice");
        assert_eq!(Principal::anonymous().to_string(), "User:ANONYMOUS");
        assert!(Principal::anonymous().is_anonymous());
    }
}
