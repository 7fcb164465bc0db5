//! `weir group seek`: kafka-consumer-groups --reset-offsets. Shows the plan; `--execute`
//! commits it. Like Kafka's tool it refuses to move the offsets of a group with live members.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use clap::ArgGroup;
use serde::Serialize;

use super::error::CliError;
use super::group::{bounds, describe_one};
use super::offsets::{self, Tp};
use super::output::{print, print_json, table};
use super::Connect;

#[derive(clap::Args, Debug)]
#[command(group(
    ArgGroup::new("target")
        .required(true)
        .args(["to_earliest", "to_latest", "to_offset", "to_datetime", "shift_by"])
))]
pub struct SeekArgs {
    /// The consumer group.
    group: String,
    /// A topic to move, or TOPIC:P1,P2 for some partitions (repeatable).
    #[arg(short, long = "topic", required_unless_present = "all_topics")]
    topics: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long, conflicts_with = "topics")]
    all_topics: bool,
    /// To the oldest offset still in the log.
    #[arg(long)]
    to_earliest: bool,
    /// To the end of the log (skip everything not yet read).
    #[arg(long)]
    to_latest: bool,
    /// To this offset (kept within the log's range).
    #[arg(long, value_name = "OFFSET")]
    to_offset: Option<i64>,
    /// To the first record at or after this time: 2024-05-01T12:00:00Z, 2024-05-01T12:00:00
    /// (local time), with an offset like +02:00, or milliseconds since the epoch.
    #[arg(long, value_name = "DATETIME")]
    to_datetime: Option<String>,
    /// Move by N (negative: back), from the committed offset.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    shift_by: Option<i64>,
    /// Commit the new offsets (without it, only show them).
    #[arg(long)]
    execute: bool,
}

#[derive(Serialize)]
struct Plan {
    group: String,
    executed: bool,
    offsets: Vec<Move>,
}

#[derive(Serialize)]
struct Move {
    topic: String,
    partition: i32,
    current_offset: Option<i64>,
    new_offset: i64,
}

pub async fn run(connect: &Connect, args: SeekArgs) -> Result<(), CliError> {
    let datetime = args
        .to_datetime
        .as_deref()
        .map(parse_datetime)
        .transpose()?;
    let mut client = connect.client().await?;
    let coordinator = client.coordinator(&args.group).await?;
    let described = describe_one(&mut client, coordinator, &args.group).await?;
    if args.execute && !matches!(described.state.as_str(), "Empty" | "Dead") {
        return Err(CliError::Usage(format!(
            "group {:?} is {} with {} member(s): stop its consumers before moving its offsets",
            args.group,
            described.state,
            described.members.len()
        )));
    }
    let committed = offsets::committed(&mut client, coordinator, &args.group).await?;
    let targets = targets(&mut client, &args, &committed).await?;
    let (low, high) = bounds(&mut client, &targets).await?;
    let at_time = match datetime {
        Some(ms) => offsets::list_offsets(&mut client, &targets, ms).await?,
        None => BTreeMap::new(),
    };
    let mut plan = Plan {
        group: args.group.clone(),
        executed: false,
        offsets: Vec::new(),
    };
    let mut new_offsets = BTreeMap::new();
    for tp in targets.keys() {
        let lo = low.get(tp).copied().unwrap_or(0);
        let hi = high.get(tp).copied().unwrap_or(0).max(lo);
        let current = committed.get(tp).copied();
        let new = if args.to_earliest {
            lo
        } else if args.to_latest {
            hi
        } else if let Some(offset) = args.to_offset {
            offset.clamp(lo, hi)
        } else if let Some(shift) = args.shift_by {
            current.unwrap_or(lo).saturating_add(shift).clamp(lo, hi)
        } else {
            // --to-datetime: no record that recent means the end of the log.
            at_time.get(tp).copied().filter(|o| *o >= 0).unwrap_or(hi)
        };
        new_offsets.insert(tp.clone(), new);
        plan.offsets.push(Move {
            topic: tp.0.clone(),
            partition: tp.1,
            current_offset: current,
            new_offset: new,
        });
    }
    if args.execute && !new_offsets.is_empty() {
        offsets::commit(&mut client, coordinator, &args.group, &new_offsets).await?;
        plan.executed = true;
    }
    if connect.json() {
        return print_json(&plan);
    }
    let rows: Vec<Vec<String>> = plan
        .offsets
        .iter()
        .map(|m| {
            vec![
                plan.group.clone(),
                m.topic.clone(),
                m.partition.to_string(),
                m.current_offset.map_or("-".into(), |c| c.to_string()),
                m.new_offset.to_string(),
            ]
        })
        .collect();
    print(&table(
        &[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "NEW-OFFSET",
        ],
        &rows,
    ))?;
    if plan.executed {
        eprintln!("Committed the new offsets of group {}.", plan.group);
    } else {
        eprintln!("Dry run: nothing changed. Add --execute to commit these offsets.");
    }
    Ok(())
}

