//! Broker settings, named as Apache Kafka names them.
//!
//! Layers, lowest first: built-in defaults (Kafka's), a TOML file, `WEIR_*` environment
//! variables (`WEIR_LOG_SEGMENT_BYTES` sets `log.segment.bytes`), then explicit overrides
//! (command-line flags or the embedding builder). A TOML file may write keys dotted
//! (`log.segment.bytes = 1048576`) or nested; both mean the same key.

use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat};

use crate::log::{LogConfig, TimestampType};

/// Every key weir understands, with Kafka's default written as TOML would read it.
const DEFAULTS: &[(&str, Default)] = &[
    ("listeners", Default::Str("127.0.0.1:9092")),
    ("advertised.listeners", Default::Str("")),
    ("node.id", Default::Int(1)),
    ("log.dirs", Default::Str("./data")),
    ("num.partitions", Default::Int(1)),
    ("default.replication.factor", Default::Int(1)),
    ("auto.create.topics.enable", Default::Bool(true)),
    ("delete.topic.enable", Default::Bool(true)),
    ("log.segment.bytes", Default::Int(1_073_741_824)),
    ("log.roll.ms", Default::Int(604_800_000)),
    ("log.retention.ms", Default::Int(604_800_000)),
    ("log.retention.bytes", Default::Int(-1)),
    ("log.retention.check.interval.ms", Default::Int(300_000)),
    ("log.index.interval.bytes", Default::Int(4096)),
    ("log.flush.interval.messages", Default::Int(i64::MAX)),
    ("log.message.timestamp.type", Default::Str("CreateTime")),
    ("message.max.bytes", Default::Int(1_048_588)),
    ("socket.request.max.bytes", Default::Int(104_857_600)),
    ("fetch.max.bytes", Default::Int(57_671_680)),
    ("connections.max.idle.ms", Default::Int(600_000)),
    ("max.connections", Default::Int(i32::MAX as i64)),
    ("max.connections.per.ip", Default::Int(i32::MAX as i64)),
    ("group.initial.rebalance.delay.ms", Default::Int(3000)),
    ("group.min.session.timeout.ms", Default::Int(6000)),
    ("group.max.session.timeout.ms", Default::Int(1_800_000)),
    ("group.max.size", Default::Int(i32::MAX as i64)),
    ("offsets.retention.minutes", Default::Int(10_080)),
    ("offsets.retention.check.interval.ms", Default::Int(600_000)),
    // Consumer groups of the KIP-848 protocol.
    ("group.consumer.heartbeat.interval.ms", Default::Int(5_000)),
    (
        "group.consumer.min.heartbeat.interval.ms",
        Default::Int(5_000),
    ),
    (
        "group.consumer.max.heartbeat.interval.ms",
        Default::Int(15_000),
    ),
    ("group.consumer.session.timeout.ms", Default::Int(45_000)),
    (
        "group.consumer.min.session.timeout.ms",
        Default::Int(45_000),
    ),
    (
        "group.consumer.max.session.timeout.ms",
        Default::Int(60_000),
    ),
    ("group.consumer.max.size", Default::Int(i32::MAX as i64)),
    ("group.consumer.assignors", Default::Str(CONSUMER_ASSIGNORS)),
    (
        "group.coordinator.rebalance.protocols",
        Default::Str("classic,consumer"),
    ),
    ("metrics.listen", Default::Str("")),
];

/// Kafka's `max.connections.per.ip` sits *under* `max.connections` once dots nest keys, which
/// neither TOML nor the `config` crate can hold next to a value for `max.connections`. It is
/// stored under this spelling instead; `--set`, the builder and `WEIR_MAX_CONNECTIONS_PER_IP`
/// accept Kafka's name, a TOML file writes `max.connections_per_ip`.
const PER_IP: &str = "max.connections.per.ip";
const PER_IP_STORED: &str = "max.connections_per_ip";
const PER_IP_ENV: &str = "WEIR_MAX_CONNECTIONS_PER_IP";

/// The key as stored in the layered config.
fn stored(key: &str) -> &str {
    if key == PER_IP {
        PER_IP_STORED
    } else {
        key
    }
}

/// Kafka's default `group.consumer.assignors`; short names (`uniform,range`) work too.
const CONSUMER_ASSIGNORS: &str = "org.apache.kafka.coordinator.group.assignor.UniformAssignor,\
     org.apache.kafka.coordinator.group.assignor.RangeAssignor";

