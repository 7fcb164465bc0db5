//! Errors of the command-line tools. Every message names what failed and, where a broker is
//! involved, its address.

use std::time::Duration;

/// A command failed; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
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
    #[error("unknown topic {topic:?} (broker {addr})")]
    UnknownTopic { topic: String, addr: String },
    #[error("{0}")]
    Usage(String),
    #[error("{what}: {source}")]
    Stdio {
        what: &'static str,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn kafka(context: impl Into<String>, code: i16, message: Option<String>) -> CliError {
        CliError::Kafka {
            context: context.into(),
            code,
            message,
        }
    }

    /// Exit status: 2 for a usage error (as clap uses), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Returns `Err` for a non-zero Kafka error code.
pub fn check(code: i16, context: impl FnOnce() -> String) -> Result<(), CliError> {
    check_msg(code, None, context)
}

/// Like [`check`], with the broker's error message.
pub fn check_msg(
    code: i16,
    message: Option<&kafka_protocol::protocol::StrBytes>,
    context: impl FnOnce() -> String,
) -> Result<(), CliError> {
    if code == 0 {
        return Ok(());
    }
    Err(CliError::kafka(
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