/// The partitions to move and their leaders.
async fn targets(
    client: &mut crate::client::Client,
    args: &SeekArgs,
    committed: &BTreeMap<Tp, i64>,
) -> Result<BTreeMap<Tp, i32>, CliError> {
    let mut wanted: BTreeMap<String, Option<Vec<i32>>> = BTreeMap::new();
    if args.all_topics {
        for (topic, p) in committed.keys() {
            wanted
                .entry(topic.clone())
                .or_insert_with(|| Some(Vec::new()))
                .get_or_insert_with(Vec::new)
                .push(*p);
        }
    }
    for spec in &args.topics {
        match spec.split_once(':') {
            None => {
                wanted.insert(spec.clone(), None);
            }
            Some((topic, parts)) => {
                let parts = parts
                    .split(',')
                    .map(|p| p.trim().parse::<i32>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        CliError::Usage(format!("--topic {spec:?}: expected TOPIC:P1,P2"))
                    })?;
                wanted.insert(topic.to_string(), Some(parts));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let topics: Vec<String> = wanted.keys().cloned().collect();
    let leaders = offsets::leaders(&offsets::partitions(client, &topics).await?);
    let mut out = BTreeMap::new();
    for (topic, parts) in wanted {
        for ((t, p), leader) in leaders.range((topic.clone(), i32::MIN)..=(topic.clone(), i32::MAX))
        {
            if parts.as_ref().is_none_or(|ps| ps.contains(p)) {
                out.insert((t.clone(), *p), *leader);
            }
        }
        if let Some(parts) = parts {
            if let Some(missing) = parts
                .iter()
                .find(|p| !leaders.contains_key(&(topic.clone(), **p)))
            {
                return Err(CliError::Usage(format!(
                    "topic {topic:?} has no partition {missing}"
                )));
            }
        }
    }
    Ok(out)
}

/// Milliseconds since the epoch from an RFC 3339 time, a local time without offset, or a number.
fn parse_datetime(text: &str) -> Result<i64, CliError> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Ok(t.timestamp_millis());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            if let Some(t) = Local.from_local_datetime(&naive).earliest() {
                return Ok(t.timestamp_millis());
            }
        }
    }
    Err(CliError::Usage(format!(
        "--to-datetime {text:?}: expected e.g. 2024-05-01T12:00:00Z, 2024-05-01T12:00:00 or epoch milliseconds"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse() {
        assert_eq!(
            parse_datetime("1700000000000").ok(),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_datetime("2023-11-14T22:13:20Z").ok(),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_datetime("2023-11-14T23:13:20.000+01:00").ok(),
            Some(1_700_000_000_000)
        );
        assert!(parse_datetime("2023-11-14T22:13:20").is_ok());
        assert!(parse_datetime("yesterday").is_err());
    }
}
