//! Errors of the command-line tools. Every message names what failed and, where a broker is
//! involved, its address.

use crate::client::ClientError;

/// A command failed; `main` prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Connecting, a request, or a Kafka error code in an answer.
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("unknown topic {topic:?} (broker {addr})")]
    UnknownTopic { topic: String, addr: String },
    #[error("{0}")]
    Usage(String),
    /// A call of the test-control plane failed (`weir ctl`).
    #[error("{0}")]
    Control(String),
    #[error("{what}: {source}")]
    Stdio {
        what: &'static str,
        source: std::io::Error,
    },
}

impl CliError {
    pub fn kafka(context: impl Into<String>, code: i16, message: Option<String>) -> CliError {
        ClientError::kafka(context, code, message).into()
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
    Ok(crate::client::check_msg(code, message, context)?)
}
