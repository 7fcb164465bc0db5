//! How IncrementalAlterConfigs and AlterConfigs change a topic's config overrides, as pure
//! functions of the current overrides (validation of the result is `topic_config::validate_all`).

use std::collections::{BTreeMap, HashSet};

use crate::config::Config;

use super::describe::effective_topic_value;
use super::topic_config::{self, list_items};
use super::MetadataError;
use crate::config::ConfigType;

/// One IncrementalAlterConfigs operation (wire codes 0-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    /// Sets the override.
    Set(Option<String>),
    /// Removes the override: the broker default applies again.
    Delete,
    /// List configs only: adds the items not already in the effective value.
    Append(Option<String>),
    /// List configs only: removes these items from the effective value.
    Subtract(Option<String>),
}

impl ConfigOp {
    /// The operation for wire code `code`, if there is one.
    pub fn from_code(code: i8, value: Option<String>) -> Option<ConfigOp> {
        match code {
            0 => Some(ConfigOp::Set(value)),
            1 => Some(ConfigOp::Delete),
            2 => Some(ConfigOp::Append(value)),
            3 => Some(ConfigOp::Subtract(value)),
            _ => None,
        }
    }
}

/// Applies `ops` to `current` as Kafka does: each key at most once, known keys only, APPEND and
/// SUBTRACT only on list configs (starting from the effective value, the default included).
pub fn apply_incremental(
    broker: &Config,
    current: &BTreeMap<String, String>,
    ops: &[(String, ConfigOp)],
) -> Result<BTreeMap<String, String>, MetadataError> {
    check_unique(ops.iter().map(|(k, _)| k.as_str()))?;
    let mut next = current.clone();
    for (key, op) in ops {
        let Some(info) = topic_config::lookup(key) else {
            return Err(MetadataError::InvalidConfig(format!(
                "unknown topic config {key:?}"
            )));
        };
        let need = |value: &Option<String>| {
            value.clone().ok_or_else(|| {
                MetadataError::InvalidRequest(format!("a null value is not allowed for {key:?}"))
            })
        };
        let list_only = |what: &str| {
            if info.config_type == ConfigType::List {
                Ok(())
            } else {
                Err(MetadataError::InvalidConfig(format!(
                    "{what} is allowed only for list configs, not {key:?}"
                )))
            }
        };
        match op {
            ConfigOp::Set(value) => {
                next.insert(key.clone(), need(value)?);
            }
            ConfigOp::Delete => {
                next.remove(key);
            }
            ConfigOp::Append(value) => {
                list_only("APPEND")?;
                let value = need(value)?;
                let old = effective_topic_value(broker, current, key).unwrap_or_default();
                let mut items: Vec<&str> = list_items(&old);
                for item in list_items(&value) {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                next.insert(key.clone(), items.join(","));
            }
            ConfigOp::Subtract(value) => {
                list_only("SUBTRACT")?;
                let value = need(value)?;
                let old = effective_topic_value(broker, current, key).unwrap_or_default();
                let gone = list_items(&value);
                let items: Vec<&str> = list_items(&old)
                    .into_iter()
                    .filter(|i| !gone.contains(i))
                    .collect();
                next.insert(key.clone(), items.join(","));
            }
        }
    }
    Ok(next)
}

/// AlterConfigs (the legacy API): the given entries become the whole override set.
pub fn replace_all(
    entries: &[(String, Option<String>)],
) -> Result<BTreeMap<String, String>, MetadataError> {
    check_unique(entries.iter().map(|(k, _)| k.as_str()))?;
    entries
        .iter()
        .map(|(key, value)| match value {
            Some(v) => Ok((key.clone(), v.clone())),
            None => Err(MetadataError::InvalidRequest(format!(
                "a null value is not allowed for {key:?}"
            ))),
        })
        .collect()
}

/// AlterConfigs and IncrementalAlterConfigs on the broker resource, checked against the settings
/// table as Kafka checks them: an unknown key is INVALID_CONFIG, APPEND or SUBTRACT on a key that
/// is not a list is INVALID_REQUEST, and setting a key the running broker cannot change is
/// INVALID_REQUEST ("Cannot update these configs dynamically"). Deleting a dynamic value that
/// was never set changes nothing and succeeds, as in Kafka.
pub fn check_broker_change(ops: &[(String, ConfigOp)]) -> Result<(), MetadataError> {
    check_unique(ops.iter().map(|(k, _)| k.as_str()))?;
    let (mut fixed, mut dynamic) = (Vec::new(), Vec::new());
    for (name, op) in ops {
        let Some(key) = crate::config::KEYS.iter().find(|k| k.name == name) else {
            return Err(MetadataError::InvalidConfig(format!(
                "unknown broker config {name:?}"
            )));
        };
        match op {
            ConfigOp::Delete => continue,
            ConfigOp::Set(None) | ConfigOp::Append(None) | ConfigOp::Subtract(None) => {
                return Err(MetadataError::InvalidRequest(format!(
                    "a null value is not allowed for {name:?}"
                )))
            }
            ConfigOp::Append(_) | ConfigOp::Subtract(_)
                if key.kind.config_type() != ConfigType::List =>
            {
                return Err(MetadataError::InvalidRequest(format!(
                    "APPEND and SUBTRACT are allowed only for list configs, not {name:?}"
                )))
            }
            _ if key.dynamic => dynamic.push(key.name),
            _ => fixed.push(key.name),
        }
    }
    if !fixed.is_empty() {
        return Err(MetadataError::InvalidRequest(format!(
            "Cannot update these configs dynamically: {fixed:?}. weir reads them at start: \
             set them in its config file, WEIR_* environment or --set, and restart"
        )));
    }
    if !dynamic.is_empty() {
        // The first dynamic key brings the code that validates and applies it here.
        return Err(MetadataError::InvalidRequest(format!(
            "weir cannot apply {dynamic:?} while running yet"
        )));
    }
    Ok(())
}

fn check_unique<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), MetadataError> {
    let mut seen = HashSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(MetadataError::InvalidRequest(format!(
                "config {key:?} is named more than once"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn op(key: &str, op: ConfigOp) -> (String, ConfigOp) {
        (key.to_string(), op)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn set_delete_append_subtract() {
        let broker = Config::default();
        let current = map(&[("retention.ms", "10"), ("segment.bytes", "4096")]);
        let next = apply_incremental(
            &broker,
            &current,
            &[
                op("retention.ms", ConfigOp::Delete),
                op("segment.ms", ConfigOp::Set(some("100"))),
                op(
                    "leader.replication.throttled.replicas",
                    ConfigOp::Append(some("0:1,1:1")),
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            next,
            map(&[
                ("segment.bytes", "4096"),
                ("segment.ms", "100"),
                ("leader.replication.throttled.replicas", "0:1,1:1")
            ])
        );
        let again = apply_incremental(
            &broker,
            &next,
            &[
                op(
                    "leader.replication.throttled.replicas",
                    ConfigOp::Subtract(some("0:1")),
                ),
                op("cleanup.policy", ConfigOp::Append(some("delete"))),
            ],
        )
        .unwrap();
        assert_eq!(
            again.get("leader.replication.throttled.replicas").unwrap(),
            "1:1"
        );
        assert_eq!(
            again.get("cleanup.policy").unwrap(),
            "delete",
            "appending the default keeps one copy"
        );
    }

    #[test]
    fn refuses_what_kafka_refuses() {
        let broker = Config::default();
        let empty = BTreeMap::new();
        let err = |ops: &[(String, ConfigOp)]| apply_incremental(&broker, &empty, ops).unwrap_err();
        assert!(matches!(
            err(&[op("retention.ms", ConfigOp::Append(some("1")))]),
            MetadataError::InvalidConfig(_)
        ));
        assert!(matches!(
            err(&[op("nope", ConfigOp::Set(some("1")))]),
            MetadataError::InvalidConfig(_)
        ));
        assert!(matches!(
            err(&[op("retention.ms", ConfigOp::Set(None))]),
            MetadataError::InvalidRequest(_)
        ));
        assert!(matches!(
            err(&[
                op("retention.ms", ConfigOp::Delete),
                op("retention.ms", ConfigOp::Set(some("1")))
            ]),
            MetadataError::InvalidRequest(_)
        ));
        assert!(replace_all(&[("a".into(), None)]).is_err());

        // The broker resource: every key is read at start.
        let set = |k: &str| op(k, ConfigOp::Set(some("1")));
        assert!(matches!(
            check_broker_change(&[set("log.retention.ms"), set("num.partitions")]),
            Err(MetadataError::InvalidRequest(m)) if m.contains("dynamically") && m.contains("num.partitions")
        ));
        assert!(matches!(
            check_broker_change(&[set("no.such.broker.config")]),
            Err(MetadataError::InvalidConfig(_))
        ));
        assert!(matches!(
            check_broker_change(&[op("num.partitions", ConfigOp::Append(some("1")))]),
            Err(MetadataError::InvalidRequest(_))
        ));
        assert!(check_broker_change(&[op("log.retention.ms", ConfigOp::Delete)]).is_ok());
        assert!(check_broker_change(&[]).is_ok());
        assert_eq!(
            replace_all(&[("retention.ms".into(), some("5"))]).unwrap(),
            map(&[("retention.ms", "5")])
        );
    }
}
