//! Kafka's names for APIs and error codes, as the control plane reads and writes them: an API
//! by name (`Produce`, any case) or key, an error by Kafka's name (`NOT_LEADER_OR_FOLLOWER`)
//! or code.

use std::sync::OnceLock;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::versions;

/// An API served by the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiName(pub ApiKey);

/// A Kafka error code (non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorName(pub i16);

/// Parses an API name (any case, `_` and `-` ignored) or key; only APIs the broker serves.
pub fn parse_api(text: &str) -> Result<ApiKey, String> {
    let wanted = squash(text);
    let found = match text.trim().parse::<i16>() {
        Ok(key) => ApiKey::try_from(key).ok(),
        Err(_) => versions::SUPPORTED
            .iter()
            .map(|(api, _, _)| *api)
            .find(|api| squash(&format!("{api:?}")) == wanted),
    };
    found
        .filter(|api| versions::range(*api).is_some())
        .ok_or_else(|| format!("{text:?} is not an API this broker serves"))
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Kafka's name of an error code (`NOT_LEADER_OR_FOLLOWER`), `NONE` for 0.
pub fn error_name(code: i16) -> String {
    if code == 0 {
        return "NONE".to_string();
    }
    match ResponseError::try_from_code(code) {
        Some(ResponseError::Unknown(_)) | None => format!("UNKNOWN_ERROR_{code}"),
        Some(e) => screaming(&format!("{e:?}")),
    }
}

/// Parses an error by Kafka's name (any case) or code.
pub fn parse_error(text: &str) -> Result<i16, String> {
    let text = text.trim();
    if let Ok(code) = text.parse::<i16>() {
        return match ResponseError::try_from_code(code) {
            Some(ResponseError::Unknown(_)) => Err(format!("{code} is not a Kafka error code")),
            _ => Ok(code),
        };
    }
    let wanted = text.to_ascii_uppercase();
    known_errors()
        .iter()
        .find(|(_, name)| *name == wanted)
        .map(|(code, _)| *code)
        .ok_or_else(|| format!("{text:?} is not a Kafka error name (e.g. NOT_LEADER_OR_FOLLOWER)"))
}

fn known_errors() -> &'static [(i16, String)] {
    static KNOWN: OnceLock<Vec<(i16, String)>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        (-1..=i16::from(u8::MAX))
            .filter(|code| {
                !matches!(
                    ResponseError::try_from_code(*code),
                    None | Some(ResponseError::Unknown(_))
                )
            })
            .map(|code| (code, error_name(code)))
            .collect()
    })
}

/// `NotLeaderOrFollower` -> `NOT_LEADER_OR_FOLLOWER`.
fn screaming(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A number or a string, as JSON gives either.
#[derive(Deserialize)]
#[serde(untagged)]
enum NameOrNumber {
    Number(i64),
    Name(String),
}

impl NameOrNumber {
    fn text(self) -> String {
        match self {
            NameOrNumber::Number(n) => n.to_string(),
            NameOrNumber::Name(s) => s,
        }
    }
}

impl Serialize for ApiName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:?}", self.0))
    }
}

impl<'de> Deserialize<'de> for ApiName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = NameOrNumber::deserialize(d)?.text();
        parse_api(&text).map(ApiName).map_err(D::Error::custom)
    }
}

impl Serialize for ErrorName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&error_name(self.0))
    }
}

impl<'de> Deserialize<'de> for ErrorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = NameOrNumber::deserialize(d)?.text();
        parse_error(&text).map(ErrorName).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apis_by_name_or_key() {
        assert_eq!(parse_api("Produce"), Ok(ApiKey::Produce));
        assert_eq!(parse_api("find_coordinator"), Ok(ApiKey::FindCoordinator));
        assert_eq!(parse_api("11"), Ok(ApiKey::JoinGroup));
        assert!(parse_api("Nope").is_err());
        // A real API the broker does not serve.
        assert!(parse_api("ElectLeaders").is_err());
    }

    #[test]
    fn errors_by_kafka_name_or_code() {
        assert_eq!(parse_error("NOT_LEADER_OR_FOLLOWER"), Ok(6));
        assert_eq!(parse_error("coordinator_not_available"), Ok(15));
        assert_eq!(parse_error("UNKNOWN_SERVER_ERROR"), Ok(-1));
        assert_eq!(parse_error("15"), Ok(15));
        assert!(parse_error("NOT_AN_ERROR").is_err());
        assert!(parse_error("9999").is_err());
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(17), "INVALID_TOPIC_EXCEPTION");
    }
}