enum Default {
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Load(#[from] config::ConfigError),
    #[error("config: {key} = {value:?}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
}

/// The typed, validated broker configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub advertised: Option<String>,
    pub node_id: i32,
    pub data_dir: PathBuf,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics: bool,
    pub delete_topic_enable: bool,
    pub log: LogConfig,
    pub retention_check_interval_ms: u64,
    pub socket_request_max_bytes: usize,
    pub fetch_max_bytes: usize,
    pub connections_max_idle_ms: u64,
    pub max_connections: usize,
    /// `max.connections.per.ip`: connections from one client address beyond this are closed
    /// on accept.
    pub max_connections_per_ip: usize,
    pub group_initial_rebalance_delay_ms: i64,
    pub group_min_session_timeout_ms: i64,
    pub group_max_session_timeout_ms: i64,
    pub group_max_size: i32,
    pub offsets_retention_ms: i64,
    pub offsets_retention_check_interval_ms: i64,
    /// Consumer groups (KIP-848): the broker-set heartbeat interval and session timeout, the
    /// most members, the server-side assignors (the first is the default).
    pub group_consumer: ConsumerGroupSettings,
    /// Where to serve Prometheus metrics (`GET /metrics`); `None` (the default) serves none.
    pub metrics_listen: Option<String>,
    /// Every key above as the layers gave it, for DescribeConfigs on the broker.
    pub settings: Vec<Setting>,
}

/// The `group.consumer.*` settings.
#[derive(Debug, Clone)]
pub struct ConsumerGroupSettings {
    /// `group.coordinator.rebalance.protocols` lists `consumer`: the consumer group protocol's
    /// APIs are advertised and served.
    pub enabled: bool,
    pub heartbeat_interval_ms: i64,
    pub session_timeout_ms: i64,
    pub max_size: i32,
    pub assignors: Vec<crate::coordinator::Assignor>,
}

impl ConsumerGroupSettings {
    fn read(r: &Reader<'_>) -> Result<ConsumerGroupSettings, ConfigError> {
        let bounded = |key: &str, min_key: &str, max_key: &str| -> Result<i64, ConfigError> {
            let (min, max) = (r.positive(min_key)?, r.positive(max_key)?);
            if min > max {
                return Err(r.invalid(min_key, &format!("must not exceed {max_key} ({max})")));
            }
            r.ranged(key, min, max)
        };
        let heartbeat_interval_ms = bounded(
            "group.consumer.heartbeat.interval.ms",
            "group.consumer.min.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
        )?;
        let session_timeout_ms = bounded(
            "group.consumer.session.timeout.ms",
            "group.consumer.min.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
        )?;
        if heartbeat_interval_ms >= session_timeout_ms {
            return Err(r.invalid(
                "group.consumer.heartbeat.interval.ms",
                "must be less than group.consumer.session.timeout.ms",
            ));
        }
        let key = "group.consumer.assignors";
        let mut assignors = Vec::new();
        for name in r.string(key)?.split(',').filter(|n| !n.trim().is_empty()) {
            match crate::coordinator::Assignor::parse(name) {
                Some(a) if !assignors.contains(&a) => assignors.push(a),
                Some(_) => {}
                None => {
                    return Err(r.invalid(
                        key,
                        &format!(
                            "unknown assignor {:?} (weir has uniform and range)",
                            name.trim()
                        ),
                    ))
                }
            }
        }
        if assignors.is_empty() {
            return Err(r.invalid(key, "at least one assignor is needed"));
        }
        let key = "group.coordinator.rebalance.protocols";
        let protocols: Vec<String> = r
            .string(key)?
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(p) = protocols
            .iter()
            .find(|p| *p != "classic" && *p != "consumer")
        {
            return Err(r.invalid(
                key,
                &format!("unsupported protocol {p:?} (weir has classic and consumer)"),
            ));
        }
        if !protocols.iter().any(|p| p == "classic") {
            return Err(r.invalid(key, "the classic protocol must be enabled"));
        }
        Ok(ConsumerGroupSettings {
            enabled: protocols.iter().any(|p| p == "consumer"),
            heartbeat_interval_ms,
            session_timeout_ms,
            max_size: r.ranged("group.consumer.max.size", 1, i32::MAX as i64)? as i32,
            assignors,
        })
    }
}

/// One broker setting as DescribeConfigs shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    /// Kafka's default, as a string.
    pub default: String,
}

impl Setting {
    /// Whether the value differs from Kafka's default (DescribeConfigs reports it as set in
    /// the broker's config; a value set explicitly to the default reads as the default).
    pub fn is_set(&self) -> bool {
        self.value != self.default
    }
}

impl std::default::Default for Config {
    fn default() -> Self {
        // Defaults only (no file, no environment): these always parse.
        Config::load_with_env(None, &[], false)
            .unwrap_or_else(|e| panic!("built-in defaults are valid: {e}"))
    }
}

impl Config {
    /// Loads defaults < `file` < `WEIR_*` environment < `overrides` (Kafka key, value).
    pub fn load(
        file: Option<&Path>,
        overrides: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        Self::load_with_env(file, overrides, true)
    }

