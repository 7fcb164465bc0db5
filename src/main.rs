use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOC: weir::alloc::GuardedAlloc = weir::alloc::GuardedAlloc;

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "A broker that speaks the Apache Kafka protocol"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the broker.
    Serve(ServeArgs),
    #[command(flatten)]
    Client(weir::cli::Command),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML config file (keys as Kafka names them, e.g. `log.segment.bytes`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listeners, as Kafka writes them: `PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9094` (a bare
    /// HOST:PORT is the PLAINTEXT listener) [default: 127.0.0.1:9092].
    #[arg(long, value_name = "LISTENERS")]
    listen: Option<String>,
    /// Addresses clients are told to connect to, per listener name, in the same form
    /// [default: each listener's address].
    #[arg(long, value_name = "LISTENERS")]
    advertised: Option<String>,
    /// Folder for topic data [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// This broker's node id [default: 1].
    #[arg(long)]
    node_id: Option<i32>,
    /// Serve the admin HTTP endpoints (admin.listen): Prometheus metrics at /metrics, health
    /// checks at /health/live and /health/ready [default: off].
    #[arg(long, value_name = "HOST:PORT", visible_alias = "metrics-listen")]
    admin_listen: Option<String>,
    /// Any setting by its Kafka name, e.g. `--set log.flush.interval.messages=1`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Make file operations fail on purpose, for failure tests (see `weir::log::faults`).
    #[arg(long, value_name = "SPEC", hide = true)]
    io_faults: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The client commands print their own errors and need no log output.
    let args = match cli.command {
        Command::Client(command) => return weir::cli::run(command),
        Command::Serve(args) => args,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    serve(args)
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut overrides = Vec::new();
    for item in &args.set {
        match item.split_once('=') {
            Some((k, v)) => overrides.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                eprintln!("--set expects KEY=VALUE, got {item:?}");
                return ExitCode::from(2);
            }
        }
    }
    let flag = |key: &str, value: Option<String>| value.map(|v| (key.to_string(), v));
    overrides.extend(flag("listeners", args.listen));
    overrides.extend(flag("advertised.listeners", args.advertised));
    overrides.extend(flag(
        "log.dirs",
        args.data_dir.map(|d| d.to_string_lossy().into_owned()),
    ));
    overrides.extend(flag("node.id", args.node_id.map(|n| n.to_string())));
    overrides.extend(flag("admin.listen", args.admin_listen));

    if let Some(spec) = &args.io_faults {
        if let Err(e) = weir::log::faults::arm_spec(spec) {
            eprintln!("--io-faults: {e}");
            return ExitCode::from(2);
        }
    }
    let config = match weir::Config::load(args.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(weir::broker::run_until_signal(config)) {
        Ok(()) => ExitCode::SUCCESS,
        // Settings that cannot be used (a listener's certificate, say) are refused like any
        // other bad setting.
        Err(e @ weir::Error::Security(_)) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
