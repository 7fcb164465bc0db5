//! The broker settings table: every key weir understands, with its default, type and
//! validation, what it means, whether a running broker can change it, and where its value goes.
//! Loading (file, `WEIR_*`, flags), DescribeConfigs, AlterConfigs and `config/weir.toml` all read
//! this one table.
//!
//! Adding a setting is one entry here plus the typed field its `set` function writes; a bound
//! set by another key is checked in rules.rs.

use std::path::PathBuf;

use super::listener::{self, Endpoint};

use super::security::{self, ClientAuth, NamedEndpoint, Secret, SecurityProtocol, TlsVersion};
use super::Config;
use crate::coordinator::Assignor;
use crate::log::TimestampType;
use crate::security::mapping::PrincipalMapper;
use crate::security::Mechanism;

/// Kafka's config types as DescribeConfigs v3+ reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
    Password = 9,
}

/// How a value is checked and which typed field it sets. The setter's argument is the parsed,
/// validated value, so a setter cannot see a value outside the stated range.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A whole number in `min..=max` (Kafka INT; `max` at most `i32::MAX`).
    Int {
        min: i64,
        max: i64,
        set: fn(&mut Config, i64),
    },
    /// A whole number in `min..=max` (Kafka LONG).
    Long {
        min: i64,
        max: i64,
        set: fn(&mut Config, i64),
    },
    /// A number in `min..=max` (Kafka DOUBLE).
    Double {
        min: f64,
        max: f64,
        set: fn(&mut Config, f64),
    },
    Bool(fn(&mut Config, bool)),
    /// A non-empty comma-separated list of these words (Kafka LIST).
    ChoiceList(&'static [&'static str], fn(&mut Config, &[&str])),
    /// One of these words (Kafka STRING).
    Choice(&'static [&'static str], fn(&mut Config, &'static str)),
    /// Kafka listeners, `NAME://host:port,...` (a bare `host:port` is `PLAINTEXT`); empty is
    /// allowed (and gives no entries) unless `required`.
    Listeners {
        required: bool,
        set: fn(&mut Config, Vec<NamedEndpoint>),
    },
    /// `listener.security.protocol.map`: `NAME:PROTOCOL,...`.
    ProtocolMap(fn(&mut Config, Vec<(String, SecurityProtocol)>)),
    /// A file; empty means none (Kafka STRING).
    Path(fn(&mut Config, Option<PathBuf>)),
    /// A secret (Kafka PASSWORD); empty means none.
    Secret(fn(&mut Config, Option<Secret>)),
    /// SASL mechanism names (Kafka LIST).
    Mechanisms(fn(&mut Config, Vec<Mechanism>)),
    /// TLS protocol versions, `TLSv1.2,TLSv1.3` (Kafka LIST).
    TlsVersions(fn(&mut Config, Vec<TlsVersion>)),
    /// `ssl.principal.mapping.rules` (Kafka STRING).
    PrincipalRules(fn(&mut Config, PrincipalMapper)),
    /// A `host:port` address of weir's own (no scheme); empty means off.
    Address(fn(&mut Config, Option<Endpoint>)),
    /// One folder.
    Dir(fn(&mut Config, PathBuf)),
    /// A comma-separated list (Kafka LIST), blank items dropped; the function checks the items
    /// and sets the field, or says why the list is refused.
    List(fn(&mut Config, &[&str]) -> Result<(), String>),
    /// Free text (Kafka STRING); the function checks it and sets the field, or says why the
    /// value is refused.
    Text(fn(&mut Config, &str) -> Result<(), String>),
}

/// Where a key sits in `config/weir.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Network,
    Identity,
    Topics,
    Log,
    Groups,
    Transactions,
    Security,
    Authorization,
    Admin,
    Control,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Network => "Network",
            Section::Identity => "Broker identity",
            Section::Topics => "Topics",
            Section::Log => "Log",
            Section::Groups => "Consumer groups",
            Section::Transactions => "Transactions",
            Section::Security => {
                "Security: TLS and SASL (per listener: listener.name.<name>.<key>)"
            }
            Section::Authorization => "Authorization: ACLs (authorizer.class.name turns them on)",
            Section::Admin => "Admin HTTP listener (metrics, health checks)",
            Section::Control => {
                "Test control plane (fault injection, virtual clock, capture, reset)"
            }
        }
    }
}

/// One broker setting.
#[derive(Debug, Clone, Copy)]
pub struct BrokerKey {
    /// Kafka's name for it (weir's own for settings Kafka lacks).
    pub name: &'static str,
    /// Other names accepted on input (file, `WEIR_*`, flags); DescribeConfigs shows `name`.
    pub aliases: &'static [&'static str],
    /// Kafka's default, as DescribeConfigs shows it.
    pub default: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub section: Section,
    /// Whether a running broker applies a change (AlterConfigs on the broker resource).
    /// weir reads every setting once, at start, so none is dynamic yet.
    pub dynamic: bool,
    /// Whether the value is secret: DescribeConfigs then reports it as null.
    pub sensitive: bool,
    /// Whether `listener.name.<name>.<key>` may set it for one listener.
    pub per_listener: bool,
}

