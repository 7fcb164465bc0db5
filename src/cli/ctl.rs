//! `weir ctl`: the test-control plane of a running `weir serve --control`, over its admin
//! HTTP listener (`--admin` or `WEIR_ADMIN`). Each command is one call of the HTTP API
//! (`admin/control.rs`) and prints its JSON answer (pretty; one line with `--output json`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::error::CliError;
use super::output::{print, Format};
use crate::clock::monotonic;
use crate::control::Rule;

#[derive(clap::Args, Debug)]
pub struct CtlArgs {
    /// The broker's admin listener (HOST:PORT), where `weir serve --control` serves the API.
    #[arg(
        long,
        short = 'a',
        env = "WEIR_ADMIN",
        hide_env_values = true,
        global = true
    )]
    admin: Option<String>,
    /// `table` prints the answer as indented JSON, `json` as one line.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    output: Format,
    /// Timeout for each call, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", global = true)]
    timeout: f64,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CtlCommand {
    /// Broker up or down, the clock, fault rules, capture and seeded topics at a glance.
    Status,
    /// Fault rules: add, list, remove, clear.
    Fault {
        #[command(subcommand)]
        command: FaultCommand,
    },
    /// Throttle a client: its answers carry throttle_time_ms and its connection is muted for
    /// that long (a fault rule matching its client id).
    Throttle {
        #[arg(long)]
        client_id: String,
        /// How long, e.g. 500ms or 2s.
        #[arg(long, value_parser = parse_duration)]
        time: Duration,
        /// Only the next N requests.
        #[arg(long)]
        times: Option<u64>,
    },
    /// Take the broker down (listener closed, connections dropped) or bring it back up.
    Broker {
        #[arg(value_parser = ["down", "up"])]
        state: String,
    },
    /// Show, advance or set the broker clock (advance and set need --clock manual).
    Clock {
        #[command(subcommand)]
        command: Option<ClockCommand>,
    },
    /// Request capture: start, stop, show, clear.
    Capture {
        #[command(subcommand)]
        command: CaptureCommand,
    },
    /// Delete every topic, group and committed offset, clear faults and captured requests,
    /// bring the broker up, and create the seeded topics again.
    Reset,
}

#[derive(clap::Subcommand, Debug)]
enum FaultCommand {
    /// Add a rule: a match, exactly one action, optional limits.
    Add(Box<FaultAdd>),
    /// The rules in the order they are checked, with how often each fired.
    List,
    /// Remove one rule.
    Remove { id: u64 },
    /// Remove every rule.
    Clear,
}

#[derive(clap::Args, Debug)]
struct FaultAdd {
    /// The whole rule as JSON (as `POST /faults` takes it) instead of the flags below.
    #[arg(long, conflicts_with_all = ["api", "error", "latency", "close", "swallow", "throttle"])]
    json: Option<String>,
    /// Check this rule before the others at this position (0 = first).
    #[arg(long)]
    position: Option<usize>,
    /// The API, by name (Produce, FindCoordinator, ...) or key.
    #[arg(long)]
    api: Option<String>,
    #[arg(long)]
    min_version: Option<i16>,
    #[arg(long)]
    max_version: Option<i16>,
    #[arg(long)]
    topic: Option<String>,
    #[arg(long)]
    partition: Option<i32>,
    #[arg(long = "group")]
    group_id: Option<String>,
    #[arg(long)]
    transactional_id: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long)]
    listener: Option<String>,
    /// Answer with this Kafka error (NOT_LEADER_OR_FOLLOWER, or its code).
    #[arg(long)]
    error: Option<String>,
    /// Where the error goes: auto, top_level or partitions.
    #[arg(long, requires = "error")]
    scope: Option<String>,
    /// Handle the request after this delay, e.g. 200ms.
    #[arg(long, value_parser = parse_duration)]
    latency: Option<Duration>,
    /// Close the connection instead of answering.
    #[arg(long)]
    close: bool,
    /// Never answer (nothing more on that connection is answered either).
    #[arg(long)]
    swallow: bool,
    /// Answer with this throttle time and mute the connection for it.
    #[arg(long, value_parser = parse_duration)]
    throttle: Option<Duration>,
    /// Fire for the next N matching requests only.
    #[arg(long)]
    times: Option<u64>,
    /// Fire with this probability (0 < P <= 1).
    #[arg(long)]
    probability: Option<f64>,
    /// Seed for --probability.
    #[arg(long)]
    seed: Option<u64>,
    /// Start firing after this long, e.g. 5s.
    #[arg(long, value_parser = parse_duration)]
    after: Option<Duration>,
    /// Stop firing this long after the rule was added (--after included).
    #[arg(long = "for", value_parser = parse_duration)]
    for_: Option<Duration>,
}

