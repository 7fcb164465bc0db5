//! The command-line tools in the `weir` binary: `weir topic|group|txn|produce|consume|cluster|user|acl`,
//! and `weir ctl`, the client of a test broker's control plane.
//!
//! They speak the Kafka protocol (through [`crate::client`]) to any Kafka-compatible broker,
//! weir or Apache Kafka. Human tables by default, `--output json` for scripts; the broker comes
//! from `--bootstrap` or `WEIR_BOOTSTRAP`.
//!
//! One file per command group; `output.rs` is the printing.

mod acl;
mod cleaner_metrics;
mod cluster;
mod consume;
pub mod ctl;
pub mod error;
mod group;
mod offsets;
pub mod output;
mod produce;
mod records;
mod seek;
mod topic;
mod txn;
mod user;

use std::process::ExitCode;
use std::time::Duration;

use crate::client::Client;
pub use error::CliError;

/// The client id (and client software name) the tools send.
const CLIENT_ID: &str = "weir-cli";
use output::Format;

/// Options every client command takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Connect {
    /// Broker(s) to start from: comma-separated HOST:PORT.
    #[arg(
        long,
        short = 'b',
        env = "WEIR_BOOTSTRAP",
        hide_env_values = true,
        default_value = "127.0.0.1:9092",
        global = true
    )]
    pub bootstrap: String,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub output: Format,
    /// Timeout for connecting and for each request, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS", global = true)]
    pub timeout: f64,
    /// Kafka client properties for secured listeners: security.protocol, sasl.mechanism,
    /// sasl.jaas.config, ssl.truststore.location, ssl.keystore.location, ... (PEM files).
    #[arg(long, value_name = "FILE", global = true)]
    pub command_config: Option<std::path::PathBuf>,
}

impl Connect {
    pub async fn client(&self) -> Result<Client, CliError> {
        let timeout = Duration::try_from_secs_f64(self.timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                CliError::Usage(format!("--timeout {} is not a duration", self.timeout))
            })?;
        if self.bootstrap.split(',').all(|a| a.trim().is_empty()) {
            return Err(CliError::Usage("--bootstrap is empty".into()));
        }
        let security = match &self.command_config {
            Some(path) => crate::client::ClientSecurity::from_file(path)
                .map_err(|e| CliError::Usage(format!("--command-config {e}")))?,
            None => crate::client::ClientSecurity::default(),
        };
        Ok(Client::connect_with(&self.bootstrap, CLIENT_ID, timeout, security).await?)
    }

    pub fn json(&self) -> bool {
        self.output == Format::Json
    }
}

/// The client subcommands, flattened next to `serve` in `main.rs`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create, list, describe, delete topics; add partitions; change topic configs.
    Topic(topic::TopicArgs),
    /// List, describe and delete consumer groups; move their committed offsets (seek).
    Group(group::GroupArgs),
    /// List and describe transactions, the producers of a partition; find and abort hanging
    /// transactions (like kafka-transactions.sh).
    Txn(txn::TxnArgs),
    /// Send lines from stdin to a topic, one record per line.
    Produce(produce::ProduceArgs),
    /// Print the records of a topic.
    Consume(consume::ConsumeArgs),
    /// Show the cluster: id, controller, brokers, API versions.
    Cluster(cluster::ClusterArgs),
    /// SCRAM users: list, describe, add (or change the password), remove.
    User(user::UserArgs),
    /// ACLs: list, add, remove (like kafka-acls.sh).
    Acl(acl::AclArgs),
    /// Steer a broker started with --control: faults, broker down/up, clock, capture, reset.
    Ctl(ctl::CtlArgs),
}

/// Runs a client command on a single-threaded runtime; prints errors as `error: ...`.
pub fn run(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Topic(args) => topic::run(args).await,
            Command::Group(args) => group::run(args).await,
            Command::Txn(args) => txn::run(args).await,
            Command::Produce(args) => produce::run(args).await,
            Command::Consume(args) => consume::run(args).await,
            Command::Cluster(args) => cluster::run(args).await,
            Command::User(args) => user::run(args).await,
            Command::Acl(args) => acl::run(args).await,
            Command::Ctl(args) => ctl::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Stdio { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Splits `KEY=VALUE`.
pub(crate) fn key_value(item: &str, flag: &str) -> Result<(String, String), CliError> {
    item.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| CliError::Usage(format!("{flag} expects KEY=VALUE, got {item:?}")))
}
