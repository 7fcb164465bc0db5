//! Topic-level configs: which keys exist, how values are checked, and how they override the
//! broker's log settings. Names and meanings are Kafka's.

use std::collections::BTreeMap;

use crate::config::parse_timestamp_type;
use crate::log::LogConfig;

use super::MetadataError;

enum Kind {
    /// A whole number of at least this value.
    Int(i64),
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A comma-separated list (throttled replicas and the like).
    List,
    Bool,
    Ratio,
}

/// Every topic config Kafka defines, with how its value is checked.
const KEYS: &[(&str, Kind)] = &[
    ("cleanup.policy", Kind::Choice(&["delete"])),
    ("compression.type", Kind::Choice(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"])),
    ("delete.retention.ms", Kind::Int(0)),
    ("file.delete.delay.ms", Kind::Int(0)),
    ("flush.messages", Kind::Int(1)),
    ("flush.ms", Kind::Int(0)),
    ("follower.replication.throttled.replicas", Kind::List),
    ("index.interval.bytes", Kind::Int(0)),
    ("leader.replication.throttled.replicas", Kind::List),
    ("local.retention.bytes", Kind::Int(-2)),
    ("local.retention.ms", Kind::Int(-2)),
    ("max.compaction.lag.ms", Kind::Int(1)),
    ("max.message.bytes", Kind::Int(0)),
    ("message.downconversion.enable", Kind::Bool),
    ("message.timestamp.after.max.ms", Kind::Int(0)),
    ("message.timestamp.before.max.ms", Kind::Int(0)),
    ("message.timestamp.difference.max.ms", Kind::Int(0)),
    ("message.timestamp.type", Kind::Choice(&["CreateTime", "LogAppendTime"])),
    ("min.cleanable.dirty.ratio", Kind::Ratio),
    ("min.compaction.lag.ms", Kind::Int(0)),
    ("min.insync.replicas", Kind::Int(1)),
    ("preallocate", Kind::Bool),
    ("remote.storage.enable", Kind::Choice(&["false"])),
    ("retention.bytes", Kind::Int(-1)),
    ("retention.ms", Kind::Int(-1)),
    ("segment.bytes", Kind::Int(14)),
    ("segment.index.bytes", Kind::Int(4)),
    ("segment.jitter.ms", Kind::Int(0)),
    ("segment.ms", Kind::Int(1)),
    ("unclean.leader.election.enable", Kind::Bool),
];

/// Checks one topic config; the error names the key and why the value is refused.
pub fn validate(key: &str, value: &str) -> Result<(), MetadataError> {
    let invalid = |why: String| Err(MetadataError::InvalidConfig(format!("{key}={value:?}: {why}")));
    let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
        return invalid("unknown topic config".to_string());
    };
    match kind {
        Kind::Int(min) => match value.trim().parse::<i64>() {
            Ok(v) if v >= *min => Ok(()),
            Ok(_) => invalid(format!("must be at least {min}")),
            Err(_) => invalid("must be a whole number".to_string()),
        },
        Kind::Choice(words) if words.contains(&value.trim()) => Ok(()),
        Kind::Choice(words) if key == "cleanup.policy" && value.contains("compact") => {
            invalid(format!("log compaction is not supported by weir yet; use {words:?}"))
        }
        Kind::Choice(words) => invalid(format!("must be one of {words:?}")),
        Kind::List => Ok(()),
        Kind::Bool => match value.trim() {
            "true" | "false" => Ok(()),
            _ => invalid("must be true or false".to_string()),
        },
        Kind::Ratio => match value.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(()),
            _ => invalid("must be a number between 0 and 1".to_string()),
        },
    }
}

pub fn validate_all(configs: &BTreeMap<String, String>) -> Result<(), MetadataError> {
    configs.iter().try_for_each(|(k, v)| validate(k, v))
}

/// The broker's log settings with the topic's overrides applied. Values are validated on the
/// way in, so a value that does not parse here keeps the broker default.
pub fn log_config(broker: &LogConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
    let mut config = broker.clone();
    let int = |key: &str| overrides.get(key).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(v) = int("segment.bytes") {
        config.segment_bytes = v.max(14) as u64;
    }
    if let Some(v) = int("segment.ms") {
        config.segment_ms = v;
    }
    if let Some(v) = int("retention.ms") {
        config.retention_ms = v;
    }
    if let Some(v) = int("retention.bytes") {
        config.retention_bytes = v;
    }
    if let Some(v) = int("index.interval.bytes") {
        config.index_interval_bytes = v.max(1) as u64;
    }
    if let Some(v) = int("flush.messages") {
        config.flush_interval_messages = v.max(1) as u64;
    }
    if let Some(v) = int("max.message.bytes") {
        config.max_message_bytes = v.max(0) as usize;
    }
    if let Some(t) = overrides
        .get("message.timestamp.type")
        .and_then(|v| parse_timestamp_type(v.trim()))
    {
        config.timestamp_type = t;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_known_keys_and_refuses_the_rest() {
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("segment.bytes", "abc").is_err());
        assert!(validate("cleanup.policy", "compact").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("no.such.key", "1").is_err());
    }

    #[test]
    fn overrides_apply_to_the_log_config() {
        let mut o = BTreeMap::new();
        o.insert("segment.bytes".to_string(), "1024".to_string());
        o.insert("message.timestamp.type".to_string(), "LogAppendTime".to_string());
        let c = log_config(&LogConfig::default(), &o);
        assert_eq!(c.segment_bytes, 1024);
        assert_eq!(c.timestamp_type, crate::log::TimestampType::LogAppendTime);
    }
}
