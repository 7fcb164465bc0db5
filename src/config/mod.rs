//! Broker settings, named as Apache Kafka names them, all declared once in [`keys::KEYS`].
//!
//! Layers, lowest first: built-in defaults (Kafka's), a TOML file, `WEIR_*` environment
//! variables (`WEIR_LOG_SEGMENT_BYTES` sets `log.segment.bytes`), then explicit overrides
//! (command-line flags or the embedding builder). An unknown key or a value that does not fit
//! its key is an error naming the key and where it came from; nothing falls back silently.

mod keys;
mod listener;
mod rules;
mod security;
mod sources;
mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::coordinator::Assignor;
use crate::log::{CleanerConfig, LogConfig, TimestampType};
use crate::security::jaas;
use crate::security::Mechanism;

pub use keys::{lookup, BrokerKey, ConfigType, Kind, ListenerKey, Section, KEYS};
pub use listener::Endpoint;
pub use security::{
    ClientAuth, Listener, ListenerSecurity, NamedEndpoint, Secret, SecurityProtocol, TlsVersion,
};
pub use sources::{env_name, Origin};
pub use template::weir_toml;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("config: unknown setting {key:?} (from {origin})")]
    Unknown { key: String, origin: Origin },
    #[error("config: {key} is set twice in {origin} (by its name and an alias)")]
    Twice { key: &'static str, origin: Origin },
    #[error("config: {key} = {value:?} (from {origin}): {reason}")]
    Invalid {
        key: String,
        value: String,
        origin: Origin,
        reason: String,
    },
}

/// The typed, validated broker configuration. Each field is written by its entry in
/// [`keys::KEYS`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `listeners`, each with its security protocol (from `listener.security.protocol.map`).
    pub listeners: Vec<Listener>,
    /// `advertised.listeners`, by listener name.
    pub advertised: Vec<NamedEndpoint>,
    /// `listeners` as given, before their names are mapped to protocols.
    listener_endpoints: Vec<NamedEndpoint>,
    protocol_map: Vec<(String, SecurityProtocol)>,
    /// The `ssl.*` and `sasl.*` settings of listeners without overrides.
    pub security: ListenerSecurity,
    /// Listeners with `listener.name.<name>.*` overrides: their whole security settings.
    pub listener_security: BTreeMap<String, ListenerSecurity>,
    /// `connection.failed.authentication.delay.ms`.
    pub failed_authentication_delay_ms: u64,
    /// `connections.max.reauth.ms`; 0 keeps SASL sessions for the connection's lifetime.
    pub connections_max_reauth_ms: u64,
    /// `sasl.server.max.receive.size`: the frame limit before SASL authentication.
    pub sasl_server_max_receive_size: usize,
    pub node_id: i32,
    pub data_dir: PathBuf,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics: bool,
    pub delete_topic_enable: bool,
    pub log: LogConfig,
    /// `log.cleaner.*`: the threads that compact logs.
    pub cleaner: CleanerConfig,
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
    pub offset_metadata_max_bytes: usize,
    /// `offsets.topic.segment.bytes`: the group log is compacted once it is this large and
    /// more than 4x its live records.
    pub offsets_topic_segment_bytes: u64,
    pub offsets_retention_ms: i64,
    pub offsets_retention_check_interval_ms: i64,
    /// The transaction coordinator's settings (`transaction.*`).
    pub txn: crate::txn::TxnConfig,
    /// Consumer groups (KIP-848): whether the protocol is served, the broker-set heartbeat
    /// interval and session timeout, the most members, the server-side assignors.
    pub group_consumer: ConsumerGroupSettings,
    /// `admin.listen`: where the admin HTTP listener serves metrics and health checks; `None`
    /// (the default) serves none and keeps no metrics.
    pub admin_listen: Option<String>,
    /// `admin.max.connections`.
    pub admin_max_connections: usize,
    /// `authorizer.class.name`, `super.users`, `allow.everyone.if.no.acl.found`.
    pub authorization: AuthorizationSettings,
    /// `control.enable`: the test-control plane is served.
    pub control_enable: bool,
    /// `control.clock=manual`: the broker clock stands still until the control plane moves it.
    pub control_manual_clock: bool,
    /// Every key of the table as the layers gave it, for DescribeConfigs on the broker.
    pub settings: Vec<Setting>,
    /// The `listener.name.<name>.<key>` settings given, for DescribeConfigs on the broker.
    pub listener_settings: Vec<ListenerSetting>,
}

