//! `weir topic create|list|describe|delete|add-partitions|alter-config`.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest,
};
use serde::Serialize;

use super::error::{check_msg, CliError};
use super::offsets::{self, EARLIEST, LATEST};
use super::output::{print, print_json, table};
use super::{key_value, Connect};
use crate::client::{s, topic_name, Client};

/// Kafka's ConfigResource type for a topic.
const TOPIC_RESOURCE: i8 = 2;
/// DescribeConfigs source: a config set on the topic itself.
const TOPIC_CONFIG_SOURCE: i8 = 1;
const TIMEOUT_MS: i32 = 30_000;

#[derive(clap::Args, Debug)]
pub struct TopicArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: TopicCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TopicCommand {
    /// Create a topic.
    Create {
        topic: String,
        /// Number of partitions [default: the broker's num.partitions].
        #[arg(short, long)]
        partitions: Option<i32>,
        /// Replication factor [default: the broker's default.replication.factor].
        #[arg(short, long)]
        replication_factor: Option<i16>,
        /// A topic config, e.g. `--config retention.ms=3600000` (repeatable).
        #[arg(short, long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Succeed if the topic already exists.
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List topics with their partition counts.
    List {
        /// Include internal topics (e.g. __consumer_offsets).
        #[arg(long)]
        internal: bool,
    },
    /// Show partitions (leader, replicas, offsets), topic-level configs and the cleanup
    /// policy; with `--admin`, each compacted partition's dirty ratio and last cleaning.
    Describe {
        #[arg(required = true)]
        topics: Vec<String>,
        /// weir's admin HTTP listener (HOST:PORT, the broker's admin.listen), read for the
        /// cleaner's per-partition figures.
        #[arg(long, env = "WEIR_ADMIN", value_name = "HOST:PORT")]
        admin: Option<String>,
    },
    /// Delete topics.
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Succeed if a topic does not exist.
        #[arg(long)]
        if_exists: bool,
    },
    /// Add partitions to a topic (`--num` more, or up to `--total`).
    AddPartitions {
        topic: String,
        /// How many partitions to add.
        #[arg(long, required_unless_present = "total", conflicts_with = "total")]
        num: Option<i32>,
        /// The partition count wanted.
        #[arg(long)]
        total: Option<i32>,
    },
    /// Set or remove topic configs (like kafka-configs --alter).
    AlterConfig {
        topic: String,
        /// Set a config (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Remove a config, back to the broker default (repeatable).
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
}

pub async fn run(args: TopicArgs) -> Result<(), CliError> {
    let connect = args.connect;
    match args.command {
        TopicCommand::Create {
            topic,
            partitions,
            replication_factor,
            configs,
            if_not_exists,
        } => {
            let configs = configs
                .iter()
                .map(|c| key_value(c, "--config"))
                .collect::<Result<Vec<_>, _>>()?;
            let spec = CreateSpec {
                partitions,
                replication_factor,
                configs,
                if_not_exists,
            };
            create(&connect, &topic, spec).await
        }
        TopicCommand::List { internal } => list(&connect, internal).await,
        TopicCommand::Describe { topics, admin } => {
            describe(&connect, &topics, admin.as_deref()).await
        }
        TopicCommand::Delete { topics, if_exists } => delete(&connect, &topics, if_exists).await,
        TopicCommand::AddPartitions { topic, num, total } => {
            add_partitions(&connect, &topic, num, total).await
        }
        TopicCommand::AlterConfig { topic, set, delete } => {
            let set = set
                .iter()
                .map(|c| key_value(c, "--set"))
                .collect::<Result<Vec<_>, _>>()?;
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "alter-config needs at least one --set KEY=VALUE or --delete KEY".into(),
                ));
            }
            alter_config(&connect, &topic, &set, &delete).await
        }
    }
}

struct CreateSpec {
    partitions: Option<i32>,
    replication_factor: Option<i16>,
    configs: Vec<(String, String)>,
    if_not_exists: bool,
}

