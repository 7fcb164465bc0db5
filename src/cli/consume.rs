//! `weir consume TOPIC`: print records, like kafka-console-consumer (and kcat's `-f` format).
//!
//! With `--group` it starts from the group's committed offsets and commits its progress, as a
//! standalone consumer: it does not join the group, so partitions are not shared with others.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::FetchRequest;
use kafka_protocol::records::Record;

use super::error::{check, CliError};
use super::offsets::{self, Tp, EARLIEST, LATEST};
use super::output::{print, progress};
use super::records::decode;
use super::Connect;
use crate::client::{topic_name, Client};

const MAX_WAIT_MS: i32 = 500;
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;
const COMMIT_EVERY: Duration = Duration::from_secs(5);

#[derive(clap::Args, Debug)]
pub struct ConsumeArgs {
    /// The topic to read.
    topic: String,
    #[command(flatten)]
    connect: Connect,
    /// Read only these partitions (repeatable) [default: all].
    #[arg(short, long = "partition")]
    partitions: Vec<i32>,
    /// Start at the oldest record still in the log (with --group: where nothing is committed).
    #[arg(long)]
    from_beginning: bool,
    /// Start at `earliest`, `latest`, an offset N, or -N (N records before the end).
    #[arg(long, value_parser = parse_start, allow_hyphen_values = true, conflicts_with = "from_beginning")]
    offset: Option<Start>,
    /// Start from GROUP's committed offsets and commit progress (without joining the group).
    #[arg(short, long)]
    group: Option<String>,
    /// Exit after N records.
    #[arg(short = 'n', long)]
    count: Option<u64>,
    /// Exit once every partition is read to its end.
    #[arg(short, long)]
    exit_at_end: bool,
    /// Template per record: %t topic, %p partition, %o offset, %k key, %v value, %T timestamp
    /// (ms), %h headers, %% a percent sign; \n and \t escapes. A newline ends each record.
    /// [default: %v]
    #[arg(short, long)]
    format: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum Start {
    Earliest,
    Latest,
    Offset(i64),
    FromEnd(i64),
}

fn parse_start(text: &str) -> Result<Start, String> {
    match text {
        "earliest" | "beginning" => Ok(Start::Earliest),
        "latest" | "end" => Ok(Start::Latest),
        _ => match text.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Start::Offset(n)),
            Ok(n) => Ok(Start::FromEnd(-n)),
            Err(_) => Err(format!("{text:?}: expected earliest, latest, N or -N")),
        },
    }
}