/// The columns every entry of a section shares; entries override what differs.
const fn in_section(section: Section) -> BrokerKey {
    BrokerKey {
        name: "",
        aliases: &[],
        default: "",
        kind: Kind::Bool(|_, _| {}),
        doc: "",
        section,
        dynamic: false,
        sensitive: false,
        per_listener: false,
    }
}

/// An `ssl.*` or `sasl.*` setting a listener prefix may override.
const fn per_listener() -> BrokerKey {
    BrokerKey {
        per_listener: true,
        ..in_section(Section::Security)
    }
}

/// A secret `ssl.*` setting (Kafka PASSWORD), per listener too.
const fn secret() -> BrokerKey {
    BrokerKey {
        sensitive: true,
        ..per_listener()
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// Every broker setting, in the order `config/weir.toml` lists them.
pub const KEYS: &[BrokerKey] = &[
    BrokerKey {
        name: "listeners",
        default: "127.0.0.1:9092",
        kind: Kind::Listeners { required: true, set: |c, v| c.listener_endpoints = v },
        doc: "The listeners to serve, comma-separated NAME://host:port (a bare host:port is the PLAINTEXT listener), e.g. PLAINTEXT://127.0.0.1:9092,SASL_SSL://:9094. Each name maps to a security protocol through listener.security.protocol.map; port 0 picks a free port, an empty host listens on every interface.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "advertised.listeners",
        default: "",
        kind: Kind::Listeners { required: false, set: |c, v| c.advertised = v },
        doc: "The addresses clients are told to connect to (in Metadata responses), per listener name, in the same forms as listeners. A client is told the address of the listener it came in on; a listener not listed here advertises its own address, with the bound port when listening on port 0.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "listener.security.protocol.map",
        default: "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        kind: Kind::ProtocolMap(|c, v| c.protocol_map = v),
        doc: "The security protocol of each listener name, NAME:PROTOCOL,... with PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "socket.request.max.bytes",
        default: "104857600",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.socket_request_max_bytes = v as usize },
        doc: "The largest request frame accepted; a larger frame closes the connection before its body is read.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "fetch.max.bytes",
        default: "57671680",
        kind: Kind::Int { min: 1024, max: INT_MAX, set: |c, v| c.fetch_max_bytes = v as usize },
        doc: "The most bytes one fetch response may carry, whatever the client asks for.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "connections.max.idle.ms",
        default: "600000",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.connections_max_idle_ms = v as u64 },
        doc: "Connections idle this long are closed.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "max.connections",
        default: "2147483647",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.max_connections = v as usize },
        doc: "The most connections served at once; further connections are closed on accept.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "max.connections.per.ip",
        // Earlier weir.toml files spelled it so, as TOML cannot nest a key under the value of
        // max.connections unless the key is quoted.
        aliases: &["max.connections_per_ip"],
        default: "2147483647",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.max_connections_per_ip = v as usize },
        doc: "The most connections from one client IP address at once; further ones are closed on accept.",
        ..in_section(Section::Network)
    },
    BrokerKey {
        name: "node.id",
        default: "1",
        kind: Kind::Int { min: 0, max: INT_MAX, set: |c, v| c.node_id = v as i32 },
        doc: "This broker's id, reported as the leader of every partition and as the controller.",
        ..in_section(Section::Identity)
    },
    BrokerKey {
        name: "log.dirs",
        default: "./data",
        kind: Kind::Dir(|c, v| c.data_dir = v),
        doc: "The folder holding topic data, topics.json, meta.properties (the cluster id) and consumer group state. weir keeps its data in one folder.",
        ..in_section(Section::Identity)
    },
    BrokerKey {
        name: "num.partitions",
        default: "1",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.num_partitions = v as i32 },
        doc: "The number of partitions of a topic created without an explicit count (auto-created topics too).",
        ..in_section(Section::Topics)
    },
    BrokerKey {
        name: "default.replication.factor",
        default: "1",
        kind: Kind::Int { min: 1, max: 1, set: |c, v| c.default_replication_factor = v as i16 },
        doc: "The replication factor of automatically created topics. weir is a single broker, so the only possible factor is 1.",
        ..in_section(Section::Topics)
    },
    BrokerKey {
        name: "auto.create.topics.enable",
        default: "true",
        kind: Kind::Bool(|c, v| c.auto_create_topics = v),
        doc: "Create a topic when a client asks for metadata of one that does not exist.",
        ..in_section(Section::Topics)
    },
    BrokerKey {
        name: "delete.topic.enable",
        default: "true",
        kind: Kind::Bool(|c, v| c.delete_topic_enable = v),
        doc: "Allow DeleteTopics.",
        ..in_section(Section::Topics)
    },
    BrokerKey {
        name: "log.segment.bytes",
        default: "1073741824",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.log.segment_bytes = v as u64 },
        doc: "Roll a new segment file when the active one would grow past this size (topic: segment.bytes).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.roll.ms",
        default: "604800000",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.log.segment_ms = v },
        doc: "Roll a new segment when the active one is older than this (topic: segment.ms).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.retention.ms",
        default: "604800000",
        kind: Kind::Long { min: i64::MIN, max: LONG_MAX, set: |c, v| c.log.retention_ms = v },
        doc: "Delete segments whose newest record is older than this; -1 keeps them (topic: retention.ms).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.retention.bytes",
        default: "-1",
        kind: Kind::Long { min: i64::MIN, max: LONG_MAX, set: |c, v| c.log.retention_bytes = v },
        doc: "Delete the oldest segments while a partition is larger than this; -1 means no limit (topic: retention.bytes).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.retention.check.interval.ms",
        default: "300000",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.retention_check_interval_ms = v as u64 },
        doc: "How often retention runs.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.index.interval.bytes",
        default: "4096",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.log.index_interval_bytes = v as u64 },
        doc: "Bytes of log between two entries of the sparse offset and time indexes (topic: index.interval.bytes).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.flush.interval.messages",
        default: "9223372036854775807",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.log.flush_interval_messages = v as u64 },
        doc: "fsync a partition after this many records. 1 makes every acknowledged produce durable before the answer (acks=1 and acks=-1 alike); the default leaves flushing to the OS, as Kafka does (topic: flush.messages).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.message.timestamp.type",
        default: "CreateTime",
        kind: Kind::Choice(&["CreateTime", "LogAppendTime"], |c, v| {
            c.log.timestamp_type = if v == "LogAppendTime" {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            }
        }),
        doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock (topic: message.timestamp.type).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "message.max.bytes",
        default: "1048588",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.log.max_message_bytes = v as usize },
        doc: "The largest record batch accepted (topic: max.message.bytes).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleanup.policy",
        default: "delete",
        kind: Kind::ChoiceList(&["delete", "compact"], |c, v| {
            c.log.delete = v.contains(&"delete");
            c.log.compact = v.contains(&"compact");
        }),
        doc: "What happens to old segments: delete removes them past retention; compact keeps the latest record of each key; compact,delete does both (topic: cleanup.policy).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.enable",
        default: "true",
        kind: Kind::Bool(|c, v| c.cleaner.enable = v),
        doc: "Run the log cleaner, which compacts topics whose cleanup.policy includes compact. Without it compacted topics grow without bound.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.threads",
        default: "1",
        kind: Kind::Int { min: 0, max: 64, set: |c, v| c.cleaner.threads = v as usize },
        doc: "Threads cleaning logs at once, each on its own log; 0 cleans nothing.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.dedupe.buffer.size",
        default: "134217728",
        kind: Kind::Long { min: 1024, max: LONG_MAX, set: |c, v| c.cleaner.dedupe_buffer_size = v as u64 },
        doc: "Memory for the key maps of all cleaner threads together (24 bytes per key). A log whose dirty keys do not fit is cleaned in several passes. The map grows only as far as a pass needs.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.io.buffer.load.factor",
        default: "0.9",
        kind: Kind::Double { min: 0.1, max: 1.0, set: |c, v| c.cleaner.load_factor = v },
        doc: "How full a key map may get before a pass stops mapping more of the log.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.io.max.bytes.per.second",
        default: "1.7976931348623157E308",
        kind: Kind::Double { min: 1.0, max: f64::MAX, set: |c, v| c.cleaner.io_max_bytes_per_second = v },
        doc: "The most bytes per second the cleaner threads read and write together.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.backoff.ms",
        default: "15000",
        kind: Kind::Long { min: 0, max: LONG_MAX, set: |c, v| c.cleaner.backoff_ms = v },
        doc: "How long a cleaner thread waits (on the broker clock) when no log needs cleaning.",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.min.cleanable.ratio",
        default: "0.5",
        kind: Kind::Double { min: 0.0, max: 1.0, set: |c, v| c.log.min_cleanable_dirty_ratio = v },
        doc: "A log is cleaned once its dirty bytes exceed this share of its bytes (topic: min.cleanable.dirty.ratio).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.min.compaction.lag.ms",
        default: "0",
        kind: Kind::Long { min: 0, max: LONG_MAX, set: |c, v| c.log.min_compaction_lag_ms = v },
        doc: "Records stay uncompacted at least this long (topic: min.compaction.lag.ms).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.max.compaction.lag.ms",
        default: "9223372036854775807",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.log.max_compaction_lag_ms = v },
        doc: "A log whose oldest dirty record is older than this is cleaned whatever its dirty ratio (topic: max.compaction.lag.ms).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "log.cleaner.delete.retention.ms",
        default: "86400000",
        kind: Kind::Long { min: 0, max: LONG_MAX, set: |c, v| c.log.delete_retention_ms = v },
        doc: "How long a tombstone stays once the cleaner has passed it, so consumers reading the log see the deletion (topic: delete.retention.ms).",
        ..in_section(Section::Log)
    },
    BrokerKey {
        name: "group.initial.rebalance.delay.ms",
        default: "3000",
        kind: Kind::Int { min: 0, max: INT_MAX, set: |c, v| c.group_initial_rebalance_delay_ms = v },
        doc: "How long a new group waits for more members before its first rebalance completes.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.min.session.timeout.ms",
        default: "6000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_min_session_timeout_ms = v },
        doc: "The shortest session timeout a consumer may ask for.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.max.session.timeout.ms",
        default: "1800000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_max_session_timeout_ms = v },
        doc: "The longest session timeout a consumer may ask for.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.max.size",
        default: "2147483647",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_max_size = v as i32 },
        doc: "The most members in one group.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "offset.metadata.max.bytes",
        default: "4096",
        kind: Kind::Int { min: 0, max: INT_MAX, set: |c, v| c.offset_metadata_max_bytes = v as usize },
        doc: "The largest metadata string an offset commit may carry; larger ones get OFFSET_METADATA_TOO_LARGE.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "offsets.topic.segment.bytes",
        default: "1048576",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.offsets_topic_segment_bytes = v as u64 },
        doc: "The size the group log may reach before it is compacted (once it is more than 4x its live records). Kafka's offsets topic default is 100 MiB; weir's group log is compacted sooner.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "offsets.retention.minutes",
        default: "10080",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.offsets_retention_ms = v.saturating_mul(60_000) },
        doc: "Committed offsets of a group without members are dropped after this long.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "offsets.retention.check.interval.ms",
        default: "600000",
        kind: Kind::Long { min: 1, max: LONG_MAX, set: |c, v| c.offsets_retention_check_interval_ms = v },
        doc: "How often expired offsets are looked for.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.coordinator.rebalance.protocols",
        default: "classic,consumer",
        kind: Kind::List(set_rebalance_protocols),
        doc: "The group protocols served: classic, and consumer (KIP-848, group.protocol=consumer). classic cannot be left out. Leaving out consumer stops advertising ConsumerGroupHeartbeat and ConsumerGroupDescribe (clients such as franz-go switch to the consumer protocol on their own when they see them).",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.heartbeat.interval.ms",
        default: "5000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.heartbeat_interval_ms = v },
        doc: "The heartbeat interval the broker gives the members of consumer groups (KIP-848 protocol). Must lie within group.consumer.min.heartbeat.interval.ms and group.consumer.max.heartbeat.interval.ms, and be less than group.consumer.session.timeout.ms.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.min.heartbeat.interval.ms",
        default: "5000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.min_heartbeat_interval_ms = v },
        doc: "The shortest group.consumer.heartbeat.interval.ms allowed.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.max.heartbeat.interval.ms",
        default: "15000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.max_heartbeat_interval_ms = v },
        doc: "The longest group.consumer.heartbeat.interval.ms allowed.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.session.timeout.ms",
        default: "45000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.session_timeout_ms = v },
        doc: "How long a member of a consumer group (KIP-848 protocol) may go without a heartbeat before it is removed. Must lie within group.consumer.min.session.timeout.ms and group.consumer.max.session.timeout.ms.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.min.session.timeout.ms",
        default: "45000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.min_session_timeout_ms = v },
        doc: "The shortest group.consumer.session.timeout.ms allowed.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.max.session.timeout.ms",
        default: "60000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.max_session_timeout_ms = v },
        doc: "The longest group.consumer.session.timeout.ms allowed.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.max.size",
        default: "2147483647",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.group_consumer.max_size = v as i32 },
        doc: "The most members in one consumer group (KIP-848 protocol).",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "group.consumer.assignors",
        default: "org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor",
        kind: Kind::List(set_consumer_assignors),
        doc: "The server-side assignors of consumer groups, the first being the default: uniform and range, by short name or by Kafka's class name.",
        ..in_section(Section::Groups)
    },
    BrokerKey {
        name: "transaction.max.timeout.ms",
        default: "900000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.txn.max_timeout_ms = v as i32 },
        doc: "The longest transaction.timeout.ms a transactional producer may ask for; a longer one gets INVALID_TRANSACTION_TIMEOUT.",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "transactional.id.expiration.ms",
        default: "604800000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.txn.id_expiration_ms = v },
        doc: "A transactional id without a transaction for this long is forgotten (its next producer gets a new producer id).",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        default: "10000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.txn.abort_interval_ms = v },
        doc: "How often transactions past their transaction.timeout.ms are looked for and aborted (their producer is fenced).",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "transaction.remove.expired.transaction.cleanup.interval.ms",
        default: "3600000",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.txn.remove_interval_ms = v },
        doc: "How often transactional ids past transactional.id.expiration.ms are looked for.",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "transaction.state.log.segment.bytes",
        default: "104857600",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.txn.log_compaction_bytes = v as u64 },
        doc: "The size the transaction log may reach before it is compacted (once it is also more than 4x its live records).",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "transaction.version",
        default: "2",
        kind: Kind::Int { min: 0, max: 2, set: |c, v| c.txn.transaction_version = v as i16 },
        doc: "The finalized level of Kafka's transaction.version feature, which ApiVersions reports: 2 enables transactions v2 (KIP-890: epoch bumped at every commit and abort, partitions and groups added by the transactional writes themselves) for clients that use it (the Java client 4.x); 0 and 1 keep every client on transactions v1. Kafka sets it with kafka-features.sh; weir with this setting.",
        ..in_section(Section::Transactions)
    },
    BrokerKey {
        name: "ssl.keystore.type",
        default: "PEM",
        kind: Kind::Choice(&["PEM"], |_, _| {}),
        doc: "The format of the broker's certificate and key. weir reads PEM only (Kafka's default is JKS): convert a JKS or PKCS12 keystore to PEM.",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.keystore.location",
        default: "",
        kind: Kind::Path(|c, v| c.security.keystore_location = v),
        doc: "A PEM file holding the broker's private key (unencrypted PKCS#8, PKCS#1 or SEC1) and its certificate chain, for SSL and SASL_SSL listeners.",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.keystore.certificate.chain",
        default: "",
        kind: Kind::Secret(|c, v| c.security.keystore_certificate_chain = v),
        doc: "The broker's certificate chain as inline PEM, instead of ssl.keystore.location (with ssl.keystore.key).",
        ..secret()
    },
    BrokerKey {
        name: "ssl.keystore.key",
        default: "",
        kind: Kind::Secret(|c, v| c.security.keystore_key = v),
        doc: "The broker's private key as inline PEM (unencrypted), instead of ssl.keystore.location.",
        ..secret()
    },
    BrokerKey {
        name: "ssl.truststore.type",
        default: "PEM",
        kind: Kind::Choice(&["PEM"], |_, _| {}),
        doc: "The format of the trusted CA certificates. weir reads PEM only (Kafka's default is JKS).",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.truststore.location",
        default: "",
        kind: Kind::Path(|c, v| c.security.truststore_location = v),
        doc: "A PEM file of the CA certificates client certificates are checked against (ssl.client.auth).",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.truststore.certificates",
        default: "",
        kind: Kind::Secret(|c, v| c.security.truststore_certificates = v),
        doc: "The trusted CA certificates as inline PEM, instead of ssl.truststore.location.",
        ..secret()
    },
    BrokerKey {
        name: "ssl.client.auth",
        default: "none",
        kind: Kind::Choice(&["none", "requested", "required"], |c, v| {
            c.security.client_auth = match v {
                "required" => ClientAuth::Required,
                "requested" => ClientAuth::Requested,
                _ => ClientAuth::None,
            }
        }),
        doc: "Client certificates on SSL and SASL_SSL listeners: none asks for none; requested accepts clients without one; required refuses them. A certificate must be signed by a trusted CA; on an SSL listener its subject gives the principal.",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.principal.mapping.rules",
        default: "DEFAULT",
        kind: Kind::PrincipalRules(|c, v| c.security.principal_mapper = v),
        doc: "How a client certificate's subject (RFC 2253, CN=alice,OU=eng,O=acme) becomes the principal name on SSL listeners: a list of RULE:pattern/replacement/ (optional L or U after the last '/' to lower- or upper-case), first match wins; DEFAULT keeps the whole subject. A client no rule matches is refused.",
        ..per_listener()
    },
    BrokerKey {
        name: "ssl.enabled.protocols",
        default: "TLSv1.2,TLSv1.3",
        kind: Kind::TlsVersions(|c, v| c.security.enabled_protocols = v),
        doc: "The TLS versions served.",
        ..per_listener()
    },
    BrokerKey {
        name: "sasl.enabled.mechanisms",
        default: "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        kind: Kind::Mechanisms(|c, v| c.security.sasl_mechanisms = v),
        doc: "The SASL mechanisms served on SASL_PLAINTEXT and SASL_SSL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (unsecured JWS tokens, for tests). Kafka's default is GSSAPI, which weir does not serve. SCRAM users are managed with AlterUserScramCredentials or `weir user`; PLAIN checks the listener's PlainLoginModule users (listener.name.<name>.plain.sasl.jaas.config, user_<name>=\"<password>\" options), then the SCRAM users' passwords.",
        ..per_listener()
    },
    BrokerKey {
        name: "connection.failed.authentication.delay.ms",
        default: "100",
        kind: Kind::Int { min: 0, max: INT_MAX, set: |c, v| c.failed_authentication_delay_ms = v as u64 },
        doc: "How long a connection whose authentication failed waits before the failure is answered and the connection closed (slows down password guessing). Must be less than connections.max.idle.ms.",
        ..in_section(Section::Security)
    },
    BrokerKey {
        name: "connections.max.reauth.ms",
        default: "0",
        kind: Kind::Long { min: 0, max: LONG_MAX, set: |c, v| c.connections_max_reauth_ms = v as u64 },
        doc: "When above 0, a SASL session lasts at most this long (KIP-368): clients that support it authenticate again on the same connection before it ends; a connection that sends anything else after its session ended is closed.",
        ..in_section(Section::Security)
    },
    BrokerKey {
        name: "sasl.server.max.receive.size",
        default: "524288",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.sasl_server_max_receive_size = v as usize },
        doc: "The largest frame a SASL listener accepts before the client has authenticated; a larger one closes the connection.",
        ..in_section(Section::Security)
    },
    BrokerKey {
        name: "authorizer.class.name",
        aliases: &["authorizer"],
        default: "",
        kind: Kind::Text(set_authorizer),
        doc: "The authorizer: empty or `none` (the default, as in Kafka) authorizes nothing, so every client may do everything and the ACL APIs answer SECURITY_DISABLED; `standard` or org.apache.kafka.metadata.authorizer.StandardAuthorizer enforces ACLs on every API with Kafka's StandardAuthorizer rules. ACLs are managed with CreateAcls/DescribeAcls/DeleteAcls (kafka-acls.sh, the AdminClient, `weir acl`) and kept in acls.json in the data folder.",
        ..in_section(Section::Authorization)
    },
    BrokerKey {
        name: "super.users",
        default: "",
        kind: Kind::Text(set_super_users),
        doc: "Principals that may do everything whatever the ACLs say, separated by semicolons: User:admin;User:CN=ops,O=acme.",
        ..in_section(Section::Authorization)
    },
    BrokerKey {
        name: "allow.everyone.if.no.acl.found",
        default: "false",
        kind: Kind::Bool(|c, v| c.authorization.rules.allow_everyone_if_no_acl_found = v),
        doc: "With the authorizer on, whether a resource no ACL at all refers to is open to everyone (true) or to super users only (false, Kafka's default).",
        ..in_section(Section::Authorization)
    },
    BrokerKey {
        name: "admin.listen",
        aliases: &["metrics.listen"],
        default: "",
        kind: Kind::Address(|c, v| c.admin_listen = v.map(|e| e.bind_addr())),
        doc: "Where to serve the admin HTTP endpoints, as host:port: Prometheus metrics (GET /metrics, OpenMetrics text) and health checks (GET /health/live, GET /health/ready). Empty (the default): no listener, and no metrics are kept. weir's own setting, not a Kafka one; `weir serve --admin-listen` (older name: --metrics-listen) sets it too.",
        ..in_section(Section::Admin)
    },
    BrokerKey {
        name: "admin.max.connections",
        default: "16",
        kind: Kind::Int { min: 1, max: INT_MAX, set: |c, v| c.admin_max_connections = v as usize },
        doc: "The most admin HTTP connections open at once; further ones are closed on accept.",
        ..in_section(Section::Admin)
    },
    BrokerKey {
        name: "control.enable",
        default: "false",
        kind: Kind::Bool(|c, v| c.control_enable = v),
        doc: "Serve the test-control plane: fault rules, broker down/up, the manual clock, request capture and reset, on the admin HTTP listener (and to embedding programs). For brokers used as a test double only: never enable it on a broker that serves real traffic. `weir serve --control` sets it.",
        ..in_section(Section::Control)
    },
    BrokerKey {
        name: "control.clock",
        default: "system",
        kind: Kind::Choice(&["system", "manual"], |c, v| c.control_manual_clock = v == "manual"),
        doc: "The broker clock: `system`, or `manual`, a clock that stands still until the control plane advances it (every Kafka timer and timestamp follows it). `manual` needs control.enable. `weir serve --clock manual` sets it.",
        ..in_section(Section::Control)
    },
];

