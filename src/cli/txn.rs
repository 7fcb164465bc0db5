//! `weir txn list|describe|describe-producers|find-hanging|abort`, like kafka-transactions.sh.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest, ProducerId,
    TransactionalId, WriteTxnMarkersRequest,
};
use serde::Serialize;

use super::error::{check, CliError};
use super::output::{or_dash, print, print_json, table};
use super::Connect;
use crate::client::{s, topic_name, Client};

#[derive(clap::Args, Debug)]
pub struct TxnArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: TxnCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TxnCommand {
    /// List transactional ids with their producer id and state.
    List {
        /// Only transactions open for longer than this many milliseconds.
        #[arg(long, value_name = "MS")]
        duration_filter: Option<i64>,
        /// Only these states (Empty, Ongoing, PrepareCommit, ...).
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
    },
    /// Show one transactional id: producer, epoch, state, timeout, partitions.
    Describe {
        #[arg(long)]
        transactional_id: String,
    },
    /// Show the producers a partition knows, with where their open transaction starts.
    DescribeProducers {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
    },
    /// Find transactions open on partitions longer than the longest transaction timeout
    /// allows, or that no transactional id owns (hanging transactions).
    FindHanging {
        /// Only this topic (default: every topic).
        #[arg(long)]
        topic: Option<String>,
        /// A transaction open longer than this is hanging (Kafka's default
        /// transaction.max.timeout.ms).
        #[arg(long, value_name = "MS", default_value_t = 900_000)]
        max_transaction_timeout: i64,
    },
    /// Abort an open transaction on one partition by writing an abort marker. Name the
    /// transaction by its first offset (--start-offset) or by its producer.
    Abort {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
        /// The first offset of the open transaction (from describe-producers).
        #[arg(long, conflicts_with_all = ["producer_id", "producer_epoch"])]
        start_offset: Option<i64>,
        #[arg(long, requires = "producer_epoch")]
        producer_id: Option<i64>,
        #[arg(long, requires = "producer_id")]
        producer_epoch: Option<i16>,
        #[arg(long, default_value_t = 0)]
        coordinator_epoch: i32,
    },
}

