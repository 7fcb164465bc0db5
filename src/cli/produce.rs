//! `weir produce TOPIC`: one record per line of stdin, like kafka-console-producer.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::records::Compression;
use serde::Serialize;
use tokio::sync::mpsc;

use super::error::{check_msg, CliError};
use super::offsets::{self, PartitionInfo};
use super::output::{print_json, progress};
use super::records::{encode_batch, partition_for_key, Outgoing};
use super::{key_value, Connect};
use crate::client::{topic_name, Client};

/// How long to wait for more lines before sending what has been read.
const LINGER: Duration = Duration::from_millis(20);

#[derive(clap::Args, Debug)]
pub struct ProduceArgs {
    /// The topic to write to.
    topic: String,
    #[command(flatten)]
    connect: Connect,
    /// Split each line at the first SEP into key and value (the console producer's
    /// parse.key=true, key.separator=SEP). A line without SEP is an error.
    #[arg(short = 'K', long, value_name = "SEP")]
    key_separator: Option<String>,
    /// Write every record to this partition [default: by key hash like the Java client,
    /// keyless records spread over partitions].
    #[arg(short, long)]
    partition: Option<i32>,
    /// Batch compression.
    #[arg(short = 'z', long, value_enum, default_value_t = CompressionArg::None)]
    compression: CompressionArg,
    /// Acknowledgements: all (-1), 1 (leader) or 0 (none: no answer, no error reported).
    #[arg(long, default_value = "all", value_parser = parse_acks)]
    acks: i16,
    /// A header added to every record (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// At most this many records per request.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum CompressionArg {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl From<CompressionArg> for Compression {
    fn from(c: CompressionArg) -> Compression {
        match c {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Snappy => Compression::Snappy,
            CompressionArg::Lz4 => Compression::Lz4,
            CompressionArg::Zstd => Compression::Zstd,
        }
    }
}

fn parse_acks(text: &str) -> Result<i16, String> {
    match text {
        "all" | "-1" => Ok(-1),
        "1" => Ok(1),
        "0" => Ok(0),
        _ => Err(format!("{text:?}: expected all, -1, 1 or 0")),
    }
}

#[derive(Serialize, Default)]
struct Summary {
    topic: String,
    records: u64,
    /// partition -> (first offset, last offset) written; empty with acks=0.
    partitions: BTreeMap<i32, PartitionSummary>,
}

#[derive(Serialize)]
struct PartitionSummary {
    records: u64,
    first_offset: i64,
    last_offset: i64,
}