    /// As `load`, optionally ignoring the environment (embedded brokers in tests want that).
    pub fn load_with_env(
        file: Option<&Path>,
        overrides: &[(String, String)],
        use_env: bool,
    ) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        for (key, value) in DEFAULTS {
            let key = &stored(key);
            builder = match value {
                Default::Str(s) => builder.set_default(*key, *s)?,
                Default::Int(i) => builder.set_default(*key, *i)?,
                Default::Bool(b) => builder.set_default(*key, *b)?,
            };
        }
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        if use_env {
            let vars: config::Map<String, String> = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| k != PER_IP_ENV)
                .collect();
            builder = builder.add_source(
                Environment::with_prefix("WEIR")
                    .separator("_")
                    .try_parsing(true)
                    .source(Some(vars)),
            );
            if let Ok(value) = std::env::var(PER_IP_ENV) {
                builder = builder.set_override(PER_IP_STORED, value)?;
            }
        }
        for (key, value) in overrides {
            builder = builder.set_override(stored(key), value.as_str())?;
        }
        let raw = builder.build()?;
        Self::from_raw(&raw)
    }

    fn from_raw(raw: &config::Config) -> Result<Config, ConfigError> {
        let r = Reader(raw);
        let advertised = r.string("advertised.listeners")?;
        let log = LogConfig {
            segment_bytes: r.positive("log.segment.bytes")? as u64,
            segment_ms: r.positive("log.roll.ms")?,
            retention_ms: r.int("log.retention.ms")?,
            retention_bytes: r.int("log.retention.bytes")?,
            index_interval_bytes: r.positive("log.index.interval.bytes")? as u64,
            flush_interval_messages: r.positive("log.flush.interval.messages")? as u64,
            max_message_bytes: r.positive("message.max.bytes")? as usize,
            timestamp_type: parse_timestamp_type(&r.string("log.message.timestamp.type")?)
                .ok_or_else(|| {
                    r.invalid("log.message.timestamp.type", "CreateTime or LogAppendTime")
                })?,
        };
        Ok(Config {
            listen: strip_scheme(&r.string("listeners")?),
            advertised: (!advertised.is_empty()).then(|| strip_scheme(&advertised)),
            node_id: r.ranged("node.id", 0, i32::MAX as i64)? as i32,
            data_dir: PathBuf::from(r.string("log.dirs")?),
            num_partitions: r.ranged("num.partitions", 1, i32::MAX as i64)? as i32,
            default_replication_factor: r.ranged("default.replication.factor", 1, 1)? as i16,
            auto_create_topics: r.bool("auto.create.topics.enable")?,
            delete_topic_enable: r.bool("delete.topic.enable")?,
            log,
            retention_check_interval_ms: r.positive("log.retention.check.interval.ms")? as u64,
            socket_request_max_bytes: r.ranged("socket.request.max.bytes", 1, i32::MAX as i64)?
                as usize,
            fetch_max_bytes: r.ranged("fetch.max.bytes", 1024, i32::MAX as i64)? as usize,
            connections_max_idle_ms: r.positive("connections.max.idle.ms")? as u64,
            max_connections: r.positive("max.connections")? as usize,
            max_connections_per_ip: r.positive(PER_IP_STORED)? as usize,
            group_initial_rebalance_delay_ms: r.ranged(
                "group.initial.rebalance.delay.ms",
                0,
                i64::MAX,
            )?,
            group_min_session_timeout_ms: r.positive("group.min.session.timeout.ms")?,
            group_max_session_timeout_ms: r.positive("group.max.session.timeout.ms")?,
            group_max_size: r.ranged("group.max.size", 1, i32::MAX as i64)? as i32,
            offsets_retention_ms: r
                .positive("offsets.retention.minutes")?
                .saturating_mul(60_000),
            offsets_retention_check_interval_ms: r
                .positive("offsets.retention.check.interval.ms")?,
            group_consumer: ConsumerGroupSettings::read(&r)?,
            metrics_listen: Some(r.string("metrics.listen")?).filter(|a| !a.trim().is_empty()),
            settings: DEFAULTS
                .iter()
                .map(|(key, default)| Setting {
                    key,
                    value: raw.get_string(stored(key)).unwrap_or_default(),
                    default: match default {
                        Default::Str(s) => s.to_string(),
                        Default::Int(i) => i.to_string(),
                        Default::Bool(b) => b.to_string(),
                    },
                })
                .collect(),
        })
    }
}

pub fn parse_timestamp_type(value: &str) -> Option<TimestampType> {
    match value {
        "CreateTime" => Some(TimestampType::CreateTime),
        "LogAppendTime" => Some(TimestampType::LogAppendTime),
        _ => None,
    }
}

