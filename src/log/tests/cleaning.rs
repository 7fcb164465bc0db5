//! Compaction through the log's API: what a pass keeps, multi-pass cleaning in a small key
//! map, codecs, producer state, tombstone timing, and crashes at every file operation of a
//! pass (the disk frozen there, then the folder reopened).

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KafkaTimestampType,
};

use super::super::cleaner::{OffsetMap, Throttle};
use super::super::faults::{self, Point, Rule};
use super::super::{LogConfig, PartitionLog};
use super::open;

pub(super) fn compact_config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 128,
        compact: true,
        delete: false,
        min_cleanable_dirty_ratio: 0.0,
        delete_retention_ms: 1_000,
        ..LogConfig::default()
    }
}

/// One batch of (key, value) records; `None` values are tombstones.
fn keyed(records: &[(&str, Option<&str>)], compression: Compression, pid: (i64, i32)) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid.0,
            producer_epoch: if pid.0 >= 0 { 0 } else { -1 },
            timestamp_type: KafkaTimestampType::Creation,
            offset: i as i64,
            sequence: pid.1.wrapping_add(i as i32),
            timestamp: 1_000 + i as i64,
            key: Some(Bytes::from(k.to_string())),
            value: v.map(|v| Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

/// Every record of the log: (offset, key, value), CRC-checked by the decoder.
pub(super) fn contents(log: &PartitionLog) -> Vec<(i64, String, Option<String>)> {
    let mut bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    let mut out = Vec::new();
    for set in RecordBatchDecoder::decode_all(&mut bytes).unwrap() {
        for r in set.records {
            let s = |b: Option<Bytes>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
            out.push((r.offset, s(r.key).unwrap(), s(r.value)));
        }
    }
    out
}

/// Runs passes until the log has nothing cleanable (each forced).
pub(super) fn clean_all(log: &mut PartitionLog, map: &mut OffsetMap, now: i64) -> usize {
    let throttle = Throttle::new(f64::MAX);
    let mut passes = 0;
    loop {
        let last_stable = log.log_end_offset();
        let Some(plan) = log.plan_cleaning(now, last_stable, true).unwrap() else {
            return passes;
        };
        let prepared = plan.prepare(map, &throttle).unwrap();
        let report = log.commit_cleaning(prepared, now).unwrap();
        assert!(!report.aborted);
        passes += 1;
        assert!(passes < 100, "cleaning does not converge");
    }
}

/// Appends 30 rounds of updates to keys k0..k9 (tombstones for k0 and k1 in the last round),
/// in batches of 5, then rolls so everything is cleanable. Returns the latest value per key.
fn fill(log: &mut PartitionLog, compression: Compression) -> BTreeMap<String, Option<String>> {
    let mut latest = BTreeMap::new();
    for round in 0..30 {
        for half in 0..2 {
            let recs: Vec<(String, Option<String>)> = (0..5)
                .map(|i| {
                    let k = format!("k{}", half * 5 + i);
                    let dead = round == 29 && (k == "k0" || k == "k1");
                    (k, (!dead).then(|| format!("v{round}")))
                })
                .collect();
            for (k, v) in &recs {
                latest.insert(k.clone(), v.clone());
            }
            let refs: Vec<(&str, Option<&str>)> = recs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            log.append(keyed(&refs, compression, (-1, -1)), 1_000)
                .unwrap();
        }
    }
    log.roll().unwrap();
    latest
}

fn latest_of(records: &[(i64, String, Option<String>)]) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for (_, k, v) in records {
        out.insert(k.clone(), v.clone());
    }
    out
}

#[test]
fn a_pass_keeps_the_latest_record_of_each_key_with_its_offset() {
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), compact_config());
        let latest = fill(&mut log, compression);
        let before = contents(&log);
        let segments_before = log.segment_count();
        let mut map = OffsetMap::new(1 << 20, 0.9);
        assert_eq!(clean_all(&mut log, &mut map, 2_000), 1, "{compression:?}");
        let after = contents(&log);
        assert_eq!(
            after.len(),
            10,
            "{compression:?}: one record per key: {after:?}"
        );
        assert_eq!(latest_of(&after), latest, "{compression:?}");
        // Offsets are the original ones, and only grow.
        for (offset, k, v) in &after {
            assert!(before.contains(&(*offset, k.clone(), v.clone())));
        }
        assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(log.segment_count() <= segments_before);
        assert_eq!(log.log_end_offset(), 300);
        // The log opens as it was left, and reads the same.
        drop(log);
        let log = open(dir.path(), compact_config());
        assert_eq!(contents(&log), after, "{compression:?}");
        // Tombstones go once they have been clean for delete.retention.ms.
        let mut log = log;
        clean_all(&mut log, &mut map, 2_500);
        assert_eq!(contents(&log).len(), 10, "too early for the tombstones");

        log.append(keyed(&[("k5", Some("w"))], compression, (-1, -1)), 3_000)
            .unwrap();
        log.roll().unwrap();
        clean_all(&mut log, &mut map, 3_100);
        let left = contents(&log);
        assert_eq!(left.len(), 8, "{compression:?}: {left:?}");
        assert_eq!(
            log.segment_count(),
            2,
            "the small cleaned segments are merged into one"
        );
        assert!(left.iter().all(|(_, k, _)| k != "k0" && k != "k1"));
        assert_eq!(latest_of(&left).get("k5"), Some(&Some("w".to_string())));
    }
}