#[derive(Serialize)]
struct Created {
    topic: String,
    created: bool,
    partitions: Option<i32>,
    replication_factor: Option<i16>,
}

async fn create(connect: &Connect, topic: &str, spec: CreateSpec) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let response = client
        .call(|version| {
            // Before v4 the broker defaults (-1) are not understood.
            let default = if version >= 4 { -1 } else { 1 };
            let creatable = CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(spec.partitions.unwrap_or(default))
                .with_replication_factor(spec.replication_factor.unwrap_or(default as i16))
                .with_configs(
                    spec.configs
                        .iter()
                        .map(|(k, v)| {
                            CreatableTopicConfig::default()
                                .with_name(s(k))
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                );
            CreateTopicsRequest::default()
                .with_topics(vec![creatable])
                .with_timeout_ms(TIMEOUT_MS)
        })
        .await?;
    let mut created = Created {
        topic: topic.to_string(),
        created: true,
        partitions: spec.partitions,
        replication_factor: spec.replication_factor,
    };
    for result in &response.topics {
        if result.error_code == 36 && spec.if_not_exists {
            created.created = false;
            continue;
        }
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot create topic {topic:?} (broker {})", client.addr())
        })?;
        if result.num_partitions > 0 {
            created.partitions = Some(result.num_partitions);
        }
        if result.replication_factor > 0 {
            created.replication_factor = Some(result.replication_factor);
        }
    }
    if connect.json() {
        return print_json(&created);
    }
    let what = if created.created {
        "Created"
    } else {
        "Already exists:"
    };
    match created.partitions {
        Some(n) => print(&format!("{what} topic {topic} ({n} partitions)\n")),
        None => print(&format!("{what} topic {topic}\n")),
    }
}

#[derive(Serialize)]
struct Listed {
    topic: String,
    topic_id: String,
    partitions: usize,
    replication_factor: usize,
    internal: bool,
}

async fn list(connect: &Connect, internal: bool) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let metadata = client.metadata(None).await?;
    let mut topics: Vec<Listed> = metadata
        .topics
        .iter()
        .filter(|t| internal || !t.is_internal)
        .map(|t| Listed {
            topic: t.name.as_ref().map_or("", |n| n.0.as_str()).to_string(),
            topic_id: t.topic_id.to_string(),
            partitions: t.partitions.len(),
            replication_factor: t.partitions.first().map_or(0, |p| p.replica_nodes.len()),
            internal: t.is_internal,
        })
        .collect();
    topics.sort_by(|a, b| a.topic.cmp(&b.topic));
    if connect.json() {
        return print_json(&topics);
    }
    let rows: Vec<Vec<String>> = topics
        .iter()
        .map(|t| {
            vec![
                t.topic.clone(),
                t.partitions.to_string(),
                t.replication_factor.to_string(),
            ]
        })
        .collect();
    print(&table(&["TOPIC", "PARTITIONS", "REPLICAS"], &rows))
}

#[derive(Serialize)]
struct Described {
    topic: String,
    topic_id: String,
    /// The effective `cleanup.policy`.
    cleanup_policy: String,
    configs: BTreeMap<String, Option<String>>,
    partitions: Vec<DescribedPartition>,
}

#[derive(Serialize)]
struct DescribedPartition {
    partition: i32,
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
    log_start_offset: i64,
    high_watermark: i64,
    /// Compacted partitions, with `--admin`: dirty bytes / cleanable bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    dirty_ratio: Option<f64>,
    /// Compacted partitions, with `--admin`: when the last cleaning pass ended (ms since the
    /// epoch on the broker clock), -1 if never.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_cleaned_ms: Option<i64>,
}