/// The `group.consumer.*` settings and `group.coordinator.rebalance.protocols`.
#[derive(Debug, Clone, Default)]
pub struct ConsumerGroupSettings {
    /// `group.coordinator.rebalance.protocols` lists `consumer`: the consumer group protocol's
    /// APIs are advertised and served.
    pub enabled: bool,
    pub heartbeat_interval_ms: i64,
    pub min_heartbeat_interval_ms: i64,
    pub max_heartbeat_interval_ms: i64,
    pub session_timeout_ms: i64,
    pub min_session_timeout_ms: i64,
    pub max_session_timeout_ms: i64,
    pub max_size: i32,
    /// The first is the default.
    pub assignors: Vec<Assignor>,
}

/// The authorizer's settings. Off (Kafka's default: an empty `authorizer.class.name`), every
/// principal may do everything and the ACL APIs answer SECURITY_DISABLED.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationSettings {
    pub enabled: bool,
    pub rules: crate::security::authorizer::Rules,
}

/// One broker setting as DescribeConfigs shows it.
#[derive(Clone)]
pub struct Setting {
    pub key: &'static BrokerKey,
    pub value: String,
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.key.sensitive {
            "[hidden]"
        } else {
            &self.value
        };
        write!(f, "{}={value:?}", self.key.name)
    }
}

/// One per-listener setting as DescribeConfigs shows it.
#[derive(Clone)]
pub struct ListenerSetting {
    /// `listener.name.<name>.<key>`.
    pub name: String,
    pub key: ListenerKey,
    pub value: String,
}

impl std::fmt::Debug for ListenerSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.key.sensitive() {
            "[hidden]"
        } else {
            &self.value
        };
        write!(f, "{}={value:?}", self.name)
    }
}

impl Setting {
    /// Whether the value differs from Kafka's default (DescribeConfigs reports it as set in
    /// the broker's config; a value set explicitly to the default reads as the default).
    pub fn is_set(&self) -> bool {
        self.value != self.key.default
    }
}

impl std::default::Default for Config {
    fn default() -> Self {
        // Defaults only (no file, no environment): the table's tests prove these parse.
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
        let mut layers = sources::Layers::new();
        if let Some(path) = file {
            layers.file(path)?;
        }
        if use_env {
            layers.env(std::env::vars_os())?;
        }
        for (key, value) in overrides {
            layers.set(key, value)?;
        }
        let mut config = Config::blank();
        for (index, key) in KEYS.iter().enumerate() {
            let (value, origin) = layers.get(index);
            key.kind
                .apply(&mut config, value)
                .map_err(|reason| ConfigError::Invalid {
                    key: key.name.to_string(),
                    value: value.to_string(),
                    origin,
                    reason,
                })?;
            config.settings.push(Setting {
                key,
                value: value.trim().to_string(),
            });
        }
        config.apply_listener_values(&layers)?;
        config.resolve_listeners(&layers)?;
        rules::check(&config).map_err(|broken| {
            let index = KEYS.iter().position(|k| k.name == broken.key);
            let (value, origin) = match index {
                Some(index) => {
                    let (value, origin) = layers.get(index);
                    (value.to_string(), origin)
                }
                None => (String::new(), Origin::Default),
            };
            ConfigError::Invalid {
                key: broken.key.to_string(),
                value,
                origin,
                reason: broken.reason,
            }
        })?;
        Ok(config)
    }

    /// The security settings of listener `name`.
    pub fn security_of(&self, name: &str) -> &ListenerSecurity {
        self.listener_security.get(name).unwrap_or(&self.security)
    }

