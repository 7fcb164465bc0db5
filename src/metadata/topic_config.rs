//! Topic-level configs: which keys exist, how values are checked, and how they override the
//! broker's log settings. Names and meanings are Kafka's.

use std::collections::BTreeMap;

use crate::config::{parse_timestamp_type, ConfigType};
use crate::log::LogConfig;

use super::MetadataError;

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number of at least this value (and at most i32::MAX for INT configs).
    Int(i64),
    /// A whole number in this range.
    Range(i64, i64),
    /// gzip: -1 (the codec's default) or 1-9.
    GzipLevel,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A non-empty comma-separated list of these words.
    ChoiceList(&'static [&'static str]),
    /// A comma-separated list (throttled replicas and the like).
    List,
    Bool,
    Ratio,
    /// A Kafka version as Kafka 3 wrote message format versions: `0.10.0`, `2.8-IV0`, `3.0`.
    KafkaVersion,
}

/// One topic config: how it is checked, its type, the broker setting that gives its default,
/// Kafka's default value and what it means.
#[derive(Debug, Clone, Copy)]
pub struct TopicKey {
    pub name: &'static str,
    kind: Kind,
    pub config_type: ConfigType,
    /// The broker setting that supplies the default (Kafka's synonym), if there is one.
    pub broker_key: Option<&'static str>,
    /// Kafka's default when neither the topic nor the broker sets it.
    pub default: &'static str,
    pub doc: &'static str,
    /// A Kafka 3 config that Kafka 4 removed or made a no-op: accepted and stored so older
    /// tools keep working, ignored by the broker, listed by DescribeConfigs only when set.
    pub legacy: bool,
}

const fn key(
    name: &'static str,
    kind: Kind,
    config_type: ConfigType,
    broker_key: Option<&'static str>,
    default: &'static str,
    doc: &'static str,
) -> TopicKey {
    TopicKey {
        name,
        kind,
        config_type,
        broker_key,
        default,
        doc,
        legacy: false,
    }
}

const fn legacy(mut k: TopicKey) -> TopicKey {
    k.legacy = true;
    k
}

use ConfigType as T;

const LONG_MAX: &str = "9223372036854775807";