/// Kafka's StandardAuthorizer, the only authorizer weir has.
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// `authorizer.class.name`: empty (off) or Kafka's StandardAuthorizer.
fn set_authorizer(c: &mut Config, value: &str) -> Result<(), String> {
    c.authorization.enabled = match value {
        "" | "none" => false,
        STANDARD_AUTHORIZER | "standard" => true,
        other => {
            return Err(format!(
                "weir has Kafka's StandardAuthorizer ({STANDARD_AUTHORIZER}), not {other}"
            ))
        }
    };
    Ok(())
}

/// `super.users`: `Type:name` principals separated by semicolons.
fn set_super_users(c: &mut Config, value: &str) -> Result<(), String> {
    c.authorization.rules.super_users =
        crate::security::authorizer::Rules::parse_super_users(value)?;
    Ok(())
}

/// `group.coordinator.rebalance.protocols`: classic always; consumer turns KIP-848 on.
fn set_rebalance_protocols(c: &mut Config, items: &[&str]) -> Result<(), String> {
    let protocols: Vec<String> = items.iter().map(|p| p.to_ascii_lowercase()).collect();
    if let Some(p) = protocols
        .iter()
        .find(|p| *p != "classic" && *p != "consumer")
    {
        return Err(format!(
            "unsupported protocol {p:?} (weir has classic and consumer)"
        ));
    }
    if !protocols.iter().any(|p| p == "classic") {
        return Err("the classic protocol must be enabled".into());
    }
    c.group_consumer.enabled = protocols.iter().any(|p| p == "consumer");
    Ok(())
}