async fn describe(
    connect: &Connect,
    topics: &[String],
    admin: Option<&str>,
) -> Result<(), CliError> {
    let cleaner = match admin {
        Some(addr) => super::cleaner_metrics::fetch(addr, connect.timeout).await?,
        None => Default::default(),
    };
    let mut client = connect.client().await?;
    let metadata = client.metadata(Some(topics)).await?;
    let parts = offsets::topic_partitions(client.addr(), &metadata)?;
    let leaders = offsets::leaders(&parts);
    let earliest = offsets::list_offsets(&mut client, &leaders, EARLIEST).await?;
    let latest = offsets::list_offsets(&mut client, &leaders, LATEST).await?;
    let mut described = Vec::new();
    for topic in topics {
        let id = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
            .map_or(String::new(), |t| t.topic_id.to_string());
        let partitions = parts
            .get(topic)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let key = (topic.clone(), p.partition);
                        DescribedPartition {
                            partition: p.partition,
                            leader: p.leader,
                            replicas: p.replicas.clone(),
                            isr: p.isr.clone(),
                            log_start_offset: earliest.get(&key).copied().unwrap_or(-1),
                            high_watermark: latest.get(&key).copied().unwrap_or(-1),
                            dirty_ratio: cleaner.dirty_ratio.get(&key).copied(),
                            last_cleaned_ms: cleaner.last_cleaned_ms.get(&key).copied(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (configs, cleanup_policy) = topic_configs(&mut client, topic).await?;
        described.push(Described {
            topic: topic.clone(),
            topic_id: id,
            cleanup_policy,
            configs,
            partitions,
        });
    }
    if connect.json() {
        return print_json(&described);
    }
    let mut text = String::new();
    for d in &described {
        let configs: Vec<String> = d
            .configs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("")))
            .collect();
        text.push_str(&format!(
            "Topic: {}  Id: {}  Partitions: {}  Policy: {}  Configs: {}\n",
            d.topic,
            d.topic_id,
            d.partitions.len(),
            d.cleanup_policy,
            if configs.is_empty() {
                "-".to_string()
            } else {
                configs.join(",")
            }
        ));
        let rows: Vec<Vec<String>> = d
            .partitions
            .iter()
            .map(|p| {
                let mut row = vec![
                    p.partition.to_string(),
                    p.leader.to_string(),
                    join(&p.replicas),
                    join(&p.isr),
                    p.log_start_offset.to_string(),
                    p.high_watermark.to_string(),
                ];
                if admin.is_some() && d.cleanup_policy.contains("compact") {
                    row.push(p.dirty_ratio.map_or("-".into(), |r| format!("{r:.3}")));
                    row.push(match p.last_cleaned_ms {
                        Some(ms) if ms >= 0 => super::cleaner_metrics::timestamp(ms),
                        Some(_) => "never".into(),
                        None => "-".into(),
                    });
                }
                row
            })
            .collect();
        let mut headers = vec![
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "LOG-START-OFFSET",
            "HIGH-WATERMARK",
        ];
        if admin.is_some() && d.cleanup_policy.contains("compact") {
            headers.extend(["DIRTY-RATIO", "LAST-CLEANED"]);
        }
        text.push_str(&table(&headers, &rows));
        text.push('\n');
    }
    print(text.trim_end_matches('\n')).and_then(|()| print("\n"))
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// The configs set on the topic itself (DescribeConfigs source 1), and the effective
/// `cleanup.policy`; empty and "delete" when the broker does not serve DescribeConfigs.
async fn topic_configs(
    client: &mut Client,
    topic: &str,
) -> Result<(BTreeMap<String, Option<String>>, String), CliError> {
    let mut policy = "delete".to_string();
    if !client.supports::<DescribeConfigsRequest>() {
        return Ok((BTreeMap::new(), policy));
    }
    let response = client
        .call(|_| {
            DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(s(topic))
                    .with_configuration_keys(None),
            ])
        })
        .await?;
    let mut out = BTreeMap::new();
    for result in response.results {
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot describe the configs of topic {topic:?}")
        })?;
        for config in result.configs {
            if config.name.as_str() == "cleanup.policy" {
                if let Some(v) = &config.value {
                    policy = v.as_str().to_string();
                }
            }
            if config.config_source == TOPIC_CONFIG_SOURCE {
                let value = if config.is_sensitive {
                    Some("<sensitive>".to_string())
                } else {
                    config.value.map(|v| v.as_str().to_string())
                };
                out.insert(config.name.as_str().to_string(), value);
            }
        }
    }
    Ok((out, policy))
}