pub async fn run(args: TxnArgs) -> Result<(), CliError> {
    let connect = args.connect;
    let mut client = connect.client().await?;
    match args.command {
        TxnCommand::List {
            duration_filter,
            states,
        } => list(&connect, &mut client, duration_filter, states).await,
        TxnCommand::Describe { transactional_id } => {
            describe(&connect, &mut client, &transactional_id).await
        }
        TxnCommand::DescribeProducers { topic, partition } => {
            let producers = producers(&mut client, &topic, partition).await?;
            show_producers(&connect, &producers)
        }
        TxnCommand::FindHanging {
            topic,
            max_transaction_timeout,
        } => find_hanging(&connect, &mut client, topic, max_transaction_timeout).await,
        TxnCommand::Abort {
            topic,
            partition,
            start_offset,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => {
            let target = match (start_offset, producer_id, producer_epoch) {
                (Some(offset), _, _) => Target::StartOffset(offset),
                (None, Some(pid), Some(epoch)) => Target::Producer(pid, epoch, coordinator_epoch),
                _ => {
                    return Err(CliError::Usage(
                        "abort needs --start-offset, or --producer-id and --producer-epoch".into(),
                    ))
                }
            };
            abort(&connect, &mut client, &topic, partition, target).await
        }
    }
}

#[derive(Serialize)]
struct Listed {
    transactional_id: String,
    coordinator: i32,
    producer_id: i64,
    state: String,
}

/// Asks every broker (each lists the transactional ids it coordinates).
async fn list(
    connect: &Connect,
    client: &mut Client,
    duration_filter: Option<i64>,
    states: Vec<String>,
) -> Result<(), CliError> {
    let metadata = client.metadata(Some(&[])).await?;
    let mut listed = BTreeMap::new();
    for broker in &metadata.brokers {
        let node = broker.node_id.0;
        let states = states.clone();
        let response = client
            .call_node(node, |_| {
                ListTransactionsRequest::default()
                    .with_state_filters(states.iter().map(|st| s(st)).collect())
                    .with_duration_filter(duration_filter.unwrap_or(-1))
            })
            .await?;
        check(response.error_code, || {
            "cannot list transactions".to_string()
        })?;
        for t in response.transaction_states {
            let id = t.transactional_id.0.as_str().to_string();
            listed.insert(
                id.clone(),
                Listed {
                    transactional_id: id,
                    coordinator: node,
                    producer_id: t.producer_id.0,
                    state: t.transaction_state.as_str().to_string(),
                },
            );
        }
    }
    let listed: Vec<Listed> = listed.into_values().collect();
    if connect.json() {
        return print_json(&listed);
    }
    let rows: Vec<Vec<String>> = listed
        .iter()
        .map(|l| {
            vec![
                l.transactional_id.clone(),
                l.coordinator.to_string(),
                l.producer_id.to_string(),
                l.state.clone(),
            ]
        })
        .collect();
    print(&table(
        &["TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "STATE"],
        &rows,
    ))
}

#[derive(Serialize)]
struct Described {
    coordinator: i32,
    transactional_id: String,
    producer_id: i64,
    producer_epoch: i16,
    state: String,
    timeout_ms: i32,
    /// None when no transaction was started.
    start_time_ms: Option<i64>,
    partitions: Vec<String>,
}

async fn describe(connect: &Connect, client: &mut Client, id: &str) -> Result<(), CliError> {
    let coordinator = client.txn_coordinator(id).await?;
    let response = client
        .call_node(coordinator, |_| {
            DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![TransactionalId(s(id))])
        })
        .await?;
    let t = response
        .transaction_states
        .into_iter()
        .next()
        .ok_or_else(|| CliError::kafka(format!("cannot describe {id:?}"), -1, None))?;
    check(t.error_code, || {
        format!("cannot describe transactional id {id:?}")
    })?;
    let described = Described {
        coordinator,
        transactional_id: id.to_string(),
        producer_id: t.producer_id.0,
        producer_epoch: t.producer_epoch,
        state: t.transaction_state.as_str().to_string(),
        timeout_ms: t.transaction_timeout_ms,
        start_time_ms: (t.transaction_start_time_ms >= 0).then_some(t.transaction_start_time_ms),
        partitions: t
            .topics
            .iter()
            .flat_map(|topic| {
                topic
                    .partitions
                    .iter()
                    .map(move |p| format!("{}-{p}", topic.topic.as_str()))
            })
            .collect(),
    };
    if connect.json() {
        return print_json(&described);
    }
    let row = vec![
        described.coordinator.to_string(),
        described.transactional_id.clone(),
        described.producer_id.to_string(),
        described.producer_epoch.to_string(),
        described.state.clone(),
        described.timeout_ms.to_string(),
        or_dash(described.start_time_ms.unwrap_or(-1)),
        if described.partitions.is_empty() {
            "-".to_string()
        } else {
            described.partitions.join(",")
        },
    ];
    print(&table(
        &[
            "COORDINATOR",
            "TRANSACTIONAL-ID",
            "PRODUCER-ID",
            "EPOCH",
            "STATE",
            "TIMEOUT-MS",
            "START-TIME-MS",
            "PARTITIONS",
        ],
        &[row],
    ))
}

#[derive(Serialize, Clone)]
struct Producer {
    topic: String,
    partition: i32,
    producer_id: i64,
    producer_epoch: i32,
    coordinator_epoch: i32,
    last_sequence: i32,
    last_timestamp: i64,
    /// None when the producer has no open transaction there.
    current_transaction_start_offset: Option<i64>,
}

/// DescribeProducers of one partition, sent to its leader.
async fn producers(
    client: &mut Client,
    topic: &str,
    partition: i32,
) -> Result<Vec<Producer>, CliError> {
    let leader = leader(client, topic, partition).await?;
    let response = client
        .call_node(leader, |_| {
            DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                .with_name(topic_name(topic))
                .with_partition_indexes(vec![partition])])
        })
        .await?;
    let p = response
        .topics
        .into_iter()
        .flat_map(|t| t.partitions)
        .next()
        .ok_or_else(|| CliError::kafka(format!("no answer for {topic}-{partition}"), -1, None))?;
    check(p.error_code, || {
        format!("cannot describe the producers of {topic}-{partition}")
    })?;
    Ok(p.active_producers
        .into_iter()
        .map(|a| Producer {
            topic: topic.to_string(),
            partition,
            producer_id: a.producer_id.0,
            producer_epoch: a.producer_epoch,
            coordinator_epoch: a.coordinator_epoch,
            last_sequence: a.last_sequence,
            last_timestamp: a.last_timestamp,
            current_transaction_start_offset: (a.current_txn_start_offset >= 0)
                .then_some(a.current_txn_start_offset),
        })
        .collect())
}

fn show_producers(connect: &Connect, producers: &[Producer]) -> Result<(), CliError> {
    if connect.json() {
        return print_json(&producers);
    }
    let rows: Vec<Vec<String>> = producers
        .iter()
        .map(|p| {
            vec![
                format!("{}-{}", p.topic, p.partition),
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                or_dash(i64::from(p.coordinator_epoch)),
                or_dash(i64::from(p.last_sequence)),
                or_dash(p.last_timestamp),
                or_dash(p.current_transaction_start_offset.unwrap_or(-1)),
            ]
        })
        .collect();
    print(&table(
        &[
            "PARTITION",
            "PRODUCER-ID",
            "EPOCH",
            "COORDINATOR-EPOCH",
            "LAST-SEQUENCE",
            "LAST-TIMESTAMP",
            "TXN-START-OFFSET",
        ],
        &rows,
    ))
}