    /// `listener.name.<name>.<key>` settings: each listener with any starts from the global
    /// settings and takes its own on top.
    fn apply_listener_values(&mut self, layers: &sources::Layers) -> Result<(), ConfigError> {
        for given in &layers.listener_values {
            let invalid = |reason: String| ConfigError::Invalid {
                key: given.name(),
                value: if given.key.sensitive() {
                    "[hidden]".into()
                } else {
                    given.value.clone()
                },
                origin: given.origin.clone(),
                reason,
            };
            let mut scratch = Config::blank();
            scratch.security = self
                .listener_security
                .get(&given.listener)
                .unwrap_or(&self.security)
                .clone();
            match given.key {
                ListenerKey::Table(key) => key
                    .kind
                    .apply(&mut scratch, &given.value)
                    .map_err(invalid)?,
                ListenerKey::Jaas(mechanism) => {
                    let parsed = jaas::parse(&given.value).map_err(invalid)?;
                    let module = match mechanism {
                        Mechanism::Plain => jaas::PLAIN_MODULE,
                        Mechanism::ScramSha256 | Mechanism::ScramSha512 => jaas::SCRAM_MODULE,
                        Mechanism::OAuthBearer => jaas::OAUTHBEARER_MODULE,
                    };
                    if parsed.module != module {
                        return Err(invalid(format!(
                            "{mechanism} takes the login module {module}, not {}",
                            parsed.module
                        )));
                    }
                    scratch.security.jaas.insert(mechanism, parsed);
                }
            }
            self.listener_security
                .insert(given.listener.clone(), scratch.security);
            self.listener_settings.push(ListenerSetting {
                name: given.name(),
                key: given.key,
                value: given.value.clone(),
            });
        }
        Ok(())
    }

    /// Maps listener names to protocols and checks what only the keys together can say.
    fn resolve_listeners(&mut self, layers: &sources::Layers) -> Result<(), ConfigError> {
        let origin_of = |name: &str| {
            KEYS.iter()
                .position(|k| k.name == name)
                .map_or(Origin::Default, |i| layers.origin(i))
        };
        let setting = |name: &str| {
            self.settings
                .iter()
                .find(|s| s.key.name == name)
                .map_or(String::new(), |s| s.value.clone())
        };
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_string(),
            value: setting(key),
            origin: origin_of(key),
            reason,
        };
        let mut listeners = Vec::new();
        for named in &self.listener_endpoints {
            let protocol = self
                .protocol_map
                .iter()
                .find(|(n, _)| *n == named.name)
                .map(|(_, p)| *p)
                .ok_or_else(|| {
                    invalid(
                        "listeners",
                        format!(
                            "listener {} has no security protocol in listener.security.protocol.map",
                            named.name
                        ),
                    )
                })?;
            let port = named.endpoint.port;
            if port != 0 && listeners.iter().any(|l: &Listener| l.endpoint.port == port) {
                return Err(invalid(
                    "listeners",
                    format!("two listeners on port {port}"),
                ));
            }
            listeners.push(Listener {
                name: named.name.clone(),
                protocol,
                endpoint: named.endpoint.clone(),
            });
        }
        for adv in &self.advertised {
            if !listeners.iter().any(|l| l.name == adv.name) {
                return Err(invalid(
                    "advertised.listeners",
                    format!("{} is not one of the listeners", adv.name),
                ));
            }
        }
        for given in &self.listener_settings {
            let listener = given
                .name
                .strip_prefix("listener.name.")
                .and_then(|r| r.split('.').next())
                .unwrap_or("")
                .to_ascii_uppercase();
            if !listeners.iter().any(|l| l.name == listener) {
                return Err(ConfigError::Invalid {
                    key: given.name.clone(),
                    value: String::new(),
                    origin: Origin::Override,
                    reason: format!("there is no listener named {listener}"),
                });
            }
        }
        for listener in &listeners {
            let security = self.security_of(&listener.name);
            if listener.protocol.sasl() && security.sasl_mechanisms.is_empty() {
                return Err(invalid(
                    "sasl.enabled.mechanisms",
                    format!(
                        "listener {} serves SASL but no mechanism is enabled",
                        listener.name
                    ),
                ));
            }
        }
        if self.failed_authentication_delay_ms >= self.connections_max_idle_ms {
            return Err(invalid(
                "connection.failed.authentication.delay.ms",
                "must be less than connections.max.idle.ms".into(),
            ));
        }
        self.listeners = listeners;
        Ok(())
    }

    /// A config whose fields the table's setters have not written yet.
    fn blank() -> Config {
        Config {
            listeners: Vec::new(),
            advertised: Vec::new(),
            listener_endpoints: Vec::new(),
            protocol_map: Vec::new(),
            security: ListenerSecurity::default(),
            listener_security: BTreeMap::new(),
            failed_authentication_delay_ms: 0,
            connections_max_reauth_ms: 0,
            sasl_server_max_receive_size: 0,
            node_id: 0,
            data_dir: PathBuf::new(),
            num_partitions: 0,
            default_replication_factor: 0,
            auto_create_topics: false,
            delete_topic_enable: false,
            log: LogConfig::default(),
            cleaner: CleanerConfig::default(),
            retention_check_interval_ms: 0,
            socket_request_max_bytes: 0,
            fetch_max_bytes: 0,
            connections_max_idle_ms: 0,
            max_connections: 0,
            max_connections_per_ip: 0,
            group_initial_rebalance_delay_ms: 0,
            group_min_session_timeout_ms: 0,
            group_max_session_timeout_ms: 0,
            group_max_size: 0,
            offset_metadata_max_bytes: 0,
            offsets_topic_segment_bytes: 0,
            offsets_retention_ms: 0,
            offsets_retention_check_interval_ms: 0,
            txn: crate::txn::TxnConfig::default(),
            group_consumer: ConsumerGroupSettings::default(),
            admin_listen: None,
            admin_max_connections: 0,
            authorization: AuthorizationSettings::default(),
            control_enable: false,
            control_manual_clock: false,
            settings: Vec::with_capacity(KEYS.len()),
            listener_settings: Vec::new(),
        }
    }
}