#[derive(clap::Subcommand, Debug)]
enum ClockCommand {
    /// The broker clock and whether it is manual.
    Show,
    /// Move a manual clock forward, e.g. `advance 46s`.
    Advance {
        #[arg(value_parser = parse_duration)]
        by: Duration,
        /// Spread the advance over this much real time, so live clients keep heartbeating.
        #[arg(long, value_parser = parse_duration)]
        over: Option<Duration>,
    },
    /// Set a manual clock to MS milliseconds since the epoch.
    Set { ms: i64 },
}

#[derive(clap::Subcommand, Debug)]
enum CaptureCommand {
    /// Start capturing requests.
    Start {
        /// How many requests to keep (the oldest go first) [default: 10000].
        #[arg(long)]
        capacity: Option<usize>,
    },
    /// Stop capturing (what was captured stays).
    Stop,
    /// Print captured requests, oldest first.
    Show {
        #[arg(long)]
        api: Option<String>,
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long = "group")]
        group_id: Option<String>,
        #[arg(long)]
        topic: Option<String>,
        /// Only requests after this sequence number.
        #[arg(long)]
        after: Option<u64>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Drop what was captured.
    Clear,
}

/// Parses `500ms`, `46s`, `2m`, `1h`, `1d`, or a number of milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 46s, 1d)"))?;
    let ms = match unit.trim() {
        "" | "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" | "min" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (ms, s, m, h, d)"
            ))
        }
    };
    ms.map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Builds the rule `fault add` describes.
fn rule(add: FaultAdd) -> Result<Rule, CliError> {
    if let Some(json) = add.json {
        return serde_json::from_str(&json)
            .map_err(|e| CliError::Usage(format!("--json is not a rule: {e}")));
    }
    let mut rule = Rule {
        min_version: add.min_version,
        max_version: add.max_version,
        topic: add.topic,
        partition: add.partition,
        group_id: add.group_id,
        transactional_id: add.transactional_id,
        client_id: add.client_id,
        listener: add.listener,
        latency_ms: add.latency.map(ms),
        close: add.close,
        swallow: add.swallow,
        throttle_ms: add.throttle.map(ms),
        times: add.times,
        probability: add.probability,
        seed: add.seed,
        after_ms: add.after.map(ms),
        for_ms: add.for_.map(ms),
        ..Rule::default()
    };
    // The names go through the same parsing as the JSON API.
    let mut names = serde_json::Map::new();
    if let Some(api) = add.api {
        names.insert("api".into(), Value::String(api));
    }
    if let Some(error) = add.error {
        names.insert("error".into(), Value::String(error));
    }
    if let Some(scope) = add.scope {
        names.insert("scope".into(), Value::String(scope));
    }
    let named: Rule =
        serde_json::from_value(Value::Object(names)).map_err(|e| CliError::Usage(e.to_string()))?;
    rule.api = named.api;
    rule.error = named.error;
    rule.scope = named.scope;
    rule.action().map_err(CliError::Usage)?;
    Ok(rule)
}

