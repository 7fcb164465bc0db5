//! Compaction of a log holding transactions: never past an open transaction, aborted data
//! removed, committed data deduplicated with its producer fields, markers kept while their
//! transaction has data and removed after `delete.retention.ms`, the `.txnindex` and the
//! state a reopen rebuilds unchanged, and crashes at every file operation of such a pass.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KafkaTimestampType,
};

use super::super::cleaner::OffsetMap;
use super::super::{AbortedTxn, Marker, Outcome, PartitionLog};
use super::cleaning::{clean_all, compact_config, pass_crashing_at, PASS_POINTS};
use super::open;

/// One batch of keyed records from producer `pid` (transactional when `epoch` is set).
fn batch(pid: i64, txn: bool, seq: i32, records: &[(String, String)]) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: txn,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: if pid >= 0 { 0 } else { -1 },
            timestamp_type: KafkaTimestampType::Creation,
            offset: i as i64,
            sequence: if pid >= 0 { seq + i as i32 } else { -1 },
            timestamp: 1_000,
            key: Some(Bytes::from(k.clone())),
            value: Some(Bytes::from(v.clone())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::Lz4,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

fn marker(pid: i64, outcome: Outcome) -> Marker {
    Marker {
        producer_id: pid,
        producer_epoch: 0,
        outcome,
        coordinator_epoch: 0,
    }
}

/// A record as a consumer decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    offset: i64,
    pid: i64,
    transactional: bool,
    control: bool,
    /// The control type for a marker (0 abort, 1 commit).
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

/// Every record of the log, CRC-checked by the decoder.
fn records(log: &PartitionLog) -> Vec<Rec> {
    let mut bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    RecordBatchDecoder::decode_all(&mut bytes)
        .unwrap()
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| Rec {
            offset: r.offset,
            pid: r.producer_id,
            transactional: r.transactional,
            control: r.control,
            key: r.key.map(|k| k.to_vec()).unwrap_or_default(),
            value: r.value.map(|v| v.to_vec()),
        })
        .collect()
}

fn is_abort_marker(r: &Rec) -> bool {
    r.control && r.key.get(2..4) == Some(&[0, 0])
}

/// What a read_committed consumer delivers (key, value, offset), as the Java client and
/// librdkafka filter: records below the last stable offset, skipping a producer's
/// transactional records from the first offset of an aborted transaction listed by the log to
/// its abort marker.
fn read_committed(log: &PartitionLog) -> Vec<(String, String, i64)> {
    let lso = log.last_stable_offset();
    let mut aborted: VecDeque<AbortedTxn> = log
        .aborted_transactions(log.log_start_offset(), lso)
        .into_iter()
        .collect();
    aborted.make_contiguous().sort_by_key(|a| a.first_offset);
    let mut skipping = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in records(log).into_iter().filter(|r| r.offset < lso) {
        while aborted.front().is_some_and(|a| a.first_offset <= r.offset) {
            skipping.insert(aborted.pop_front().unwrap().producer_id);
        }
        if r.control {
            if is_abort_marker(&r) {
                skipping.remove(&r.pid);
            }
            continue;
        }
        if r.transactional && skipping.contains(&r.pid) {
            continue;
        }
        let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        out.push((s(&r.key), s(r.value.as_deref().unwrap()), r.offset));
    }
    out
}

fn latest(view: &[(String, String, i64)]) -> BTreeMap<String, String> {
    view.iter()
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect()
}

fn kv(k: usize, v: String) -> (String, String) {
    (format!("k{k}"), v)
}

/// Producer 1 commits, producer 2 aborts (their transactions overlapping), plain records in
/// between, over keys k0..k4 and many small segments; then producer 3 opens a transaction that
/// stays open, followed by more plain records; then a roll, so the open transaction starts
/// inside a sealed segment. Aborted values start with `a`, committed ones with `c`.
fn fill(log: &mut PartitionLog) {
    let (mut s1, mut s2) = (0, 0);
    for r in 0..24 {
        log.verify_transaction(1, 0);
        log.verify_transaction(2, 0);
        log.append(batch(1, true, s1, &[kv(r % 5, format!("c{r}"))]), 1_000)
            .unwrap();
        log.append(
            batch(2, true, s2, &[kv((r + 1) % 5, format!("a{r}"))]),
            1_000,
        )
        .unwrap();
        log.append(
            batch(-1, false, -1, &[kv((r + 2) % 5, format!("p{r}"))]),
            1_000,
        )
        .unwrap();
        log.append(
            batch(1, true, s1 + 1, &[kv((r + 3) % 5, format!("c{r}"))]),
            1_000,
        )
        .unwrap();
        s1 += 2;
        s2 += 1;
        log.append_marker(&marker(2, Outcome::Abort), 1_000)
            .unwrap();
        log.append_marker(&marker(1, Outcome::Commit), 1_000)
            .unwrap();
    }
    log.verify_transaction(3, 0);
    log.append(batch(3, true, 0, &[kv(0, "open".into())]), 1_000)
        .unwrap();
    for r in 0..5 {
        log.append(batch(-1, false, -1, &[kv(r, format!("later{r}"))]), 1_000)
            .unwrap();
    }
    log.roll().unwrap();
}

