//! The contract every compat client implements (see `protocol-tests/python/compat_common.py`
//! for the command line): the records a produce job writes, the lines clients print, and the
//! checks of what a consumer read against what a producer wrote.

use std::collections::{BTreeMap, BTreeSet};

/// Records per produce job.
pub const COUNT: usize = 20;
/// Where a seek to an offset goes, and how far after the seek topic's first timestamp a seek by
/// timestamp aims (records are 1000 ms apart, so it lands on offset 4).
pub const SEEK_OFFSET: i64 = 6;
pub const SEEK_TS_DELTA: i64 = 3500;
pub const SEEK_RECORDS: i64 = 10;

/// Compressible padding: librdkafka sends a batch uncompressed when compressing does not help.
pub fn pad() -> String {
    "weir".repeat(40)
}

pub fn key(i: usize) -> Option<String> {
    (i % 4 != 3).then(|| format!("k{}", i % 5))
}

pub fn value(topic: &str, i: usize) -> String {
    format!("{topic}-{i}.{}", pad())
}

/// A topic one client writes COUNT records to with one codec.
#[derive(Debug, Clone)]
pub struct Job {
    pub topic: String,
    pub codec: String,
    pub idempotent: bool,
}

impl Job {
    pub fn arg(&self) -> String {
        let mode = if self.idempotent {
            "idempotent"
        } else {
            "plain"
        };
        format!("{}:{}:{mode}", self.topic, self.codec)
    }
}

/// A record acknowledged to a producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub topic: String,
    pub index: usize,
    pub partition: i32,
    pub offset: i64,
}

/// A record a consumer read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<String>,
    pub value: String,
    pub headers: String,
}

/// What a producer can put on a record.
#[derive(Debug, Clone, Copy)]
pub struct ProducerCaps {
    /// Headers differ per record (`seq=i,client=c`); otherwise every record has `client=c`.
    pub per_record_headers: bool,
    /// The producer sets each record's timestamp.
    pub timestamps: bool,
}

pub const FULL: ProducerCaps = ProducerCaps {
    per_record_headers: true,
    timestamps: true,
};

fn num<T: std::str::FromStr>(line: &str, field: &str) -> Result<T, String> {
    field
        .parse()
        .map_err(|_| format!("bad number {field:?} in {line:?}"))
}

/// `ACK topic index partition offset` lines.
pub fn parse_acks(lines: &[String]) -> Result<Vec<Ack>, String> {
    let mut acks = Vec::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("ACK ") else {
            continue;
        };
        let f: Vec<&str> = rest.split(' ').collect();
        if f.len() != 4 {
            return Err(format!("malformed ACK line {line:?}"));
        }
        acks.push(Ack {
            topic: f[0].to_string(),
            index: num(line, f[1])?,
            partition: num(line, f[2])?,
            offset: num(line, f[3])?,
        });
    }
    Ok(acks)
}

/// One `REC topic partition offset timestamp key value headers` line (empty fields, as kcat
/// prints a null key or no headers, count as absent).
pub fn parse_rec(line: &str) -> Result<Option<Rec>, String> {
    let Some(rest) = line.strip_prefix("REC ") else {
        return Ok(None);
    };
    let f: Vec<&str> = rest.split(' ').collect();
    if f.len() != 7 {
        return Err(format!("malformed REC line {line:?}"));
    }
    let absent = |s: &str| s.is_empty() || s == "-";
    Ok(Some(Rec {
        topic: f[0].to_string(),
        partition: num(line, f[1])?,
        offset: num(line, f[2])?,
        timestamp: num(line, f[3])?,
        key: (!absent(f[4])).then(|| f[4].to_string()),
        value: f[5].to_string(),
        headers: if absent(f[6]) {
            "-".to_string()
        } else {
            f[6].to_string()
        },
    }))
}

pub fn parse_recs(lines: &[String]) -> Result<Vec<Rec>, String> {
    let mut recs = Vec::new();
    for line in lines {
        if let Some(rec) = parse_rec(line)? {
            recs.push(rec);
        }
    }
    Ok(recs)
}