/// `group.consumer.assignors`: known assignors, each once, at least one.
fn set_consumer_assignors(c: &mut Config, items: &[&str]) -> Result<(), String> {
    let mut assignors = Vec::new();
    for name in items {
        match Assignor::parse(name) {
            Some(a) if !assignors.contains(&a) => assignors.push(a),
            Some(_) => {}
            None => {
                return Err(format!(
                    "unknown assignor {name:?} (weir has uniform and range)"
                ))
            }
        }
    }
    if assignors.is_empty() {
        return Err("at least one assignor is needed".into());
    }
    c.group_consumer.assignors = assignors;
    Ok(())
}

/// The setting named `name` (or one of its aliases).
pub fn lookup(name: &str) -> Option<&'static BrokerKey> {
    KEYS.iter()
        .find(|k| k.name == name || k.aliases.contains(&name))
}

/// What a `listener.name.<listener>.<key>` setting sets for one listener.
#[derive(Debug, Clone, Copy)]
pub enum ListenerKey {
    /// A per-listener key of the table (`ssl.*`, `sasl.enabled.mechanisms`).
    Table(&'static BrokerKey),
    /// `<mechanism>.sasl.jaas.config`: the login module of one SASL mechanism.
    Jaas(Mechanism),
}

impl ListenerKey {
    pub fn suffix(self) -> String {
        match self {
            ListenerKey::Table(key) => key.name.to_string(),
            ListenerKey::Jaas(m) => format!("{}.sasl.jaas.config", m.name().to_ascii_lowercase()),
        }
    }

