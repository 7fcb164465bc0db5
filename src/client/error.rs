//! Errors of the Kafka client. Every message names what failed and, where a broker is involved,
//! its address.

use std::time::Duration;

/// A request could not be made or was answered with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: no answer within {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    #[error("connection to {addr} failed during {api}: {source}")]
    Io {
        addr: String,
        api: String,
        source: std::io::Error,
    },
    #[error("{addr} did not answer {api} within {timeout:?}")]
    Timeout {
        addr: String,
        api: String,
        timeout: Duration,
    },
    #[error("bad {api} response from {addr}: {detail}")]
    Protocol {
        addr: String,
        api: String,
        detail: String,
    },
    #[error("cannot encode a {api} request: {detail}")]
    Encode { api: String, detail: String },
    #[error("the broker at {addr} does not support {api}{detail}")]
    Unsupported {
        addr: String,
        api: String,
        detail: String,
    },
    #[error("{context}: {}{}", error_name(*code), message_suffix(message))]
    Kafka {
        context: String,
        code: i16,
        message: Option<String>,
    },
}

impl ClientError {
    pub fn kafka(context: impl Into<String>, code: i16, message: Option<String>) -> ClientError {
        ClientError::Kafka {
            context: context.into(),
            code,
            message,
        }
    }

    /// Whether the broker closed the connection (or it broke) before answering.
    pub fn is_disconnect(&self) -> bool {
        match self {
            ClientError::Io { source, .. } => is_disconnect(source.kind()),
            _ => false,
        }
    }
}

/// Whether an I/O error means the peer closed or reset the connection.
pub fn is_disconnect(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted
    )
}

/// Returns `Err` for a non-zero Kafka error code, with the broker's message if it sent one.
pub fn check_msg(
    code: i16,
    message: Option<&kafka_protocol::protocol::StrBytes>,
    context: impl FnOnce() -> String,
) -> Result<(), ClientError> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::kafka(
        context(),
        code,
        message.map(|m| m.as_str().to_string()),
    ))
}

/// The Kafka name of an error code, e.g. `UNKNOWN_TOPIC_OR_PARTITION (3)`.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::error::ResponseError::try_from_code(code) {
        None => "NONE (0)".to_string(),
        Some(kafka_protocol::error::ResponseError::Unknown(c)) => format!("error code {c}"),
        Some(err) => {
            let mut name = String::new();
            for (i, ch) in format!("{err}").chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    name.push('_');
                }
                name.push(ch.to_ascii_uppercase());
            }
            format!("{name} ({code})")
        }
    }
}

fn message_suffix(message: &Option<String>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_follow_kafka() {
        assert_eq!(error_name(3), "UNKNOWN_TOPIC_OR_PARTITION (3)");
        assert_eq!(error_name(36), "TOPIC_ALREADY_EXISTS (36)");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR (-1)");
    }
}