#[test]
fn a_small_key_map_cleans_in_several_passes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    let latest = fill(&mut log, Compression::None);
    // Room for 4 keys per pass: the 10 keys take several passes.
    let mut map = OffsetMap::new(24 * 6, 0.9);
    let passes = clean_all(&mut log, &mut map, 2_000);
    assert!(passes > 2, "{passes} passes");
    let after = contents(&log);
    assert_eq!(latest_of(&after), latest);
    assert_eq!(after.len(), 10, "{after:?}");
}

#[test]
fn the_last_batch_of_a_producer_stays_so_its_sequence_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    log.append(
        keyed(
            &[("a", Some("1")), ("b", Some("1"))],
            Compression::None,
            (7, 0),
        ),
        1_000,
    )
    .unwrap();
    log.append(
        keyed(
            &[("a", Some("2")), ("b", Some("2"))],
            Compression::None,
            (7, 2),
        ),
        1_000,
    )
    .unwrap();
    // Another producer supersedes both keys.
    log.append(
        keyed(
            &[("a", Some("3")), ("b", Some("3"))],
            Compression::None,
            (-1, -1),
        ),
        1_000,
    )
    .unwrap();
    log.roll().unwrap();
    let mut map = OffsetMap::new(1 << 20, 0.9);
    clean_all(&mut log, &mut map, 2_000);
    let after = contents(&log);
    assert_eq!(after.len(), 2, "{after:?}");
    drop(log);
    let mut log = open(dir.path(), compact_config());
    // Producer 7's next batch (sequence 4) is accepted after the restart: its last batch
    // (now empty) still says where its sequence stands.
    log.append(keyed(&[("c", Some("1"))], Compression::None, (7, 4)), 1_000)
        .unwrap();
    let gap = log.append(keyed(&[("c", Some("2"))], Compression::None, (7, 9)), 1_000);
    assert!(gap.is_err(), "a sequence gap is still refused");
}

#[test]
fn keyless_records_are_refused_on_a_compacted_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path().join("t-0").as_path(), compact_config());
    let mut batch = BytesMut::new();
    let record = Record {
        key: None,
        ..kafka_protocol::records::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: KafkaTimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 5,
            key: None,
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        }
    };
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::Gzip,
    };
    RecordBatchEncoder::encode(&mut batch, [&record], &options).unwrap();
    let err = log.append(batch.clone().freeze(), 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid record at index 0 of the batch: Compacted topic cannot accept message without key in topic partition t-0."
    );
    log.set_config(LogConfig::default());
    log.append(batch.freeze(), 1).unwrap();
}

/// Every file operation a cleaning pass makes.
pub(super) const PASS_POINTS: [Point; 7] = [
    Point::SegmentCreate,
    Point::IndexCreate,
    Point::Write,
    Point::Fsync,
    Point::Rename,
    Point::Remove,
    Point::DirSync,
];

/// One pass over `log` (in `dir`) up to `upto`, during which the disk stops at the `skip`-th
/// operation of kind `point`: it and everything after it fail (the other kinds are counted).
pub(super) fn pass_crashing_at(
    log: &mut PartitionLog,
    dir: &std::path::Path,
    point: Point,
    skip: u64,
    upto: i64,
) -> Result<super::super::cleaner::PassReport, super::super::LogError> {
    let throttle = Throttle::new(f64::MAX);
    let mut map = OffsetMap::new(1 << 20, 0.9);
    let plan = log.plan_cleaning(2_000, upto, true).unwrap().unwrap();
    let _crash = faults::arm(Rule::always(point, dir).skip(skip));
    let _rest: Vec<_> = PASS_POINTS
        .iter()
        .filter(|p| **p != point)
        .map(|p| faults::arm(Rule::count(*p, dir)))
        .collect();
    plan.prepare(&mut map, &throttle)
        .and_then(|prepared| log.commit_cleaning(prepared, 2_000))
}

#[test]
fn a_crash_at_any_file_operation_of_a_pass_leaves_old_or_new_segments_never_a_mix() {
    for point in PASS_POINTS {
        for skip in 0..6 {
            let dir = tempfile::tempdir().unwrap();
            let mut log = open(dir.path(), compact_config());
            let latest = fill(&mut log, Compression::Lz4);
            let before = contents(&log);
            let end = log.log_end_offset();
            let outcome = pass_crashing_at(&mut log, dir.path(), point, skip, end);
            drop(log);
            let log = open(dir.path(), compact_config());
            let now = contents(&log);
            assert_eq!(latest_of(&now), latest, "{point:?}/{skip}: latest values");
            let old_or_new = now == before || now.len() == 10;
            assert!(
                old_or_new,
                "{point:?}/{skip}: {outcome:?} left {} records",
                now.len()
            );
            assert!(now.windows(2).all(|w| w[0].0 < w[1].0));
            let names = super::files(dir.path());
            assert!(
                names
                    .iter()
                    .all(|n| !n.ends_with(".cleaned") && !n.starts_with("cleaner-swap")),
                "{point:?}/{skip}: {names:?}"
            );
        }
    }
}
