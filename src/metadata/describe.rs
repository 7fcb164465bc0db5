//! Config descriptions as DescribeConfigs (and CreateTopics v5+) report them: every topic config
//! with its effective value, where that value comes from, and the chain of synonyms behind it;
//! and the broker's own settings.
//!
//! Sources follow Kafka: a topic override is TOPIC_CONFIG; otherwise the broker setting that is
//! the key's synonym (`retention.ms` <- `log.retention.ms`) gives the value, as
//! STATIC_BROKER_CONFIG when the broker's config sets it to something other than Kafka's default,
//! else DEFAULT_CONFIG. weir has no dynamic broker configs, so every broker setting is read-only.

use std::collections::BTreeMap;

use crate::config::{Config, Setting};

use super::topic_config::{self, ConfigType, TopicKey};

/// DescribeConfigs `ConfigSource` values.
pub mod source {
    pub const TOPIC_CONFIG: i8 = 1;
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    pub const DEFAULT_CONFIG: i8 = 5;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synonym {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
}

/// One config entry of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDescription {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub read_only: bool,
    pub sensitive: bool,
    pub config_type: ConfigType,
    pub documentation: &'static str,
    /// The value's source first, then what it would fall back to, highest precedence first.
    pub synonyms: Vec<Synonym>,
}

/// The effective value and synonym chain of topic config `key` given the topic's overrides.
pub fn topic_config(
    broker: &Config,
    overrides: &BTreeMap<String, String>,
    key: &TopicKey,
) -> ConfigDescription {
    let mut synonyms = Vec::new();
    if let Some(value) = overrides.get(key.name) {
        synonyms.push(Synonym {
            name: key.name.to_string(),
            value: Some(value.clone()),
            source: source::TOPIC_CONFIG,
        });
    }
    if let Some(broker_key) = key.broker_key {
        match broker_setting(broker, broker_key) {
            Some(setting) => synonyms.extend(setting_synonyms(setting)),
            None => synonyms.push(Synonym {
                name: broker_key.to_string(),
                value: Some(key.default.to_string()),
                source: source::DEFAULT_CONFIG,
            }),
        }
    }
    let (value, source) = match synonyms.first() {
        Some(s) => (s.value.clone(), s.source),
        None => (Some(key.default.to_string()), source::DEFAULT_CONFIG),
    };
    ConfigDescription {
        name: key.name.to_string(),
        value,
        source,
        read_only: false,
        sensitive: false,
        config_type: key.config_type,
        documentation: key.doc,
        synonyms,
    }
}

