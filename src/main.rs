use std::path::{Path, PathBuf};
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
    /// Serve the test-control plane (control.enable) on the admin listener: fault rules,
    /// broker down/up, the clock, request capture, reset. For test doubles only.
    #[arg(long)]
    control: bool,
    /// The broker clock (control.clock): `system`, or `manual` (stands still until
    /// `POST /clock/advance` or `weir ctl clock advance` moves it; implies --control).
    #[arg(long, value_name = "system|manual")]
    clock: Option<String>,
    /// Create these topics at start if they do not exist, and again after each reset: a TOML
    /// (or .json) file of `[[topic]]` tables with name, partitions and configs.
    #[arg(long, value_name = "FILE")]
    topics: Option<PathBuf>,
    /// Keep the data in a private temporary folder, removed when the broker stops.
    #[arg(long, conflicts_with = "data_dir")]
    ephemeral: bool,
    /// Once the broker accepts connections, write its bound addresses here as one JSON line
    /// (the same line it prints on stdout); removed when it stops.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
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
    let manual = match args.clock.as_deref() {
        None => false,
        Some("manual") => true,
        Some("system") => false,
        Some(other) => {
            eprintln!("--clock takes system or manual, not {other:?}");
            return ExitCode::from(2);
        }
    };
    if let Some(clock) = args.clock {
        overrides.push(("control.clock".to_string(), clock));
    }
    if args.control || manual {
        overrides.push(("control.enable".to_string(), "true".to_string()));
    }

    if let Some(spec) = &args.io_faults {
        if let Err(e) = weir::log::faults::arm_spec(spec) {
            eprintln!("--io-faults: {e}");
            return ExitCode::from(2);
        }
    }
    // Checked before the runtime starts, so a bad setting is a usage error naming the key.
    let config = match weir::Config::load(args.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if config.control_enable && config.admin_listen.is_none() {
        eprintln!(
            "control.enable: the control plane is served on the admin listener: set admin.listen (--admin-listen 127.0.0.1:0)"
        );
        return ExitCode::from(2);
    }
    if let Some(path) = &args.ready_file {
        // A file left by an earlier run must not be taken for this one's.
        let _ = std::fs::remove_file(path);
    }
    let mut builder = weir::Broker::builder().with_env();
    if let Some(file) = &args.config {
        builder = builder.config_file(file);
    }
    for (key, value) in &overrides {
        builder = builder.set(key, value);
    }
    if let Some(path) = args.topics {
        builder = builder.topics_file(path);
    }
    if args.ephemeral {
        builder = builder.ephemeral();
    }
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
    let ready_file = args.ready_file;
    let served = runtime.block_on(async {
        let handle = builder.start().await?;
        announce(&handle, ready_file.as_deref())?;
        let served = weir::broker::run_until_signal(handle).await;
        if let Some(path) = &ready_file {
            let _ = std::fs::remove_file(path);
        }
        served
    });
    match served {
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

/// Prints the machine-readable ready line on stdout and writes it to `ready_file` (whole, by
/// a rename, so a harness never reads half of it).
fn announce(handle: &weir::BrokerHandle, ready_file: Option<&Path>) -> Result<(), weir::Error> {
    let line = weir::control::ready_line(handle);
    if let Some(path) = ready_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{line}\n"))?;
        std::fs::rename(&tmp, path)?;
    }
    // After the file: whoever reads this line finds the file written too.
    println!("{line}");
    Ok(())
}