    pub fn sensitive(self) -> bool {
        match self {
            ListenerKey::Table(key) => key.sensitive,
            ListenerKey::Jaas(_) => true,
        }
    }

    /// Every suffix a listener prefix may carry.
    pub fn all() -> impl Iterator<Item = ListenerKey> {
        KEYS.iter()
            .filter(|k| k.per_listener)
            .map(ListenerKey::Table)
            .chain(
                crate::security::mechanism::ALL
                    .into_iter()
                    .map(ListenerKey::Jaas),
            )
    }
}

pub const LISTENER_PREFIX: &str = "listener.name.";

/// `listener.name.<listener>.<key>` -> (listener name, key); `None` without the prefix.
pub fn lookup_listener_key(name: &str) -> Option<Result<(String, ListenerKey), String>> {
    let rest = name.strip_prefix(LISTENER_PREFIX)?;
    let Some((listener, suffix)) = rest.split_once('.') else {
        return Some(Err("no setting after the listener name".into()));
    };
    let listener = match security::listener_name(listener) {
        Ok(l) => l,
        Err(e) => return Some(Err(e)),
    };
    Some(
        ListenerKey::all()
            .find(|k| k.suffix() == suffix)
            .map(|k| (listener, k))
            .ok_or_else(|| {
                format!(
                    "{suffix:?} cannot be set per listener (ssl.* settings, \
                     sasl.enabled.mechanisms and <mechanism>.sasl.jaas.config can)"
                )
            }),
    )
}

impl Kind {
    pub fn config_type(&self) -> ConfigType {
        match self {
            Kind::Int { .. } => ConfigType::Int,
            Kind::Long { .. } => ConfigType::Long,
            Kind::Double { .. } => ConfigType::Double,
            Kind::Bool(_) => ConfigType::Boolean,
            Kind::Choice(..)
            | Kind::Address(_)
            | Kind::Path(_)
            | Kind::PrincipalRules(_)
            | Kind::Text(_) => ConfigType::String,
            Kind::Secret(_) => ConfigType::Password,
            Kind::Listeners { .. }
            | Kind::ProtocolMap(_)
            | Kind::Mechanisms(_)
            | Kind::TlsVersions(_)
            | Kind::Dir(_)
            | Kind::List(_)
            | Kind::ChoiceList(..) => ConfigType::List,
        }
    }

