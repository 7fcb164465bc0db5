//! The SASL mechanisms weir serves, by their Kafka names.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

/// Every mechanism weir serves, in the order their names are listed.
pub const ALL: [Mechanism; 4] = [
    Mechanism::Plain,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
    Mechanism::OAuthBearer,
];

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// By its Kafka name (exact, as Kafka matches it).
    pub fn parse(name: &str) -> Option<Mechanism> {
        ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn scram(self) -> Option<Scram> {
        match self {
            Mechanism::ScramSha256 => Some(Scram::Sha256),
            Mechanism::ScramSha512 => Some(Scram::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SCRAM mechanism: its hash, and its code in the SCRAM credential APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scram {
    Sha256,
    Sha512,
}

impl Scram {
    pub const BOTH: [Scram; 2] = [Scram::Sha256, Scram::Sha512];
    /// Kafka's bounds on the iteration count of a stored credential.
    pub const MIN_ITERATIONS: i32 = 4096;
    pub const MAX_ITERATIONS: i32 = 16384;

    pub fn mechanism(self) -> Mechanism {
        match self {
            Scram::Sha256 => Mechanism::ScramSha256,
            Scram::Sha512 => Mechanism::ScramSha512,
        }
    }

    pub fn name(self) -> &'static str {
        self.mechanism().name()
    }

    /// The `mechanism` byte of DescribeUserScramCredentials / AlterUserScramCredentials.
    pub fn code(self) -> i8 {
        match self {
            Scram::Sha256 => 1,
            Scram::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<Scram> {
        Scram::BOTH.into_iter().find(|s| s.code() == code)
    }

    pub fn parse(name: &str) -> Option<Scram> {
        Mechanism::parse(name).and_then(Mechanism::scram)
    }
}

impl fmt::Display for Scram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