pub async fn run(args: ConsumeArgs) -> Result<(), CliError> {
    let mut client = args.connect.client().await?;
    let topics = offsets::partitions(&mut client, std::slice::from_ref(&args.topic)).await?;
    let mut leaders = offsets::leaders(&topics);
    if !args.partitions.is_empty() {
        for p in &args.partitions {
            if !leaders.contains_key(&(args.topic.clone(), *p)) {
                return Err(CliError::Usage(format!(
                    "topic {:?} has no partition {p}",
                    args.topic
                )));
            }
        }
        leaders.retain(|(_, p), _| args.partitions.contains(p));
    }
    let coordinator = match &args.group {
        Some(group) => Some(client.coordinator(group).await?),
        None => None,
    };
    let mut positions = start_positions(&mut client, &args, &leaders, coordinator).await?;
    let mut session = Session {
        args: &args,
        done: BTreeSet::new(),
        seen: 0,
        template: args.format.clone().unwrap_or_else(|| "%v".to_string()),
    };
    if args.exit_at_end {
        let ends = offsets::list_offsets(&mut client, &leaders, LATEST).await?;
        for (tp, end) in ends {
            if positions.get(&tp).is_some_and(|pos| *pos >= end) {
                session.done.insert(tp);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    let bar = progress(args.count, "records", !std::io::stdout().is_terminal());
    let mut committed = positions.clone();
    let mut last_commit = Instant::now();
    while !stop.load(Ordering::Relaxed) && !session.finished(leaders.len()) {
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for (tp, leader) in &leaders {
            if !session.done.contains(tp) {
                by_leader.entry(*leader).or_default().push(tp.1);
            }
        }
        for (leader, partitions) in by_leader {
            let text = session
                .fetch(&mut client, leader, &partitions, &mut positions)
                .await?;
            print(&text)?;
            bar.set_position(session.seen);
            if session.finished(leaders.len()) {
                break;
            }
        }
        if let (Some(group), Some(node)) = (&args.group, coordinator) {
            if last_commit.elapsed() >= COMMIT_EVERY && positions != committed {
                offsets::commit(&mut client, node, group, &positions).await?;
                committed = positions.clone();
                last_commit = Instant::now();
            }
        }
    }
    bar.finish_and_clear();
    if let (Some(group), Some(node)) = (&args.group, coordinator) {
        if positions != committed {
            offsets::commit(&mut client, node, group, &positions).await?;
        }
    }
    Ok(())
}

/// Where each partition starts: --offset, else the group's committed offset, else
/// --from-beginning (earliest) or the end.
async fn start_positions(
    client: &mut Client,
    args: &ConsumeArgs,
    leaders: &BTreeMap<Tp, i32>,
    coordinator: Option<i32>,
) -> Result<BTreeMap<Tp, i64>, CliError> {
    let earliest = offsets::list_offsets(client, leaders, EARLIEST).await?;
    let latest = offsets::list_offsets(client, leaders, LATEST).await?;
    let committed = match (&args.group, coordinator) {
        (Some(group), Some(node)) if args.offset.is_none() => {
            offsets::committed(client, node, group).await?
        }
        _ => BTreeMap::new(),
    };
    let fallback = match args.offset {
        Some(start) => start,
        None if args.from_beginning => Start::Earliest,
        None => Start::Latest,
    };
    let mut positions = BTreeMap::new();
    for tp in leaders.keys() {
        let low = earliest.get(tp).copied().unwrap_or(0);
        let high = latest.get(tp).copied().unwrap_or(0);
        let position = match committed.get(tp) {
            Some(offset) => *offset,
            None => match fallback {
                Start::Earliest => low,
                Start::Latest => high,
                Start::Offset(n) => n.clamp(low, high.max(low)),
                Start::FromEnd(n) => (high - n).max(low),
            },
        };
        positions.insert(tp.clone(), position);
    }
    Ok(positions)
}

struct Session<'a> {
    args: &'a ConsumeArgs,
    /// Partitions read to their end (with --exit-at-end).
    done: BTreeSet<Tp>,
    seen: u64,
    template: String,
}

impl Session<'_> {
    fn finished(&self, partitions: usize) -> bool {
        self.args.count.is_some_and(|n| self.seen >= n)
            || (self.args.exit_at_end && self.done.len() >= partitions)
    }

    /// One fetch from `leader`; returns the printed text of the records it brought.
    async fn fetch(
        &mut self,
        client: &mut Client,
        leader: i32,
        partitions: &[i32],
        positions: &mut BTreeMap<Tp, i64>,
    ) -> Result<String, CliError> {
        let topic = &self.args.topic;
        let response = client
            .call_node(leader, |_| {
                FetchRequest::default()
                    .with_replica_id((-1).into())
                    .with_max_wait_ms(MAX_WAIT_MS)
                    .with_min_bytes(1)
                    .with_max_bytes(50 * 1024 * 1024)
                    .with_session_epoch(-1)
                    .with_topics(vec![FetchTopic::default()
                        .with_topic(topic_name(topic))
                        .with_partitions(
                            partitions
                                .iter()
                                .map(|p| {
                                    FetchPartition::default()
                                        .with_partition(*p)
                                        .with_current_leader_epoch(-1)
                                        .with_last_fetched_epoch(-1)
                                        .with_log_start_offset(-1)
                                        .with_fetch_offset(
                                            positions
                                                .get(&(topic.clone(), *p))
                                                .copied()
                                                .unwrap_or(0),
                                        )
                                        .with_partition_max_bytes(PARTITION_MAX_BYTES)
                                })
                                .collect(),
                        )])
            })
            .await?;
        check(response.error_code, || format!("cannot fetch from {topic}"))?;
        let mut text = String::new();
        for t in response.responses {
            for p in t.partitions {
                let tp = (topic.clone(), p.partition_index);
                let mut position = positions.get(&tp).copied().unwrap_or(0);
                if p.error_code == 1 {
                    // OFFSET_OUT_OF_RANGE: the start was deleted; go on from the log start.
                    let one = BTreeMap::from([(tp.clone(), leader)]);
                    let low = offsets::list_offsets(client, &one, EARLIEST).await?;
                    position = low.get(&tp).copied().unwrap_or(0);
                    eprintln!(
                        "{topic}-{}: offset out of range, restarting at {position}",
                        p.partition_index
                    );
                    positions.insert(tp, position);
                    continue;
                }
                check(p.error_code, || {
                    format!("cannot fetch from {topic}-{}", p.partition_index)
                })?;
                let what = format!("{topic}-{}", p.partition_index);
                let decoded = decode(p.records.unwrap_or_default(), &what)?;
                let mut cut_short = false;
                let start = position;
                for record in decoded.records.iter().filter(|r| r.offset >= start) {
                    if self.args.count.is_some_and(|n| self.seen >= n) {
                        cut_short = true;
                        break;
                    }
                    self.render(&mut text, p.partition_index, record);
                    self.seen += 1;
                    position = record.offset + 1;
                }
                if !cut_short {
                    if let Some(next) = decoded.next_offset {
                        position = position.max(next);
                    }
                }
                positions.insert(tp.clone(), position);
                if self.args.exit_at_end && position >= p.high_watermark {
                    self.done.insert(tp);
                }
            }
        }
        Ok(text)
    }

    fn render(&self, out: &mut String, partition: i32, record: &Record) {
        if self.args.connect.json() {
            out.push_str(&json_line(&self.args.topic, partition, record));
        } else {
            out.push_str(&format_record(
                &self.template,
                &self.args.topic,
                partition,
                record,
            ));
        }
        out.push('\n');
    }
}

fn text(bytes: Option<&bytes::Bytes>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn json_line(topic: &str, partition: i32, record: &Record) -> String {
    let headers: serde_json::Map<String, serde_json::Value> = record
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), text(v.as_ref()).into()))
        .collect();
    serde_json::json!({
        "topic": topic,
        "partition": partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": text(record.key.as_ref()),
        "value": text(record.value.as_ref()),
        "headers": headers,
    })
    .to_string()
}

/// Fills a `--format` template.
fn format_record(template: &str, topic: &str, partition: i32, record: &Record) -> String {
    let mut out = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => match chars.next() {
                Some('t') => out.push_str(topic),
                Some('p') => out.push_str(&partition.to_string()),
                Some('o') => out.push_str(&record.offset.to_string()),
                Some('k') => out.push_str(&text(record.key.as_ref()).unwrap_or_default()),
                Some('v') => out.push_str(&text(record.value.as_ref()).unwrap_or_default()),
                Some('T') => out.push_str(&record.timestamp.to_string()),
                Some('h') => {
                    let headers: Vec<String> = record
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            format!("{}={}", k.as_str(), text(v.as_ref()).unwrap_or_default())
                        })
                        .collect();
                    out.push_str(&headers.join(","));
                }
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            },
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::records::TimestampType;

    #[test]
    fn format_fills_the_template() {
        let record = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 7,
            sequence: -1,
            timestamp: 1000,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        };
        assert_eq!(
            format_record("%t/%p@%o %k=%v %T 100%%\\t.", "t", 2, &record),
            "t/2@7 k=v 1000 100%\t."
        );
    }
}