    /// The values accepted, for documentation; `None` where the type says it all.
    pub fn valid_values(&self) -> Option<String> {
        let range = |min: i64, max: i64| match (min, max) {
            (i64::MIN, i64::MAX) => None,
            (min, max) if min == max => Some(format!("{min}")),
            (min, i64::MAX) => Some(format!("at least {min}")),
            (min, max) => Some(format!("{min} to {max}")),
        };
        match self {
            Kind::Int { min, max, .. } | Kind::Long { min, max, .. } => range(*min, *max),
            Kind::Double { min, max, .. } if *max == f64::MAX => Some(format!("at least {min}")),
            Kind::Double { min, max, .. } => Some(format!("{min} to {max}")),
            Kind::Choice(words, _) => Some(words.join(", ")),
            Kind::ChoiceList(words, _) => Some(format!("a list of {}", words.join(", "))),
            Kind::Mechanisms(_) => Some(
                crate::security::mechanism::ALL
                    .map(Mechanism::name)
                    .join(", "),
            ),
            Kind::TlsVersions(_) => Some("TLSv1.2, TLSv1.3".into()),
            _ => None,
        }
    }

    /// Parses `value`, sets the field it belongs to, or says why the value is refused.
    pub fn apply(&self, config: &mut Config, value: &str) -> Result<(), String> {
        let value = value.trim();
        match *self {
            Kind::Int { min, max, set } | Kind::Long { min, max, set } => {
                let v: i64 = value
                    .parse()
                    .map_err(|_| "must be a whole number".to_string())?;
                if v < min || v > max {
                    return Err(format!("must be in {min}..={max}"));
                }
                set(config, v);
            }
            Kind::Double { min, max, set } => {
                let v: f64 = value.parse().map_err(|_| "must be a number".to_string())?;
                if !(min..=max).contains(&v) {
                    return Err(format!("must be in {min}..={max}"));
                }
                set(config, v);
            }
            Kind::ChoiceList(words, set) => {
                let items: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if items.is_empty() {
                    return Err(format!("must name at least one of {}", words.join(", ")));
                }
                if let Some(bad) = items.iter().find(|i| !words.contains(i)) {
                    return Err(format!("{bad:?} is not one of {}", words.join(", ")));
                }
                set(config, &items);
            }
            Kind::Bool(set) => match value {
                "true" => set(config, true),
                "false" => set(config, false),
                _ => return Err("must be true or false".into()),
            },
            Kind::Choice(words, set) => match words.iter().find(|w| **w == value) {
                Some(word) => set(config, word),
                None => return Err(format!("must be one of {}", words.join(", "))),
            },
            Kind::Listeners { required, set } => {
                if value.is_empty() {
                    if required {
                        return Err("must name an address (host:port)".into());
                    }
                    set(config, Vec::new());
                } else {
                    set(config, listener::parse_listeners(value)?);
                }
            }
            Kind::ProtocolMap(set) => set(config, security::parse_protocol_map(value)?),
            Kind::Path(set) => set(config, (!value.is_empty()).then(|| PathBuf::from(value))),
            Kind::Secret(set) => set(config, (!value.is_empty()).then(|| Secret::new(value))),
            Kind::Mechanisms(set) => {
                let mut mechanisms = Vec::new();
                for word in security::words(value) {
                    let mechanism = Mechanism::parse(word).ok_or_else(|| {
                        format!("weir does not serve the SASL mechanism {word:?}")
                    })?;
                    if !mechanisms.contains(&mechanism) {
                        mechanisms.push(mechanism);
                    }
                }
                set(config, mechanisms);
            }
            Kind::TlsVersions(set) => {
                let mut versions = Vec::new();
                for word in security::words(value) {
                    versions.push(match word {
                        "TLSv1.2" => TlsVersion::Tls12,
                        "TLSv1.3" => TlsVersion::Tls13,
                        other => return Err(format!("{other:?} is not TLSv1.2 or TLSv1.3")),
                    });
                }
                if versions.is_empty() {
                    return Err("must name at least one TLS version".into());
                }
                set(config, versions);
            }
            Kind::PrincipalRules(set) => set(config, PrincipalMapper::parse(value)?),
            Kind::Address(set) => set(config, listener::parse_address(value)?),
            Kind::Dir(set) => {
                if value.is_empty() {
                    return Err("must name a folder".into());
                }
                if value.contains(',') {
                    return Err("weir keeps its data in one folder, not a list".into());
                }
                set(config, PathBuf::from(value));
            }
            Kind::List(set) => {
                let items: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .collect();
                set(config, &items)?;
            }
            Kind::Text(set) => set(config, value)?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_aliases_are_unique_and_defaults_are_valid() {
        let mut names = HashSet::new();
        for key in KEYS {
            assert!(!key.name.is_empty() && !key.doc.is_empty(), "{key:?}");
            for name in std::iter::once(&key.name).chain(key.aliases) {
                assert!(names.insert(*name), "{name} twice");
            }
            let mut config = Config::blank();
            assert_eq!(
                key.kind.apply(&mut config, key.default),
                Ok(()),
                "{}",
                key.name
            );
            if let Kind::Int { max, .. } = key.kind {
                assert!(max <= INT_MAX, "{} is an INT", key.name);
            }
        }
    }

    fn io_default() -> &'static str {
        lookup("log.cleaner.io.max.bytes.per.second")
            .unwrap()
            .default
    }

    #[test]
    fn kinds_refuse_what_does_not_fit() {
        let mut c = Config::blank();
        let num = lookup("num.partitions").unwrap().kind;
        assert_eq!(num.apply(&mut c, " 6 "), Ok(()));
        assert_eq!(c.num_partitions, 6);
        assert!(num.apply(&mut c, "0").is_err());
        assert!(num.apply(&mut c, "2147483648").is_err());
        assert!(num.apply(&mut c, "six").is_err());
        let ts = lookup("log.message.timestamp.type").unwrap().kind;
        assert_eq!(ts.apply(&mut c, "LogAppendTime"), Ok(()));
        assert_eq!(c.log.timestamp_type, TimestampType::LogAppendTime);
        assert!(ts.apply(&mut c, "logappendtime").is_err());
        let dirs = lookup("log.dirs").unwrap().kind;
        assert!(dirs.apply(&mut c, "/a,/b").is_err());
        assert_eq!(lookup("metrics.listen").unwrap().name, "admin.listen");
        let policy = lookup("log.cleanup.policy").unwrap().kind;
        assert_eq!(policy.apply(&mut c, "compact, delete"), Ok(()));
        assert!(c.log.compact && c.log.delete);
        assert!(policy.apply(&mut c, "shred").is_err());
        assert!(policy.apply(&mut c, "").is_err());
        let ratio = lookup("log.cleaner.min.cleanable.ratio").unwrap().kind;
        assert_eq!(ratio.apply(&mut c, "0.25"), Ok(()));
        assert_eq!(c.log.min_cleanable_dirty_ratio, 0.25);
        assert!(ratio.apply(&mut c, "1.5").is_err());
        let io = lookup("log.cleaner.io.max.bytes.per.second").unwrap().kind;
        assert_eq!(io.apply(&mut c, io_default()), Ok(()));
        assert_eq!(c.cleaner.io_max_bytes_per_second, f64::MAX);
    }
}
