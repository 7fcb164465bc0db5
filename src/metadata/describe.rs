//! Config descriptions as DescribeConfigs (and CreateTopics v5+) report them: every topic config
//! with its effective value, where that value comes from, and the chain of synonyms behind it;
//! and the broker's own settings.
//!
//! Sources follow Kafka: a topic override is TOPIC_CONFIG; otherwise the broker setting that is
//! the key's synonym (`retention.ms` <- `log.retention.ms`) gives the value, as
//! STATIC_BROKER_CONFIG when the broker's config sets it to something other than Kafka's default,
//! else DEFAULT_CONFIG. Broker settings come from the settings table (`config::KEYS`): its type,
//! doc, and read-only unless the table marks the key dynamic (none is yet).

use std::collections::BTreeMap;

use crate::config::{Config, ConfigType, ListenerKey, Setting};

use super::topic_config::{self, TopicKey};

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

/// The broker's settings, in name order, described from the settings table. Read-only unless
/// the table marks them dynamic; a sensitive value is never shown.
pub fn broker_configs(broker: &Config) -> Vec<ConfigDescription> {
    let mut all: Vec<ConfigDescription> = broker
        .settings
        .iter()
        .map(|setting| {
            let key = setting.key;
            let mut synonyms = setting_synonyms(setting);
            if key.sensitive {
                synonyms.iter_mut().for_each(|s| s.value = None);
            }
            ConfigDescription {
                name: key.name.to_string(),
                value: (!key.sensitive).then(|| setting.value.clone()),
                source: synonyms
                    .first()
                    .map_or(source::DEFAULT_CONFIG, |s| s.source),
                read_only: !key.dynamic,
                sensitive: key.sensitive,
                config_type: key.kind.config_type(),
                documentation: key.doc,
                synonyms,
            }
        })
        .collect();
    // Per-listener settings (`listener.name.<name>.<key>`), as set in the broker's config.
    all.extend(broker.listener_settings.iter().map(|setting| {
        let sensitive = setting.key.sensitive();
        let value = (!sensitive).then(|| setting.value.clone());
        let (config_type, documentation) = match setting.key {
            ListenerKey::Table(key) => (key.kind.config_type(), key.doc),
            ListenerKey::Jaas(_) => (
                ConfigType::Password,
                "The JAAS login module of one SASL mechanism on one listener.",
            ),
        };
        ConfigDescription {
            name: setting.name.clone(),
            value: value.clone(),
            source: source::STATIC_BROKER_CONFIG,
            read_only: true,
            sensitive,
            config_type,
            documentation,
            synonyms: vec![Synonym {
                name: setting.name.clone(),
                value,
                source: source::STATIC_BROKER_CONFIG,
            }],
        }
    }));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn broker_setting<'a>(broker: &'a Config, key: &str) -> Option<&'a Setting> {
    broker.settings.iter().find(|s| s.key.name == key)
}

fn setting_synonyms(setting: &Setting) -> Vec<Synonym> {
    let name = setting.key.name;
    let mut out = Vec::with_capacity(2);
    if setting.is_set() {
        out.push(Synonym {
            name: name.to_string(),
            value: Some(setting.value.clone()),
            source: source::STATIC_BROKER_CONFIG,
        });
    }
    out.push(Synonym {
        name: name.to_string(),
        value: Some(setting.key.default.to_string()),
        source: source::DEFAULT_CONFIG,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KEYS;

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
        assert!(all.iter().all(|c| c.name != "message.format.version"));
        assert!(all.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn configs_kafka_4_dropped_are_shown_when_set_with_a_note_that_they_are_ignored() {
        let broker = config(&[]);
        let mut overrides = BTreeMap::new();
        overrides.insert("message.format.version".to_string(), "0.10.0".to_string());
        let all = topic_configs(&broker, &overrides);
        let mfv = find(&all, "message.format.version");
        assert_eq!(
            (mfv.value.as_deref(), mfv.source),
            (Some("0.10.0"), source::TOPIC_CONFIG)
        );
        assert_eq!(mfv.config_type, ConfigType::String);
        assert!(mfv.documentation.starts_with("Ignored"));
        assert_eq!(mfv.synonyms[1].name, "log.message.format.version");
        assert!(all
            .iter()
            .all(|c| c.name != "message.downconversion.enable"));
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
        assert_eq!(all.len(), KEYS.len());
        for key in KEYS {
            let c = find(&all, key.name);
            assert_eq!(c.config_type, key.kind.config_type(), "{}", key.name);
            assert_eq!(c.documentation, key.doc);
            assert!(c.read_only);
        }
        assert_eq!(
            find(&all, "max.connections.per.ip").config_type,
            ConfigType::Int
        );
        assert_eq!(find(&all, "admin.listen").config_type, ConfigType::String);
        assert_eq!(
            find(&all, "connections.max.idle.ms").config_type,
            ConfigType::Long
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