/// Every topic config Kafka defines, in name order.
pub const KEYS: &[TopicKey] = &[
    key("cleanup.policy", Kind::ChoiceList(&["delete", "compact"]), T::List, Some("log.cleanup.policy"), "delete",
        "The retention policy for old log segments: \"delete\" discards old segments when their retention time or size limit is reached; \"compact\" keeps the latest record of each key (records need a key); \"compact,delete\" does both."),
    key("compression.gzip.level", Kind::GzipLevel, T::Int, Some("compression.gzip.level"), "-1",
        "The compression level to use if compression.type is set to gzip."),
    key("compression.lz4.level", Kind::Range(1, 17), T::Int, Some("compression.lz4.level"), "9",
        "The compression level to use if compression.type is set to lz4."),
    key("compression.type", Kind::Choice(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]), T::String, Some("compression.type"), "producer",
        "The final compression type for a given topic; \"producer\" keeps the codec the producer chose."),
    key("compression.zstd.level", Kind::Range(-131_072, 22), T::Int, Some("compression.zstd.level"), "3",
        "The compression level to use if compression.type is set to zstd."),
    key("delete.retention.ms", Kind::Int(0), T::Long, Some("log.cleaner.delete.retention.ms"), "86400000",
        "The amount of time to retain delete tombstone markers for log compacted topics."),
    key("file.delete.delay.ms", Kind::Int(0), T::Long, Some("log.segment.delete.delay.ms"), "60000",
        "The time to wait before deleting a file from the filesystem."),
    key("flush.messages", Kind::Int(1), T::Long, Some("log.flush.interval.messages"), LONG_MAX,
        "The number of messages written to a partition log before its data is fsynced."),
    key("flush.ms", Kind::Int(0), T::Long, Some("log.flush.interval.ms"), LONG_MAX,
        "The maximum time between fsyncs of a partition log."),
    key("follower.replication.throttled.replicas", Kind::List, T::List, None, "",
        "A list of replicas for which log replication should be throttled on the follower side."),
    key("index.interval.bytes", Kind::Int(0), T::Int, Some("log.index.interval.bytes"), "4096",
        "How frequently an entry is added to the offset index, in bytes of log."),
    key("leader.replication.throttled.replicas", Kind::List, T::List, None, "",
        "A list of replicas for which log replication should be throttled on the leader side."),
    key("local.retention.bytes", Kind::Int(-2), T::Long, Some("log.local.retention.bytes"), "-2",
        "The maximum size of local log segments before they become eligible for deletion (tiered storage); -2 means retention.bytes."),
    key("local.retention.ms", Kind::Int(-2), T::Long, Some("log.local.retention.ms"), "-2",
        "The time to retain local log segments before they become eligible for deletion (tiered storage); -2 means retention.ms."),
    key("max.compaction.lag.ms", Kind::Int(1), T::Long, Some("log.cleaner.max.compaction.lag.ms"), LONG_MAX,
        "The maximum time a message will remain ineligible for compaction in the log."),
    key("max.message.bytes", Kind::Int(0), T::Int, Some("message.max.bytes"), "1048588",
        "The largest record batch size allowed by the topic."),
    legacy(key("message.downconversion.enable", Kind::Bool, T::Boolean, Some("log.message.downconversion.enable"), "true",
        "Ignored: accepted for older tools. Whether old message formats are down-converted for old consumers; Kafka 4 cannot down-convert and keeps this config as a no-op.")),
    legacy(key("message.format.version", Kind::KafkaVersion, T::String, Some("log.message.format.version"), "3.0-IV1",
        "Ignored: accepted for older tools. The message format version of the topic's log; Kafka 3 ignored it and Kafka 4 removed it. weir always writes message format v2.")),
    key("message.timestamp.after.max.ms", Kind::Int(0), T::Long, Some("log.message.timestamp.after.max.ms"), "3600000",
        "The allowed time a message's timestamp may be ahead of the broker's clock."),
    key("message.timestamp.before.max.ms", Kind::Int(0), T::Long, Some("log.message.timestamp.before.max.ms"), LONG_MAX,
        "The allowed time a message's timestamp may be behind the broker's clock."),
    legacy(key("message.timestamp.difference.max.ms", Kind::Int(0), T::Long, Some("log.message.timestamp.difference.max.ms"), LONG_MAX,
        "Ignored: accepted for older tools. The largest difference between a message's timestamp and the broker's clock; Kafka 4 removed it for message.timestamp.before.max.ms and message.timestamp.after.max.ms.")),
    key("message.timestamp.type", Kind::Choice(&["CreateTime", "LogAppendTime"]), T::String, Some("log.message.timestamp.type"), "CreateTime",
        "Whether the timestamp in the message is the create time or the log append time."),
    key("min.cleanable.dirty.ratio", Kind::Ratio, T::Double, Some("log.cleaner.min.cleanable.ratio"), "0.5",
        "The minimum ratio of dirty log to total log for a log to be eligible for cleaning."),
    key("min.compaction.lag.ms", Kind::Int(0), T::Long, Some("log.cleaner.min.compaction.lag.ms"), "0",
        "The minimum time a message will remain uncompacted in the log."),
    key("min.insync.replicas", Kind::Int(1), T::Int, Some("min.insync.replicas"), "1",
        "The minimum number of replicas that must acknowledge a write with acks=all."),
    key("preallocate", Kind::Bool, T::Boolean, Some("log.preallocate"), "false",
        "True if the file should be preallocated on disk when creating a new log segment."),
    key("remote.log.copy.disable", Kind::Choice(&["false"]), T::Boolean, None, "false",
        "Disables copying of log segments to tiered storage (tiered storage is not supported by weir)."),
    key("remote.log.delete.on.disable", Kind::Choice(&["false"]), T::Boolean, None, "false",
        "Whether to delete remote data when tiered storage is disabled (tiered storage is not supported by weir)."),
    key("remote.storage.enable", Kind::Choice(&["false"]), T::Boolean, None, "false",
        "Whether tiered storage is enabled for the topic (not supported by weir)."),
    key("retention.bytes", Kind::Int(-1), T::Long, Some("log.retention.bytes"), "-1",
        "The maximum size a partition can grow to before old log segments are discarded; -1 means no limit."),
    key("retention.ms", Kind::Int(-1), T::Long, Some("log.retention.ms"), "604800000",
        "The maximum time a log segment is retained before it is discarded; -1 means no limit."),
    key("segment.bytes", Kind::Int(14), T::Int, Some("log.segment.bytes"), "1073741824",
        "The segment file size for the log."),
    key("segment.index.bytes", Kind::Int(4), T::Int, Some("log.index.size.max.bytes"), "10485760",
        "The size of the index that maps offsets to file positions."),
    key("segment.jitter.ms", Kind::Int(0), T::Long, Some("log.roll.jitter.ms"), "0",
        "The maximum random jitter subtracted from the scheduled segment roll time."),
    key("segment.ms", Kind::Int(1), T::Long, Some("log.roll.ms"), "604800000",
        "The period of time after which the log rolls a new segment even if it is not full."),
    key("unclean.leader.election.enable", Kind::Bool, T::Boolean, Some("unclean.leader.election.enable"), "false",
        "Whether replicas not in the ISR may be elected as leader as a last resort."),
];