/// Every topic config (Kafka 4's set, plus any legacy key the topic sets), in name order.
pub fn topic_configs(
    broker: &Config,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigDescription> {
    topic_config::KEYS
        .iter()
        .filter(|k| !k.legacy || overrides.contains_key(k.name))
        .map(|k| topic_config(broker, overrides, k))
        .collect()
}

/// The effective value of topic config `key` (override, broker setting or default).
pub fn effective_topic_value(
    broker: &Config,
    overrides: &BTreeMap<String, String>,
    key: &str,
) -> Option<String> {
    topic_config::lookup(key).and_then(|k| topic_config(broker, overrides, k).value)
}

/// The broker's settings, in name order. All read-only: weir has no dynamic broker configs.
pub fn broker_configs(broker: &Config) -> Vec<ConfigDescription> {
    let mut all: Vec<ConfigDescription> = broker
        .settings
        .iter()
        .map(|setting| {
            let synonyms = setting_synonyms(setting);
            ConfigDescription {
                name: setting.key.to_string(),
                value: Some(setting.value.clone()),
                source: synonyms
                    .first()
                    .map_or(source::DEFAULT_CONFIG, |s| s.source),
                read_only: true,
                sensitive: false,
                config_type: broker_type(setting),
                documentation: broker_doc(setting.key),
                synonyms,
            }
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn broker_setting<'a>(broker: &'a Config, key: &str) -> Option<&'a Setting> {
    broker.settings.iter().find(|s| s.key == key)
}

fn setting_synonyms(setting: &Setting) -> Vec<Synonym> {
    let mut out = Vec::with_capacity(2);
    if setting.is_set() {
        out.push(Synonym {
            name: setting.key.to_string(),
            value: Some(setting.value.clone()),
            source: source::STATIC_BROKER_CONFIG,
        });
    }
    out.push(Synonym {
        name: setting.key.to_string(),
        value: Some(setting.default.clone()),
        source: source::DEFAULT_CONFIG,
    });
    out
}

fn broker_type(setting: &Setting) -> ConfigType {
    match setting.key {
        "listeners" | "advertised.listeners" | "log.dirs" => ConfigType::List,
        "log.message.timestamp.type" => ConfigType::String,
        "group.consumer.assignors" | "group.coordinator.rebalance.protocols" => ConfigType::List,
        "auto.create.topics.enable" | "delete.topic.enable" => ConfigType::Boolean,
        "node.id"
        | "num.partitions"
        | "message.max.bytes"
        | "socket.request.max.bytes"
        | "fetch.max.bytes"
        | "max.connections"
        | "group.initial.rebalance.delay.ms"
        | "group.min.session.timeout.ms"
        | "group.max.session.timeout.ms"
        | "group.max.size"
        | "group.consumer.heartbeat.interval.ms"
        | "group.consumer.min.heartbeat.interval.ms"
        | "group.consumer.max.heartbeat.interval.ms"
        | "group.consumer.session.timeout.ms"
        | "group.consumer.min.session.timeout.ms"
        | "group.consumer.max.session.timeout.ms"
        | "group.consumer.max.size"
        | "log.segment.bytes"
        | "log.index.interval.bytes"
        | "offsets.retention.minutes" => ConfigType::Int,
        "default.replication.factor" => ConfigType::Int,
        _ => ConfigType::Long,
    }
}

fn broker_doc(key: &str) -> &'static str {
    match key {
        "listeners" => "The address the socket server listens on (plaintext only).",
        "advertised.listeners" => "The address clients are told to connect to, if different from listeners.",
        "node.id" => "The node id of this broker.",
        "log.dirs" => "The directory in which the log data is kept.",
        "num.partitions" => "The default number of log partitions per topic.",
        "default.replication.factor" => "The replication factor for automatically created topics (weir has one replica).",
        "auto.create.topics.enable" => "Enable auto creation of topics on the server.",
        "delete.topic.enable" => "Enables topic deletion.",
        "log.segment.bytes" => "The maximum size of a single log file.",
        "log.roll.ms" => "The maximum time before a new log segment is rolled out.",
        "log.retention.ms" => "The number of milliseconds to keep a log file before deleting it; -1 means no limit.",
        "log.retention.bytes" => "The maximum size of the log before deleting it; -1 means no limit.",
        "log.retention.check.interval.ms" => "The frequency at which the log cleaner checks whether any log is eligible for deletion.",
        "log.index.interval.bytes" => "The interval with which an entry is added to the offset index.",
        "log.flush.interval.messages" => "The number of messages accumulated on a log partition before messages are flushed to disk.",
        "log.message.timestamp.type" => "Whether the timestamp in the message is message create time or log append time.",
        "message.max.bytes" => "The largest record batch size allowed.",
        "socket.request.max.bytes" => "The maximum number of bytes in a socket request.",
        "fetch.max.bytes" => "The maximum number of bytes returned for a fetch request.",
        "connections.max.idle.ms" => "Idle connections timeout.",
        "max.connections" => "The maximum number of connections allowed in the broker at any time.",
        "group.initial.rebalance.delay.ms" => "The time the group coordinator waits for more consumers to join a new group before the first rebalance.",
        "group.min.session.timeout.ms" => "The minimum allowed session timeout for registered consumers.",
        "group.max.session.timeout.ms" => "The maximum allowed session timeout for registered consumers.",
        "group.max.size" => "The maximum number of consumers that a single consumer group can accommodate.",
        "offsets.retention.minutes" => "How long committed offsets of a group without members are kept.",
        "group.consumer.heartbeat.interval.ms" => "The heartbeat interval given to the members of consumer groups (KIP-848 protocol).",
        "group.consumer.min.heartbeat.interval.ms" => "The minimum allowed group.consumer.heartbeat.interval.ms.",
        "group.consumer.max.heartbeat.interval.ms" => "The maximum allowed group.consumer.heartbeat.interval.ms.",
        "group.consumer.session.timeout.ms" => "How long a consumer-group member may go without a heartbeat before it is removed.",
        "group.consumer.min.session.timeout.ms" => "The minimum allowed group.consumer.session.timeout.ms.",
        "group.consumer.max.session.timeout.ms" => "The maximum allowed group.consumer.session.timeout.ms.",
        "group.consumer.max.size" => "The maximum number of members of one consumer group.",
        "group.coordinator.rebalance.protocols" => "The group protocols served: classic always; consumer (KIP-848) unless left out.",
        "group.consumer.assignors" => "The server-side assignors of consumer groups (uniform, range, or Kafka's class names); the first is the default.",
        "offsets.retention.check.interval.ms" => "Frequency at which to check for stale offsets.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: &[(&str, &str)]) -> Config {
        let overrides: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with_env(None, &overrides, false).unwrap()
    }

    fn find<'a>(all: &'a [ConfigDescription], name: &str) -> &'a ConfigDescription {
        all.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn topic_override_wins_then_broker_setting_then_default() {
        let broker = config(&[("log.retention.ms", "1000")]);
        let mut overrides = BTreeMap::new();
        overrides.insert("segment.bytes".to_string(), "4096".to_string());
        let all = topic_configs(&broker, &overrides);

        let seg = find(&all, "segment.bytes");
        assert_eq!(
            (seg.value.as_deref(), seg.source),
            (Some("4096"), source::TOPIC_CONFIG)
        );
        assert_eq!(seg.synonyms.len(), 2);
        assert_eq!(seg.synonyms[1].name, "log.segment.bytes");
        assert_eq!(seg.synonyms[1].source, source::DEFAULT_CONFIG);

        let ret = find(&all, "retention.ms");
        assert_eq!(
            (ret.value.as_deref(), ret.source),
            (Some("1000"), source::STATIC_BROKER_CONFIG)
        );
        assert_eq!(ret.synonyms[1].value.as_deref(), Some("604800000"));

        let policy = find(&all, "cleanup.policy");
        assert_eq!(
            (policy.value.as_deref(), policy.source),
            (Some("delete"), source::DEFAULT_CONFIG)
        );
        assert_eq!(policy.synonyms[0].name, "log.cleanup.policy");

        let remote = find(&all, "remote.storage.enable");
        assert!(remote.synonyms.is_empty());
        assert_eq!(remote.value.as_deref(), Some("false"));
        assert!(all
            .iter()
            .all(|c| c.name != "message.downconversion.enable"));
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn broker_settings_are_read_only_with_their_sources() {
        let broker = config(&[("num.partitions", "3")]);
        let all = broker_configs(&broker);
        let np = find(&all, "num.partitions");
        assert_eq!(
            (np.value.as_deref(), np.source, np.read_only),
            (Some("3"), source::STATIC_BROKER_CONFIG, true)
        );
        let mmb = find(&all, "message.max.bytes");
        assert_eq!(
            (mmb.value.as_deref(), mmb.source),
            (Some("1048588"), source::DEFAULT_CONFIG)
        );
        assert_eq!(
            effective_topic_value(&broker, &BTreeMap::new(), "max.message.bytes").as_deref(),
            Some("1048588")
        );
    }
}