/// Every marker left in `recs` either follows data of its transaction (records of its
/// producer since that producer's previous marker) or is its producer's last marker.
fn markers_are_needed(recs: &[Rec]) -> bool {
    let mut data_since_marker = std::collections::HashSet::new();
    let last_marker: BTreeMap<i64, i64> = recs
        .iter()
        .filter(|r| r.control)
        .map(|r| (r.pid, r.offset))
        .collect();
    for r in recs {
        if r.control {
            let had = data_since_marker.remove(&r.pid);
            if !had && last_marker.get(&r.pid) != Some(&r.offset) {
                return false;
            }
        } else if r.transactional {
            data_since_marker.insert(r.pid);
        }
    }
    true
}

#[test]
fn cleaning_removes_aborted_data_keeps_committed_data_and_stops_at_the_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    fill(&mut log);
    assert!(log.segment_count() > 5, "{}", log.segment_count());
    let lso = log.last_stable_offset();
    assert!(lso < log.log_end_offset(), "producer 3 is open");
    let before = records(&log);
    let committed_before = read_committed(&log);
    assert!(before
        .iter()
        .any(|r| r.value.as_deref().is_some_and(|v| v.starts_with(b"a"))));
    let markers_before = before.iter().filter(|r| r.control).count();

    let mut map = OffsetMap::new(1 << 20, 0.9);
    assert!(clean_all(&mut log, &mut map, 2_000) >= 1);
    let after = records(&log);

    // Nothing at or past the open transaction moved.
    let tail =
        |recs: &[Rec]| -> Vec<Rec> { recs.iter().filter(|r| r.offset >= lso).cloned().collect() };
    assert_eq!(tail(&after), tail(&before));
    assert_eq!(log.last_stable_offset(), lso);
    // Aborted data is gone even for read_uncommitted readers.
    assert!(!after
        .iter()
        .any(|r| !r.control && r.value.as_deref().is_some_and(|v| v.starts_with(b"a"))));
    // Committed data is deduplicated and keeps its producer fields.
    let committed_after = read_committed(&log);
    assert_eq!(latest(&committed_after), latest(&committed_before));
    let keys: Vec<&String> = committed_after.iter().map(|(k, _, _)| k).collect();
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(keys.len(), 5, "one record per key: {committed_after:?}");
    assert_eq!(unique.len(), keys.len());
    for r in after.iter().filter(|r| r.offset < lso && !r.control) {
        let v = r.value.as_deref().unwrap();
        if v.starts_with(b"c") {
            assert!(r.transactional && r.pid == 1, "{r:?}");
        } else {
            assert!(!r.transactional && r.pid == -1, "{r:?}");
        }
    }
    assert!(after.windows(2).all(|w| w[0].offset < w[1].offset));
    // This pass saw every transaction's data, so every marker stays for now.
    assert_eq!(after.iter().filter(|r| r.control).count(), markers_before);

    // Once the cleaned point is delete.retention.ms old, markers without data go.
    let aborted_listed = log.aborted_transactions(0, lso).len();
    assert!(clean_all(&mut log, &mut map, 3_500) >= 1);
    let later = records(&log);
    let markers_later = later.iter().filter(|r| r.control).count();
    assert!(
        markers_later < markers_before / 4,
        "{markers_later} of {markers_before} markers left"
    );
    assert!(markers_are_needed(&later));
    assert_eq!(latest(&read_committed(&log)), latest(&committed_before));
    assert_eq!(tail(&later), tail(&before));
    // Abort markers that went took their index entries with them.
    let listed = log.aborted_transactions(0, lso);
    assert!(listed.len() < aborted_listed);
    for a in &listed {
        assert!(later
            .iter()
            .any(|r| is_abort_marker(r) && r.offset == a.last_offset && r.pid == a.producer_id));
    }

    // A reopen finds the same log, last stable offset, aborted list and producers.
    let end = log.log_end_offset();
    let aborted = log.aborted_transactions(0, end);
    // Sequence, epoch and open transaction per producer (a reopen reads coordinator epochs
    // only from the markers of segments whose index it rebuilds).
    let state = |log: &PartitionLog| -> Vec<(i64, i16, i32, i64)> {
        log.producers()
            .iter()
            .map(|p| {
                (
                    p.producer_id,
                    p.epoch,
                    p.last_sequence,
                    p.current_txn_start_offset,
                )
            })
            .collect()
    };
    let producers = state(&log);
    drop(log);
    let log = open(dir.path(), compact_config());
    assert_eq!(records(&log), later);
    assert_eq!(log.last_stable_offset(), lso);
    assert_eq!(log.aborted_transactions(0, end), aborted);
    assert_eq!(state(&log), producers);
    assert_eq!(latest(&read_committed(&log)), latest(&committed_before));
}

