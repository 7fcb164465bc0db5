//! Operations that fail part way (injected through `faults.rs`) leave a log that reads back
//! every acknowledged record at its offset, before and after reopening.

use super::*;
use crate::log::faults::{self, Point, Rule};

/// A batch of `count` records with values of `value_len` bytes.
fn sized(count: usize, value_len: usize) -> Bytes {
    Spec {
        value_len,
        ..Spec::plain(count, 1_000)
    }
    .encode()
}

/// Every offset of the log is read back from the batch that holds it.
fn assert_every_offset_reads_its_batch(log: &PartitionLog) {
    let end = log.log_end_offset();
    assert_eq!(all_offsets(log), (0..end).collect::<Vec<_>>());
    for offset in 0..end {
        let bytes = log.read(offset, 1).unwrap();
        let base = i64::from_be_bytes(bytes[..8].try_into().unwrap());
        let last = base + i64::from(i32::from_be_bytes(bytes[23..27].try_into().unwrap()));
        assert!(
            base <= offset && offset <= last,
            "offset {offset} read from batch {base}..={last}"
        );
    }
}

/// Fills most of the first 1 KiB segment, then makes the append that needs a roll fail at
/// `point`; smaller appends that still fit the old segment follow, then a roll that works.
/// Returns the log end after all of it.
fn failed_roll_then_more_appends(log: &mut PartitionLog, dir: &Path, point: Point) -> i64 {
    for _ in 0..8 {
        log.append(plain(2, 1_000), 0).unwrap();
    }
    assert_eq!(log.segment_count(), 1);
    let failed_at = log.log_end_offset();
    {
        let _fail = faults::arm(Rule::once(point, dir));
        assert!(
            log.append(sized(2, 150), 0).is_err(),
            "the roll must fail at {point:?}"
        );
    }
    assert_eq!(
        log.log_end_offset(),
        failed_at,
        "the failed append moved the end"
    );
    // These fit the old segment, so they take offsets from `failed_at` on.
    log.append(plain(1, 2_000), 0).unwrap();
    log.append(plain(1, 2_001), 0).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(sized(2, 150), 0).unwrap();
    assert_eq!(log.segment_count(), 2, "the next roll works");
    log.append(plain(3, 3_000), 0).unwrap();
    log.log_end_offset()
}

#[test]
fn a_failed_roll_leaves_no_segment_that_hides_later_appends() {
    for point in [Point::SegmentCreate, Point::IndexCreate, Point::DirSync] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let end = failed_roll_then_more_appends(&mut log, dir.path(), point);
        assert_every_offset_reads_its_batch(&log);
        drop(log);
        let mut log = open(dir.path(), small_config());
        assert_eq!(log.log_end_offset(), end, "{point:?}");
        assert_every_offset_reads_its_batch(&log);
        assert_eq!(log.append(plain(1, 9), 0).unwrap().base_offset, end);
    }
}

#[test]
fn a_segment_left_by_a_failed_roll_is_removed_when_the_log_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    // The cleanup of the failed roll fails too: its empty segment stays on disk.
    let cleanup = faults::arm(Rule::always(Point::Remove, dir.path()));
    let end = failed_roll_then_more_appends(&mut log, dir.path(), Point::IndexCreate);
    assert!(cleanup.seen() > 0, "no cleanup was attempted");
    drop(cleanup);
    let stale = format!("{:020}.log", 16);
    assert!(
        files(dir.path()).contains(&stale),
        "{:?}",
        files(dir.path())
    );
    drop(log);
    let mut log = open(dir.path(), small_config());
    assert!(
        !files(dir.path()).contains(&stale),
        "{:?}",
        files(dir.path())
    );
    assert_eq!(log.log_end_offset(), end);
    assert_every_offset_reads_its_batch(&log);
    assert_eq!(log.append(plain(1, 9), 0).unwrap().base_offset, end);
    assert_every_offset_reads_its_batch(&log);
}

#[test]
fn a_segment_holding_offsets_of_the_previous_one_stops_the_open_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..12 {
        log.append(plain(2, 1_000), 0).unwrap();
    }
    assert_eq!(log.segment_count(), 2);
    drop(log);
    // A copy of the first segment from its third batch (offset 4) on, named as a segment.
    let first = std::fs::read(dir.path().join(format!("{:020}.log", 0))).unwrap();
    let mut at = 0;
    for _ in 0..2 {
        at += batch_size(&first[at..]);
    }
    std::fs::write(dir.path().join(format!("{:020}.log", 4)), &first[at..]).unwrap();
    let err = PartitionLog::open(dir.path().to_path_buf(), small_config())
        .err()
        .expect("overlapping segments must not open");
    assert!(err.to_string().contains("starts inside segment 0"), "{err}");
}

#[test]
fn retention_fsyncs_the_folder_after_deleting_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..50 {
        log.append(plain(2, 1_000), 0).unwrap();
    }
    log.set_config(LogConfig {
        retention_bytes: 2_000,
        ..small_config()
    });
    let syncs = faults::arm(Rule::count(Point::DirSync, dir.path()));
    assert!(log.enforce_retention(0).unwrap() > 0);
    assert!(
        syncs.seen() >= 1,
        "segments were deleted without a folder fsync"
    );
    drop(syncs);
    // A folder fsync that fails is reported, not ignored.
    log.set_config(LogConfig {
        retention_bytes: 0,
        ..small_config()
    });
    let _fail = faults::arm(Rule::always(Point::DirSync, dir.path()));
    assert!(log.enforce_retention(0).is_err());
}