/// Transactions open on a partition for longer than `max_timeout_ms` (their last write is
/// that old), or whose producer id no transactional id in an open state has.
async fn find_hanging(
    connect: &Connect,
    client: &mut Client,
    topic: Option<String>,
    max_timeout_ms: i64,
) -> Result<(), CliError> {
    let metadata = client.metadata(None).await?;
    let mut open_pids = Vec::new();
    for broker in &metadata.brokers {
        let response = client
            .call_node(broker.node_id.0, |_| {
                ListTransactionsRequest::default().with_state_filters(
                    [
                        "Ongoing",
                        "PrepareCommit",
                        "PrepareAbort",
                        "PrepareEpochFence",
                    ]
                    .iter()
                    .map(|st| s(st))
                    .collect(),
                )
            })
            .await?;
        check(response.error_code, || {
            "cannot list transactions".to_string()
        })?;
        open_pids.extend(response.transaction_states.iter().map(|t| t.producer_id.0));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let mut hanging = Vec::new();
    for t in &metadata.topics {
        let Some(name) = t.name.as_ref().map(|n| n.as_str().to_string()) else {
            continue;
        };
        if topic.as_ref().is_some_and(|wanted| *wanted != name) {
            continue;
        }
        for p in &t.partitions {
            for producer in producers(client, &name, p.partition_index).await? {
                let open = producer.current_transaction_start_offset.is_some();
                let too_old = now.saturating_sub(producer.last_timestamp) > max_timeout_ms;
                let unowned = !open_pids.contains(&producer.producer_id);
                if open && (too_old || unowned) {
                    hanging.push(producer);
                }
            }
        }
    }
    show_producers(connect, &hanging)
}

enum Target {
    StartOffset(i64),
    /// Producer id, epoch, coordinator epoch.
    Producer(i64, i16, i32),
}

async fn abort(
    connect: &Connect,
    client: &mut Client,
    topic: &str,
    partition: i32,
    target: Target,
) -> Result<(), CliError> {
    let (producer_id, epoch, coordinator_epoch) = match target {
        Target::Producer(pid, epoch, coordinator_epoch) => (pid, epoch, coordinator_epoch),
        Target::StartOffset(offset) => {
            let found = producers(client, topic, partition)
                .await?
                .into_iter()
                .find(|p| p.current_transaction_start_offset == Some(offset))
                .ok_or_else(|| {
                    CliError::Usage(format!(
                        "no open transaction starts at offset {offset} of {topic}-{partition}"
                    ))
                })?;
            let epoch = i16::try_from(found.producer_epoch).unwrap_or(i16::MAX);
            (found.producer_id, epoch, found.coordinator_epoch.max(0))
        }
    };
    let leader = leader(client, topic, partition).await?;
    let response = client
        .call_node(leader, |_| {
            WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
                .with_producer_id(ProducerId(producer_id))
                .with_producer_epoch(epoch)
                .with_transaction_result(false)
                .with_coordinator_epoch(coordinator_epoch)
                .with_topics(vec![WritableTxnMarkerTopic::default()
                    .with_name(topic_name(topic))
                    .with_partition_indexes(vec![partition])])])
        })
        .await?;
    let code = response
        .markers
        .iter()
        .flat_map(|m| &m.topics)
        .flat_map(|t| &t.partitions)
        .map(|p| p.error_code)
        .next()
        .unwrap_or(-1);
    check(code, || {
        format!("cannot abort the transaction of producer {producer_id} on {topic}-{partition}")
    })?;
    if connect.json() {
        return print_json(&serde_json::json!({
            "topic": topic,
            "partition": partition,
            "producer_id": producer_id,
            "producer_epoch": epoch,
            "aborted": true,
        }));
    }
    print(&format!(
        "aborted the transaction of producer {producer_id} (epoch {epoch}) on {topic}-{partition}\n"
    ))
}

/// The leader of a partition.
async fn leader(client: &mut Client, topic: &str, partition: i32) -> Result<i32, CliError> {
    let metadata = client.metadata(Some(&[topic.to_string()])).await?;
    let t = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic))
        .ok_or_else(|| CliError::Usage(format!("unknown topic {topic:?}")))?;
    check(t.error_code, || format!("cannot find topic {topic:?}"))?;
    t.partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .map(|p| p.leader_id.0)
        .ok_or_else(|| CliError::Usage(format!("{topic} has no partition {partition}")))
}