/// Kafka writes listeners as `PLAINTEXT://host:port`; weir serves plaintext only.
fn strip_scheme(listener: &str) -> String {
    let first = listener.split(',').next().unwrap_or("").trim();
    match first.split_once("://") {
        Some((_, addr)) => addr.to_string(),
        None => first.to_string(),
    }
}

struct Reader<'a>(&'a config::Config);

impl Reader<'_> {
    fn string(&self, key: &str) -> Result<String, ConfigError> {
        Ok(self.0.get_string(key)?)
    }

    fn int(&self, key: &str) -> Result<i64, ConfigError> {
        self.0
            .get_int(key)
            .map_err(|_| self.invalid(key, "a whole number"))
    }

    fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        self.0
            .get_bool(key)
            .map_err(|_| self.invalid(key, "true or false"))
    }

    fn positive(&self, key: &str) -> Result<i64, ConfigError> {
        self.ranged(key, 1, i64::MAX)
    }

    fn ranged(&self, key: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
        let value = self.int(key)?;
        if value < min || value > max {
            return Err(self.invalid(key, &format!("must be in {min}..={max}")));
        }
        Ok(value)
    }

    fn invalid(&self, key: &str, reason: &str) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_string(),
            value: self.0.get_string(key).unwrap_or_default(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_kafka() {
        let c = Config::load_with_env(None, &[], false).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9092");
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.log.segment_bytes, 1_073_741_824);
        assert_eq!(c.log.max_message_bytes, 1_048_588);
        assert!(c.auto_create_topics);
    }

    #[test]
    fn overrides_win_and_are_validated() {
        let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let c = Config::load_with_env(None, &set("num.partitions", "6"), false).unwrap();
        assert_eq!(c.num_partitions, 6);
        assert!(Config::load_with_env(None, &set("num.partitions", "0"), false).is_err());
        assert!(Config::load_with_env(None, &set("num.partitions", "many"), false).is_err());
        let c = Config::load_with_env(None, &set("listeners", "PLAINTEXT://0.0.0.0:9093"), false)
            .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9093");
    }

    #[test]
    fn max_connections_per_ip_is_set_by_its_kafka_name_next_to_max_connections() {
        let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let c = Config::load_with_env(None, &[], false).unwrap();
        assert_eq!(c.max_connections_per_ip, i32::MAX as usize);
        let c = Config::load_with_env(
            None,
            &set(&[("max.connections", "10"), ("max.connections.per.ip", "3")]),
            false,
        )
        .unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (10, 3));
        assert!(c
            .settings
            .iter()
            .any(|s| s.key == "max.connections.per.ip" && s.value == "3"));
        assert!(
            Config::load_with_env(None, &set(&[("max.connections.per.ip", "0")]), false).is_err()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.toml");
        std::fs::write(&path, "max.connections = 9\nmax.connections_per_ip = 4\n").unwrap();
        let c = Config::load_with_env(Some(&path), &[], false).unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (9, 4));
    }

    #[test]
    fn consumer_group_settings_follow_kafka_and_are_bounded() {
        let set = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let c = Config::load_with_env(None, &[], false)
            .unwrap()
            .group_consumer;
        assert_eq!(
            (c.heartbeat_interval_ms, c.session_timeout_ms),
            (5_000, 45_000)
        );
        assert_eq!(
            c.assignors,
            vec![
                crate::coordinator::Assignor::Uniform,
                crate::coordinator::Assignor::Range
            ]
        );
        let err = |pairs: &[(&str, &str)]| {
            Config::load_with_env(None, &set(pairs), false)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[("group.consumer.session.timeout.ms", "3000")])
            .contains("group.consumer.session.timeout.ms"));
        assert!(err(&[("group.consumer.assignors", "uniform,sticky")]).contains("sticky"));
        assert!(err(&[
            ("group.consumer.min.session.timeout.ms", "1000"),
            ("group.consumer.session.timeout.ms", "5000"),
        ])
        .contains("group.consumer.heartbeat.interval.ms"));
        let c = Config::load_with_env(
            None,
            &set(&[
                ("group.consumer.min.session.timeout.ms", "1000"),
                ("group.consumer.session.timeout.ms", "3000"),
                ("group.consumer.min.heartbeat.interval.ms", "100"),
                ("group.consumer.heartbeat.interval.ms", "500"),
                ("group.consumer.assignors", "range"),
            ]),
            false,
        )
        .unwrap()
        .group_consumer;
        assert_eq!(
            (c.session_timeout_ms, c.heartbeat_interval_ms),
            (3_000, 500)
        );
        assert_eq!(c.assignors, vec![crate::coordinator::Assignor::Range]);
    }

    #[test]
    fn toml_file_dotted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.toml");
        std::fs::write(
            &path,
            "log.segment.bytes = 4096\nauto.create.topics.enable = false\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), &[], false).unwrap();
        assert_eq!(c.log.segment_bytes, 4096);
        assert!(!c.auto_create_topics);
    }
}