/// The value of the first `TAG value` line.
pub fn tagged<'a>(lines: &'a [String], tag: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        l.strip_prefix(tag)
            .and_then(|rest| rest.strip_prefix(' ').or((rest.is_empty()).then_some("")))
    })
}

/// Checks what a consumer read of `topic` against what `producer` wrote there: every record
/// once, with its key, value, headers and timestamp; each key on one partition; each partition
/// in send order; and, where the producer reported them, at the acknowledged positions.
pub fn verify(
    topic: &str,
    producer: &str,
    caps: ProducerCaps,
    ts_base: i64,
    acks: Option<&[Ack]>,
    recs: &[Rec],
) -> Result<(), String> {
    let recs: Vec<&Rec> = recs.iter().filter(|r| r.topic == topic).collect();
    let prefix = format!("{topic}-");
    let mut by_index: BTreeMap<usize, &Rec> = BTreeMap::new();
    for r in &recs {
        let index: usize = r
            .value
            .strip_prefix(&prefix)
            .and_then(|v| v.split('.').next())
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| format!("{topic}: unexpected value {:?}", r.value))?;
        if by_index.insert(index, r).is_some() {
            return Err(format!("{topic}: record #{index} read twice"));
        }
        if r.value != value(topic, index) {
            return Err(format!(
                "{topic}: record #{index} value differs: {:?}",
                r.value
            ));
        }
        if r.key != key(index) {
            return Err(format!(
                "{topic}: record #{index} key {:?}, expected {:?}",
                r.key,
                key(index)
            ));
        }
        let headers = if caps.per_record_headers {
            format!("seq={index},client={producer}")
        } else {
            format!("client={producer}")
        };
        if r.headers != headers {
            return Err(format!(
                "{topic}: record #{index} headers {:?}, expected {headers:?}",
                r.headers
            ));
        }
        if caps.timestamps && r.timestamp != ts_base + index as i64 {
            return Err(format!(
                "{topic}: record #{index} timestamp {}, expected {}",
                r.timestamp,
                ts_base + index as i64
            ));
        }
    }
    let missing: Vec<usize> = (0..COUNT).filter(|i| !by_index.contains_key(i)).collect();
    if !missing.is_empty() || recs.len() != COUNT {
        return Err(format!(
            "{topic}: read {} records, expected {COUNT}; missing #{missing:?}",
            recs.len()
        ));
    }
    let mut key_partition: BTreeMap<&str, i32> = BTreeMap::new();
    let mut last: BTreeMap<i32, (i64, usize)> = BTreeMap::new();
    for (index, r) in &by_index {
        if let Some(k) = &r.key {
            let p = *key_partition.entry(k).or_insert(r.partition);
            if p != r.partition {
                return Err(format!(
                    "{topic}: key {k} on partitions {p} and {}",
                    r.partition
                ));
            }
        }
        if let Some((offset, before)) = last.insert(r.partition, (r.offset, *index)) {
            if offset >= r.offset {
                return Err(format!(
                    "{topic}: partition {} holds #{index} at {} before #{before} at {offset}",
                    r.partition, r.offset
                ));
            }
        }
    }
    if let Some(acks) = acks {
        let acks: Vec<&Ack> = acks.iter().filter(|a| a.topic == topic).collect();
        if acks.len() != COUNT {
            return Err(format!("{topic}: {} acks for {COUNT} records", acks.len()));
        }
        for a in acks {
            let r = by_index[&a.index];
            if (r.partition, r.offset) != (a.partition, a.offset) {
                return Err(format!(
                    "{topic}: record #{} acked at {}/{} but read at {}/{}",
                    a.index, a.partition, a.offset, r.partition, r.offset
                ));
            }
        }
    }
    let partitions: BTreeSet<i32> = by_index.values().map(|r| r.partition).collect();
    if key_partition.len() > 1 && partitions.len() < 2 {
        return Err(format!(
            "{topic}: {} keys all on partition {partitions:?}: the partitioner did not spread them",
            key_partition.len()
        ));
    }
    Ok(())
}