pub async fn run(args: CtlArgs) -> Result<(), CliError> {
    let admin = args.admin.clone().ok_or_else(|| {
        CliError::Usage(
            "name the broker's admin listener: --admin HOST:PORT (or WEIR_ADMIN)".into(),
        )
    })?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| CliError::Usage(format!("--timeout {} is not a duration", args.timeout)))?;
    let http = Http { admin, timeout };
    let (method, path, body) = match args.command {
        CtlCommand::Status => (Method::GET, "/control".to_string(), None),
        CtlCommand::Fault { command } => match command {
            FaultCommand::Add(add) => {
                let position = add.position;
                let rule = rule(*add)?;
                let path = match position {
                    Some(p) => format!("/faults?position={p}"),
                    None => "/faults".to_string(),
                };
                (Method::POST, path, Some(json!(rule)))
            }
            FaultCommand::List => (Method::GET, "/faults".into(), None),
            FaultCommand::Remove { id } => (Method::DELETE, format!("/faults/{id}"), None),
            FaultCommand::Clear => (Method::DELETE, "/faults".into(), None),
        },
        CtlCommand::Throttle {
            client_id,
            time,
            times,
        } => {
            let rule = Rule {
                client_id: Some(client_id),
                throttle_ms: Some(ms(time)),
                times,
                ..Rule::default()
            };
            (Method::POST, "/faults".into(), Some(json!(rule)))
        }
        CtlCommand::Broker { state } => (Method::POST, format!("/broker/{state}"), None),
        CtlCommand::Clock { command } => match command.unwrap_or(ClockCommand::Show) {
            ClockCommand::Show => (Method::GET, "/clock".into(), None),
            ClockCommand::Advance { by, over } => (
                Method::POST,
                "/clock/advance".into(),
                Some(json!({ "ms": ms(by), "over_ms": over.map(ms) })),
            ),
            ClockCommand::Set { ms } => {
                (Method::POST, "/clock/set".into(), Some(json!({ "ms": ms })))
            }
        },
        CtlCommand::Capture { command } => match command {
            CaptureCommand::Start { capacity } => (
                Method::POST,
                "/capture/start".into(),
                Some(json!({ "capacity": capacity })),
            ),
            CaptureCommand::Stop => (Method::POST, "/capture/stop".into(), None),
            CaptureCommand::Clear => (Method::DELETE, "/capture".into(), None),
            CaptureCommand::Show {
                api,
                client_id,
                group_id,
                topic,
                after,
                limit,
            } => {
                let mut query = Vec::new();
                let mut add = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        query.push(format!("{k}={}", encode_query(&v)));
                    }
                };
                add("api", api);
                add("client_id", client_id);
                add("group_id", group_id);
                add("topic", topic);
                add("after", after.map(|a| a.to_string()));
                add("limit", limit.map(|l| l.to_string()));
                let path = if query.is_empty() {
                    "/capture".to_string()
                } else {
                    format!("/capture?{}", query.join("&"))
                };
                (Method::GET, path, None)
            }
        },
        CtlCommand::Reset => (Method::POST, "/reset".into(), None),
    };
    let answer = http.call(method, &path, body).await?;
    let text = if args.output == Format::Json {
        serde_json::to_string(&answer)
    } else {
        serde_json::to_string_pretty(&answer)
    };
    print(&format!("{}\n", text.unwrap_or_default()))
}

/// Percent-encodes a query value (names may hold `.`, `-`, `_` and nothing needs more than
/// the unreserved set kept as is).
fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Http {
    admin: String,
    timeout: Duration,
}

impl Http {
    /// One HTTP/1.1 request on its own connection; the JSON answer, or the error it names.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        let fail =
            |what: String| CliError::Control(format!("{} {path} ({}): {what}", method, self.admin));
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.admin)
                .await
                .map_err(|e| fail(format!("cannot connect: {e}")))?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
            tokio::spawn(connection);
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            let request = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(hyper::header::HOST, &self.admin)
                .header(hyper::header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| fail(e.to_string()))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(e.to_string()))?
                .to_bytes();
            let value: Option<Value> = serde_json::from_slice(&bytes).ok();
            if !status.is_success() {
                let message = value
                    .as_ref()
                    .and_then(|v| v.get("error"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| String::from_utf8_lossy(&bytes).trim().to_string());
                // A 404 that is not JSON is the listener's own: no control plane there.
                let hint = if status == hyper::StatusCode::NOT_FOUND && value.is_none() {
                    " (is the broker started with --control?)"
                } else {
                    ""
                };
                return Err(fail(format!("{status}: {message}{hint}")));
            }
            value.ok_or_else(|| fail("the answer is not JSON".into()))
        };
        monotonic::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(fail(format!("no answer within {:?}", self.timeout))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("46s"), Ok(Duration::from_secs(46)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("a b/ü"), "a%20b%2F%C3%BC");
        assert_eq!(encode_query("orders.v1-x_y"), "orders.v1-x_y");
    }
}