pub fn parse_timestamp_type(value: &str) -> Option<TimestampType> {
    match value {
        "CreateTime" => Some(TimestampType::CreateTime),
        "LogAppendTime" => Some(TimestampType::LogAppendTime),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_with_env(None, &set(pairs), false)
    }

    #[test]
    fn defaults_follow_kafka() {
        let c = load(&[]).unwrap();
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(c.listeners[0].endpoint.bind_addr(), "127.0.0.1:9092");
        assert_eq!(c.listeners[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.log.segment_bytes, 1_073_741_824);
        assert_eq!(c.log.max_message_bytes, 1_048_588);
        assert!(c.auto_create_topics);
        assert!(c.advertised.is_empty());
        assert_eq!(c.admin_listen, None);
        assert_eq!(c.settings.len(), KEYS.len());
    }

    #[test]
    fn overrides_win_and_are_validated() {
        let c = load(&[("num.partitions", "6")]).unwrap();
        assert_eq!(c.num_partitions, 6);
        assert!(load(&[("num.partitions", "0")]).is_err());
        assert!(load(&[("num.partitions", "many")]).is_err());
        let c = load(&[("listeners", "PLAINTEXT://0.0.0.0:9093")]).unwrap();
        assert_eq!(c.listeners[0].endpoint.bind_addr(), "0.0.0.0:9093");
        let c = load(&[("listeners", "a:1"), ("listeners", "b:2")]).unwrap();
        assert_eq!(c.listeners[0].endpoint.host, "b", "the later override wins");
    }

    #[test]
    fn bad_values_and_unknown_keys_name_the_key() {
        let err = load(&[("advertised.listeners", "PLAINTEXT://broker")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config: advertised.listeners = \"PLAINTEXT://broker\""),
            "{err}"
        );
        assert!(matches!(
            err,
            ConfigError::Invalid {
                origin: Origin::Override,
                ..
            }
        ));
        let err = load(&[("listeners", "")]).unwrap_err();
        assert!(err.to_string().contains("listeners"), "{err}");
        let err = load(&[("log.segment.byte", "1")]).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Unknown { key, .. } if key == "log.segment.byte"),
            "{err}"
        );
        let c = load(&[("advertised.listeners", "PLAINTEXT://broker:9094")]).unwrap();
        assert_eq!(
            c.advertised,
            vec![NamedEndpoint {
                name: "PLAINTEXT".into(),
                endpoint: Endpoint {
                    host: "broker".into(),
                    port: 9094
                }
            }]
        );
    }

    #[test]
    fn several_listeners_with_their_own_security() {
        let c = load(&[
            (
                "listeners",
                "PLAINTEXT://127.0.0.1:0,SASL_SSL://:0,INTERNAL://127.0.0.1:0",
            ),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,INTERNAL:SASL_PLAINTEXT",
            ),
            ("advertised.listeners", "SASL_SSL://broker:9094"),
            ("sasl.enabled.mechanisms", "SCRAM-SHA-512"),
            ("ssl.keystore.location", "/global.pem"),
            ("listener.name.sasl_ssl.ssl.keystore.location", "/mine.pem"),
            ("listener.name.internal.sasl.enabled.mechanisms", "PLAIN"),
            (
                "listener.name.internal.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"pw-a\";",
            ),
        ])
        .unwrap();
        let protocols: Vec<_> = c.listeners.iter().map(|l| l.protocol).collect();
        assert_eq!(
            protocols,
            [
                SecurityProtocol::Plaintext,
                SecurityProtocol::SaslSsl,
                SecurityProtocol::SaslPlaintext
            ]
        );
        assert_eq!(
            c.security_of("SASL_SSL").keystore_location,
            Some(PathBuf::from("/mine.pem"))
        );
        assert_eq!(
            c.security_of("SASL_SSL").sasl_mechanisms,
            [Mechanism::ScramSha512]
        );
        assert_eq!(
            c.security_of("INTERNAL").sasl_mechanisms,
            [Mechanism::Plain]
        );
        assert_eq!(
            c.security_of("PLAINTEXT").keystore_location,
            Some(PathBuf::from("/global.pem"))
        );
        let jaas = &c.security_of("INTERNAL").jaas[&Mechanism::Plain];
        assert_eq!(jaas.plain_users().collect::<Vec<_>>(), [("a", "pw-a")]);
        assert!(
            !format!("{c:?}").contains("pw-a"),
            "secrets stay out of Debug"
        );
    }

    #[test]
    fn listener_combinations_that_cannot_work_are_refused() {
        let cases: &[&[(&str, &str)]] = &[
            &[("listeners", "INTERNAL://h:1")],
            &[("listeners", "PLAINTEXT://h:1,SSL://h:1")],
            &[("advertised.listeners", "SSL://h:1")],
            &[("listener.name.ssl.ssl.client.auth", "required")],
            &[
                ("listeners", "SASL_PLAINTEXT://h:1"),
                ("sasl.enabled.mechanisms", ""),
            ],
            &[("sasl.enabled.mechanisms", "GSSAPI")],
            &[(
                "listener.name.plaintext.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            )],
            &[("connection.failed.authentication.delay.ms", "600000")],
            &[("ssl.keystore.type", "JKS")],
            &[("ssl.principal.mapping.rules", "RULE:x")],
        ];
        for case in cases {
            assert!(load(case).is_err(), "{case:?} was accepted");
        }
        let err = load(&[(
            "listener.name.plaintext.plain.sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required user_a=\"topsecret",
        )])
        .unwrap_err()
        .to_string();
        assert!(!err.contains("topsecret"), "{err}");
    }

    #[test]
    fn max_connections_per_ip_is_set_by_its_kafka_name_next_to_max_connections() {
        let c = load(&[]).unwrap();
        assert_eq!(c.max_connections_per_ip, i32::MAX as usize);
        let c = load(&[("max.connections", "10"), ("max.connections.per.ip", "3")]).unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (10, 3));
        assert!(c
            .settings
            .iter()
            .any(|s| s.key.name == "max.connections.per.ip" && s.value == "3"));
        assert!(load(&[("max.connections.per.ip", "0")]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.toml");
        std::fs::write(&path, "max.connections = 9\nmax.connections_per_ip = 4\n").unwrap();
        let c = Config::load_with_env(Some(&path), &[], false).unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (9, 4));
        std::fs::write(
            &path,
            "max.connections = 8\n\"max.connections.per.ip\" = 5\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), &[], false).unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (8, 5));
    }

    #[test]
    fn metrics_listen_is_an_alias_of_admin_listen() {
        let c = load(&[("metrics.listen", "127.0.0.1:0")]).unwrap();
        assert_eq!(c.admin_listen.as_deref(), Some("127.0.0.1:0"));
        assert!(c
            .settings
            .iter()
            .any(|s| s.key.name == "admin.listen" && s.value == "127.0.0.1:0"));
        assert!(load(&[("metrics.listen", "127.0.0.1")]).is_err());
    }

    #[test]
    fn consumer_group_settings_follow_kafka_and_are_bounded() {
        let c = load(&[]).unwrap().group_consumer;
        assert!(c.enabled);
        assert_eq!(
            (c.heartbeat_interval_ms, c.session_timeout_ms, c.max_size),
            (5_000, 45_000, i32::MAX)
        );
        assert_eq!(c.assignors, vec![Assignor::Uniform, Assignor::Range]);
        let err = |pairs: &[(&str, &str)]| load(pairs).unwrap_err();
        let key_of = |e: ConfigError| match e {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("{other}"),
        };
        // Below Kafka's default minimum (45 s).
        assert_eq!(
            key_of(err(&[("group.consumer.session.timeout.ms", "3000")])),
            "group.consumer.session.timeout.ms"
        );
        assert_eq!(
            key_of(err(&[("group.consumer.heartbeat.interval.ms", "20000")])),
            "group.consumer.heartbeat.interval.ms"
        );
        assert_eq!(
            key_of(err(&[("group.consumer.min.session.timeout.ms", "70000")])),
            "group.consumer.min.session.timeout.ms"
        );
        assert_eq!(
            key_of(err(&[("group.consumer.max.heartbeat.interval.ms", "0")])),
            "group.consumer.max.heartbeat.interval.ms"
        );
        assert!(err(&[("group.consumer.max.size", "0")])
            .to_string()
            .contains("group.consumer.max.size"));
        assert!(err(&[("group.consumer.assignors", "uniform,sticky")])
            .to_string()
            .contains("sticky"));
        assert!(err(&[("group.consumer.assignors", " , ")])
            .to_string()
            .contains("group.consumer.assignors"));
        // The heartbeat interval must stay below the session timeout, wherever each was set.
        let e = err(&[
            ("group.consumer.min.session.timeout.ms", "1000"),
            ("group.consumer.session.timeout.ms", "5000"),
        ]);
        assert!(
            e.to_string().starts_with(
                "config: group.consumer.heartbeat.interval.ms = \"5000\" (from the default)"
            ),
            "{e}"
        );
        let c = load(&[
            ("group.consumer.min.session.timeout.ms", "1000"),
            ("group.consumer.session.timeout.ms", "3000"),
            ("group.consumer.min.heartbeat.interval.ms", "100"),
            ("group.consumer.heartbeat.interval.ms", "500"),
            ("group.consumer.assignors", "range"),
        ])
        .unwrap()
        .group_consumer;
        assert_eq!(
            (c.session_timeout_ms, c.heartbeat_interval_ms),
            (3_000, 500)
        );
        assert_eq!(c.assignors, vec![Assignor::Range]);
    }

    #[test]
    fn rebalance_protocols_keep_classic_and_may_leave_out_consumer() {
        let c = load(&[("group.coordinator.rebalance.protocols", "classic")]).unwrap();
        assert!(!c.group_consumer.enabled);
        let c = load(&[("group.coordinator.rebalance.protocols", "Classic, CONSUMER")]).unwrap();
        assert!(c.group_consumer.enabled);
        for bad in ["consumer", "classic,share", ""] {
            let e = load(&[("group.coordinator.rebalance.protocols", bad)]).unwrap_err();
            assert!(
                e.to_string()
                    .contains("group.coordinator.rebalance.protocols"),
                "{bad:?}: {e}"
            );
        }
        // A TOML array is a list too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.toml");
        std::fs::write(
            &path,
            "group.coordinator.rebalance.protocols = [\"classic\"]\n\
             group.consumer.assignors = [\"range\", \"uniform\"]\n",
        )
        .unwrap();
        let c = Config::load_with_env(Some(&path), &[], false).unwrap();
        assert!(!c.group_consumer.enabled);
        assert_eq!(
            c.group_consumer.assignors,
            vec![Assignor::Range, Assignor::Uniform]
        );
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
        std::fs::write(&path, "auto.create.topics.enable = \"yes\"\n").unwrap();
        let err = Config::load_with_env(Some(&path), &[], false).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { key, origin: Origin::File(_), .. } if key == "auto.create.topics.enable"),
            "{err}"
        );
    }
}