#[test]
fn an_aborted_transaction_across_a_roll_keeps_its_first_offset_after_cleaning_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = compact_config();
    config.segment_bytes = 1 << 20;
    let mut log = open(dir.path(), config.clone());
    log.verify_transaction(7, 0);
    log.append(batch(7, true, 0, &[kv(1, "a0".into())]), 1_000)
        .unwrap();
    log.append(batch(-1, false, -1, &[kv(1, "p0".into())]), 1_000)
        .unwrap();
    log.roll().unwrap();
    // The abort marker lands in the segment after the one its data is in.
    log.append_marker(&marker(7, Outcome::Abort), 1_000)
        .unwrap();
    log.append(batch(-1, false, -1, &[kv(2, "p1".into())]), 1_000)
        .unwrap();
    log.roll().unwrap();
    let end = log.log_end_offset();
    let listed = log.aborted_transactions(0, end);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].first_offset, 0);

    let mut map = OffsetMap::new(1 << 20, 0.9);
    clean_all(&mut log, &mut map, 2_000);
    assert!(records(&log)
        .iter()
        .all(|r| r.value.as_deref() != Some(b"a0")));
    assert_eq!(log.aborted_transactions(0, end), listed);
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!(log.aborted_transactions(0, end), listed);
    assert_eq!(log.last_stable_offset(), end);
}

#[test]
fn a_crash_at_any_file_operation_of_a_transactional_pass_leaves_a_consistent_log() {
    for point in PASS_POINTS {
        for skip in [0, 2, 6] {
            let dir = tempfile::tempdir().unwrap();
            let mut log = open(dir.path(), compact_config());
            fill(&mut log);
            let lso = log.last_stable_offset();
            let before = records(&log);
            let committed = latest(&read_committed(&log));
            let outcome = pass_crashing_at(&mut log, dir.path(), point, skip, lso);
            drop(log);
            let log = open(dir.path(), compact_config());
            let now = records(&log);
            let case = format!("{point:?}/{skip}: {outcome:?}");
            assert_eq!(log.last_stable_offset(), lso, "{case}");
            assert_eq!(latest(&read_committed(&log)), committed, "{case}");
            let cleaned = !now
                .iter()
                .any(|r| r.value.as_deref().is_some_and(|v| v.starts_with(b"a")));
            assert!(now == before || cleaned, "{case}: a mix of old and new");
            // The pass saw every transaction's data: no marker goes yet.
            let markers =
                |recs: &[Rec]| -> Vec<Rec> { recs.iter().filter(|r| r.control).cloned().collect() };
            assert_eq!(markers(&now), markers(&before), "{case}");
            assert!(now.windows(2).all(|w| w[0].offset < w[1].offset), "{case}");
            for a in log.aborted_transactions(0, lso) {
                assert!(
                    now.iter()
                        .any(|r| is_abort_marker(r) && r.offset == a.last_offset),
                    "{case}: index entry {a:?} without its marker"
                );
            }
        }
    }
}

#[test]
fn a_torn_txnindex_of_a_cleaned_segment_is_rebuilt_and_read_committed_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    fill(&mut log);
    let lso = log.last_stable_offset();
    let committed = latest(&read_committed(&log));
    let mut map = OffsetMap::new(1 << 20, 0.9);
    clean_all(&mut log, &mut map, 2_000);
    let cleaned = records(&log);
    drop(log);
    let mut torn = 0;
    for name in super::files(dir.path()) {
        let path = dir.path().join(&name);
        let len = std::fs::metadata(&path).unwrap().len();
        if name.ends_with(".txnindex") && len > 0 {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(len - 1)
                .unwrap();
            torn += 1;
        }
    }
    assert!(
        torn > 0,
        "cleaned segments keep index entries of their abort markers"
    );
    let log = open(dir.path(), compact_config());
    assert_eq!(records(&log), cleaned);
    assert_eq!(log.last_stable_offset(), lso);
    assert_eq!(latest(&read_committed(&log)), committed);
    for a in log.aborted_transactions(0, lso) {
        assert!(cleaned
            .iter()
            .any(|r| is_abort_marker(r) && r.offset == a.last_offset && r.pid == a.producer_id));
    }
    for name in super::files(dir.path()) {
        if name.ends_with(".txnindex") {
            let len = std::fs::metadata(dir.path().join(&name)).unwrap().len();
            assert_eq!(len % 34, 0, "{name} rewritten whole");
        }
    }
}