pub async fn run(args: ProduceArgs) -> Result<(), CliError> {
    if args.batch_size == 0 {
        return Err(CliError::Usage("--batch-size must be positive".into()));
    }
    let headers = args
        .headers
        .iter()
        .map(|h| key_value(h, "--header").map(|(k, v)| (k, Bytes::from(v))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut client = args.connect.client().await?;
    let parts = offsets::partitions(&mut client, std::slice::from_ref(&args.topic)).await?;
    let parts = parts.get(&args.topic).cloned().unwrap_or_default();
    if let Some(p) = args.partition {
        if !parts.iter().any(|info| info.partition == p) {
            return Err(CliError::Usage(format!(
                "topic {:?} has no partition {p} ({} partitions)",
                args.topic,
                parts.len()
            )));
        }
    }
    let mut lines = read_lines();
    let bar = progress(None, "records", !std::io::stdin().is_terminal());
    let mut summary = Summary {
        topic: args.topic.clone(),
        ..Summary::default()
    };
    let mut line_no = 0u64;
    let mut round = 0usize;
    while let Some(first) = lines.recv().await {
        let mut chunk = vec![first];
        while chunk.len() < args.batch_size {
            match tokio::time::timeout(LINGER, lines.recv()).await {
                Ok(Some(line)) => chunk.push(line),
                _ => break,
            }
        }
        let mut by_partition: BTreeMap<i32, Vec<Outgoing>> = BTreeMap::new();
        let now = chrono::Utc::now().timestamp_millis();
        for line in chunk {
            line_no += 1;
            let line = line.map_err(|source| CliError::Stdio {
                what: "cannot read stdin",
                source,
            })?;
            let record = parse_line(&line, args.key_separator.as_deref(), line_no, &headers, now)?;
            let partition = pick(&args, &parts, &record, round);
            by_partition.entry(partition).or_default().push(record);
        }
        round = round.wrapping_add(1);
        send(&mut client, &args, &parts, by_partition, &mut summary).await?;
        bar.set_position(summary.records);
    }
    bar.finish_and_clear();
    if args.connect.json() {
        return print_json(&summary);
    }
    eprintln!(
        "Produced {} records to {} ({} partitions)",
        summary.records,
        args.topic,
        summary.partitions.len()
    );
    Ok(())
}

/// Lines of stdin through a channel, read by a plain thread (stdin reads block).
fn read_lines() -> mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = mpsc::channel(4096);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn parse_line(
    line: &str,
    separator: Option<&str>,
    line_no: u64,
    headers: &[(String, Bytes)],
    timestamp: i64,
) -> Result<Outgoing, CliError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (key, value) = match separator {
        None => (None, line),
        Some(sep) => match line.split_once(sep) {
            Some((k, v)) => (Some(Bytes::copy_from_slice(k.as_bytes())), v),
            None => {
                return Err(CliError::Usage(format!(
                    "line {line_no} has no key separator {sep:?}"
                )))
            }
        },
    };
    Ok(Outgoing {
        key,
        value: Bytes::copy_from_slice(value.as_bytes()),
        headers: headers.to_vec(),
        timestamp,
    })
}

fn pick(args: &ProduceArgs, parts: &[PartitionInfo], record: &Outgoing, round: usize) -> i32 {
    if let Some(p) = args.partition {
        return p;
    }
    let n = parts.len().max(1);
    match &record.key {
        Some(key) => partition_for_key(key, n as i32),
        // Sticky per request, moving on each round, like the Java client's sticky partitioner.
        None => parts.get(round % n).map_or(0, |p| p.partition),
    }
}

async fn send(
    client: &mut Client,
    args: &ProduceArgs,
    parts: &[PartitionInfo],
    by_partition: BTreeMap<i32, Vec<Outgoing>>,
    summary: &mut Summary,
) -> Result<(), CliError> {
    let mut by_leader: BTreeMap<i32, Vec<(i32, Bytes, u64)>> = BTreeMap::new();
    for (partition, records) in by_partition {
        let leader = parts
            .iter()
            .find(|p| p.partition == partition)
            .map_or(-1, |p| p.leader);
        let batch = encode_batch(&records, args.compression.into())?;
        by_leader
            .entry(leader)
            .or_default()
            .push((partition, batch, records.len() as u64));
    }
    for (leader, batches) in by_leader {
        let counts: BTreeMap<i32, u64> = batches.iter().map(|(p, _, n)| (*p, *n)).collect();
        let build = |_| {
            ProduceRequest::default()
                .with_acks(args.acks)
                .with_timeout_ms(30_000)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(topic_name(&args.topic))
                    .with_partition_data(
                        batches
                            .iter()
                            .map(|(p, batch, _)| {
                                PartitionProduceData::default()
                                    .with_index(*p)
                                    .with_records(Some(batch.clone()))
                            })
                            .collect(),
                    )])
        };
        if args.acks == 0 {
            client.node(leader).await?.send_no_response(build).await?;
            summary.records += counts.values().sum::<u64>();
            continue;
        }
        let response = client.call_node(leader, build).await?;
        for topic in response.responses {
            for p in topic.partition_responses {
                check_msg(p.error_code, p.error_message.as_ref(), || {
                    format!("cannot produce to {}-{}", args.topic, p.index)
                })?;
                let n = counts.get(&p.index).copied().unwrap_or(0);
                summary.records += n;
                let last = p.base_offset + n as i64 - 1;
                summary
                    .partitions
                    .entry(p.index)
                    .and_modify(|s| {
                        s.records += n;
                        s.last_offset = last;
                    })
                    .or_insert(PartitionSummary {
                        records: n,
                        first_offset: p.base_offset,
                        last_offset: last,
                    });
            }
        }
    }
    Ok(())
}