/// The topic config named `name`, if Kafka has one.
pub fn lookup(name: &str) -> Option<&'static TopicKey> {
    KEYS.iter().find(|k| k.name == name)
}

/// Checks one topic config; the error names the key and why the value is refused.
pub fn validate(key: &str, value: &str) -> Result<(), MetadataError> {
    let invalid = |why: String| {
        Err(MetadataError::InvalidConfig(format!(
            "{key}={value:?}: {why}"
        )))
    };
    let Some(info) = lookup(key) else {
        return invalid("unknown topic config".to_string());
    };
    let int = |min: i64, max: i64| match value.trim().parse::<i64>() {
        Ok(v) if v < min => invalid(format!("must be at least {min}")),
        Ok(v) if v > max => invalid(format!("must be at most {max}")),
        Ok(_) => Ok(()),
        Err(_) => invalid("must be a whole number".to_string()),
    };
    let max = if info.config_type == ConfigType::Int {
        i64::from(i32::MAX)
    } else {
        i64::MAX
    };
    match info.kind {
        Kind::Int(min) => int(min, max),
        Kind::Range(min, max) => int(min, max),
        Kind::GzipLevel => match value.trim().parse::<i64>() {
            Ok(-1 | 1..=9) => Ok(()),
            _ => invalid("must be -1 or between 1 and 9".to_string()),
        },
        Kind::Choice(words) if words.contains(&value.trim()) => Ok(()),
        Kind::Choice(words) => invalid(format!("must be one of {words:?}")),
        Kind::ChoiceList(words) => {
            let items = list_items(value);
            if items.is_empty() {
                return invalid(format!("must name at least one of {words:?}"));
            }
            match items.iter().find(|i| !words.contains(i)) {
                None => Ok(()),
                Some(other) => invalid(format!("{other:?} is not one of {words:?}")),
            }
        }
        Kind::List => Ok(()),
        Kind::Bool => match value.trim() {
            "true" | "false" => Ok(()),
            _ => invalid("must be true or false".to_string()),
        },
        Kind::Ratio => match value.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(()),
            _ => invalid("must be a number between 0 and 1".to_string()),
        },
        Kind::KafkaVersion if is_kafka_version(value.trim()) => Ok(()),
        Kind::KafkaVersion => invalid("must be a Kafka version such as 2.8 or 3.0-IV1".to_string()),
    }
}