async fn delete(connect: &Connect, topics: &[String], if_exists: bool) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let response = client
        .call(|version| {
            let request = DeleteTopicsRequest::default().with_timeout_ms(TIMEOUT_MS);
            if version >= 6 {
                request.with_topics(
                    topics
                        .iter()
                        .map(|t| DeleteTopicState::default().with_name(Some(topic_name(t))))
                        .collect(),
                )
            } else {
                request.with_topic_names(topics.iter().map(|t| topic_name(t)).collect())
            }
        })
        .await?;
    let mut deleted = Vec::new();
    for result in &response.responses {
        let name = result
            .name
            .as_ref()
            .map_or("", |n| n.0.as_str())
            .to_string();
        if result.error_code == 3 {
            if if_exists {
                continue;
            }
            return Err(CliError::UnknownTopic {
                topic: name,
                addr: client.addr().to_string(),
            });
        }
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot delete topic {name:?}")
        })?;
        deleted.push(name);
    }
    if connect.json() {
        return print_json(&serde_json::json!({ "deleted": deleted }));
    }
    let text: String = deleted
        .iter()
        .map(|t| format!("Deleted topic {t}\n"))
        .collect();
    print(&text)
}

async fn add_partitions(
    connect: &Connect,
    topic: &str,
    num: Option<i32>,
    total: Option<i32>,
) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let parts = offsets::partitions(&mut client, &[topic.to_string()]).await?;
    let current = parts.get(topic).map_or(0, |p| p.len() as i32);
    let count = match (num, total) {
        (Some(n), _) if n > 0 => current + n,
        (None, Some(t)) if t > current => t,
        _ => {
            return Err(CliError::Usage(format!(
                "topic {topic:?} has {current} partitions: --num must be positive, --total more than {current}"
            )))
        }
    };
    let response = client
        .call(|_| {
            CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(topic_name(topic))
                    .with_count(count)
                    .with_assignments(None)])
                .with_timeout_ms(TIMEOUT_MS)
        })
        .await?;
    for result in &response.results {
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot add partitions to topic {topic:?}")
        })?;
    }
    if connect.json() {
        return print_json(&serde_json::json!({
            "topic": topic, "previous_partitions": current, "partitions": count
        }));
    }
    print(&format!(
        "Topic {topic} now has {count} partitions (was {current})\n"
    ))
}

async fn alter_config(
    connect: &Connect,
    topic: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    offsets::partitions(&mut client, &[topic.to_string()]).await?;
    let mut configs: Vec<AlterableConfig> = set
        .iter()
        .map(|(k, v)| {
            AlterableConfig::default()
                .with_name(s(k))
                .with_config_operation(0) // SET
                .with_value(Some(s(v)))
        })
        .collect();
    configs.extend(delete.iter().map(|k| {
        AlterableConfig::default()
            .with_name(s(k))
            .with_config_operation(1) // DELETE
            .with_value(None)
    }));
    let response = client
        .call(|_| {
            IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(s(topic))
                    .with_configs(configs),
            ])
        })
        .await?;
    for result in &response.responses {
        check_msg(result.error_code, result.error_message.as_ref(), || {
            format!("cannot alter the configs of topic {topic:?}")
        })?;
    }
    let (configs, _) = topic_configs(&mut client, topic).await?;
    if connect.json() {
        return print_json(&serde_json::json!({ "topic": topic, "configs": configs }));
    }
    let mut text = format!("Altered configs of topic {topic}\n");
    let rows: Vec<Vec<String>> = configs
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone().unwrap_or_default()])
        .collect();
    text.push_str(&table(&["CONFIG", "VALUE"], &rows));
    print(&text)
}
