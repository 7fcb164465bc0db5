use super::*;
use crate::log::{LogConfig, LogError};

#[test]
fn retention_by_bytes_deletes_oldest_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..50 {
        log.append(plain(2, 1_000), 0).unwrap();
    }
    let segments = log.segment_count();
    let size = log.size_bytes();
    assert_eq!(log.enforce_retention(0).unwrap(), 0);
    log.set_config(LogConfig {
        retention_bytes: 2_000,
        ..small_config()
    });
    let deleted = log.enforce_retention(0).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), segments - deleted);
    assert!(log.size_bytes() <= 2_000 + 1_024);
    assert!(log.size_bytes() < size);
    let first_log = files(dir.path())
        .into_iter()
        .find(|f| f.ends_with(".log"))
        .unwrap();
    let base: i64 = first_log[..20].parse().unwrap();
    assert_eq!(log.log_start_offset(), base);
    assert_eq!(all_offsets(&log), (base..100).collect::<Vec<_>>());
    assert!(matches!(
        log.read(base - 1, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // The active segment is never deleted.
    log.set_config(LogConfig {
        retention_bytes: 0,
        ..small_config()
    });
    log.enforce_retention(0).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.log_end_offset(), 100);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(
        log.log_start_offset(),
        log.read(log.log_start_offset(), 1)
            .map(|b| { i64::from_be_bytes(b[..8].try_into().unwrap()) })
            .unwrap()
    );
}

#[test]
fn retention_by_time_uses_each_segments_largest_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..60 {
        log.append(plain(2, i * 100), 0).unwrap();
    }
    let config = LogConfig {
        retention_ms: 1_000,
        ..small_config()
    };
    log.set_config(config);
    // Newest record has timestamp 5901: with now = 3_000 everything up to 2_000 expires.
    let deleted = log.enforce_retention(3_000).unwrap();
    assert!(deleted > 0);
    let start = log.log_start_offset();
    let first_ts = decode(&log.read(start, 1).unwrap())[0].1;
    assert!(
        first_ts <= 2_001,
        "a segment with newer records was deleted"
    );
    // The first remaining segment holds a record newer than the horizon.
    let seg_bytes = log.read(start, 1_024).unwrap();
    assert!(decode(&seg_bytes).iter().any(|&(_, ts)| ts >= 2_000));
    assert_eq!(log.enforce_retention(3_000).unwrap(), 0);
    assert!(log.enforce_retention(1_000_000).unwrap() > 0);
    assert_eq!(log.segment_count(), 1);
    assert_eq!(
        log.log_start_offset(),
        log.log_end_offset(),
        "all expired: empty"
    );
}

#[test]
fn an_expired_active_segment_is_rolled_and_deleted_and_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: 1_000,
        ..small_config()
    };
    let mut log = open(dir.path(), config.clone());
    log.append(plain(3, 100), 0).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert_eq!(log.enforce_retention(1_102).unwrap(), 0, "not expired yet");
    assert_eq!(log.enforce_retention(1_103).unwrap(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (3, 3));
    assert_eq!(log.segment_count(), 1);
    assert_eq!(
        log.enforce_retention(1_000_000).unwrap(),
        0,
        "an empty active segment stays"
    );
    assert_eq!(log.append(plain(1, 2_000), 0).unwrap().base_offset, 3);
    drop(log);
    let log = open(dir.path(), config);
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (3, 4));
}

#[test]
fn delete_records_moves_the_log_start_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..50 {
        log.append(plain(2, 1), 0).unwrap();
    }
    let segments = log.segment_count();
    assert!(matches!(
        log.delete_records_before(101),
        Err(LogError::InvalidOffset(_))
    ));
    assert_eq!(log.delete_records_before(37).unwrap(), 37);
    assert_eq!(log.delete_records_before(10).unwrap(), 37);
    assert!(log.segment_count() < segments);
    assert!(matches!(
        log.read(36, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.lookup_timestamp(0).unwrap().unwrap().offset, 37);
    drop(log);
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.log_start_offset(), 37);
    assert_eq!(decode(&log.read(37, 1).unwrap())[0].0, 36);
    // Up to the very end: the active segment stays, empty of readable records.
    assert_eq!(log.delete_records_before(100).unwrap(), 100);
    assert!(log.read(100, 10).unwrap().is_empty());
    assert_eq!(log.append(plain(1, 1), 0).unwrap().base_offset, 100);
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (100, 101));
}

#[test]
fn a_log_start_beyond_the_recovered_end_restarts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..5 {
        log.append(plain(2, 1), 0).unwrap();
    }
    log.delete_records_before(10).unwrap();
    drop(log);
    // Lose the tail, as an unflushed write would be lost in a crash.
    std::fs::write(dir.path().join("00000000000000000000.log"), b"").unwrap();
    let mut log = open(dir.path(), small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 10));
    assert_eq!(log.append(plain(1, 1), 0).unwrap().base_offset, 10);
}