/// `X.Y`, `X.Y.Z`, optionally followed by `-IVn`.
fn is_kafka_version(value: &str) -> bool {
    let (numbers, iv) = match value.split_once("-IV") {
        Some((numbers, iv)) => (numbers, Some(iv)),
        None => (value, None),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (2..=3).contains(&parts.len()) && parts.iter().all(|p| digits(p)) && iv.is_none_or(digits)
}

/// The items of a comma-separated list value, trimmed, empty ones dropped.
pub fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn validate_all(configs: &BTreeMap<String, String>) -> Result<(), MetadataError> {
    configs.iter().try_for_each(|(k, v)| validate(k, v))
}

/// The broker's log settings with the topic's overrides applied. Values are validated on the
/// way in, so a value that does not parse here keeps the broker default.
pub fn log_config(broker: &LogConfig, overrides: &BTreeMap<String, String>) -> LogConfig {
    let mut config = broker.clone();
    let int = |key: &str| {
        overrides
            .get(key)
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
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
    if let Some(policy) = overrides.get("cleanup.policy") {
        let items = list_items(policy);
        config.delete = items.contains(&"delete");
        config.compact = items.contains(&"compact");
    }
    if let Some(v) = overrides
        .get("min.cleanable.dirty.ratio")
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        config.min_cleanable_dirty_ratio = v;
    }
    if let Some(v) = int("min.compaction.lag.ms") {
        config.min_compaction_lag_ms = v;
    }
    if let Some(v) = int("max.compaction.lag.ms") {
        config.max_compaction_lag_ms = v;
    }
    if let Some(v) = int("delete.retention.ms") {
        config.delete_retention_ms = v;
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
        assert!(validate("cleanup.policy", "compact").is_ok());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "compact,shred").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("no.such.key", "1").is_err());
        assert!(validate("cleanup.policy", "delete,compact").is_ok());
        assert!(validate("cleanup.policy", "").is_err());
        assert!(validate("segment.bytes", "4294967296").is_err());
        assert!(validate("retention.bytes", "4294967296").is_ok());
        assert!(validate("compression.gzip.level", "0").is_err());
        assert!(validate("compression.zstd.level", "-5").is_ok());
    }

    #[test]
    fn configs_kafka_4_dropped_are_accepted_as_no_ops() {
        for (key, value) in [
            ("message.format.version", "0.10.0"),
            ("message.format.version", "2.8-IV0"),
            ("message.format.version", "3.0"),
            ("message.downconversion.enable", "false"),
            ("message.timestamp.difference.max.ms", "1000"),
        ] {
            assert!(validate(key, value).is_ok(), "{key}={value}");
            assert!(lookup(key).unwrap().legacy);
            assert!(lookup(key).unwrap().doc.starts_with("Ignored"));
            let mut o = BTreeMap::new();
            o.insert(key.to_string(), value.to_string());
            let c = log_config(&LogConfig::default(), &o);
            assert_eq!(format!("{c:?}"), format!("{:?}", LogConfig::default()));
        }
        assert!(validate("message.format.version", "latest").is_err());
        assert!(validate("message.format.version", "3.0-IV").is_err());
        assert!(validate("message.downconversion.enable", "maybe").is_err());
    }

    #[test]
    fn overrides_apply_to_the_log_config() {
        let mut o = BTreeMap::new();
        o.insert("segment.bytes".to_string(), "1024".to_string());
        o.insert(
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        );
        o.insert("cleanup.policy".to_string(), "compact".to_string());
        o.insert("min.cleanable.dirty.ratio".to_string(), "0.01".to_string());
        o.insert("delete.retention.ms".to_string(), "100".to_string());
        let c = log_config(&LogConfig::default(), &o);
        assert_eq!(c.segment_bytes, 1024);
        assert!(c.compact && !c.delete);
        assert_eq!(c.min_cleanable_dirty_ratio, 0.01);
        assert_eq!(c.delete_retention_ms, 100);
        assert_eq!(c.timestamp_type, crate::log::TimestampType::LogAppendTime);
    }
}
