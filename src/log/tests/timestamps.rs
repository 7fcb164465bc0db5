use super::*;
use crate::log::{LogConfig, TimestampLookup, TimestampType};

fn found(offset: i64, timestamp: i64) -> Option<TimestampLookup> {
    Some(TimestampLookup { offset, timestamp })
}

/// Record timestamps out of order inside batches: the answer is the first record by offset
/// whose timestamp is >= the target.
fn fill(log: &mut PartitionLog, compression: Compression) -> Vec<i64> {
    let mut all = Vec::new();
    for b in 0..30i64 {
        let timestamps = vec![b * 100 + 50, b * 100 + 10, b * 100 + 90, b * 100 + 30];
        all.extend_from_slice(&timestamps);
        let spec = Spec {
            timestamps,
            compression,
            ..Spec::plain(0, 0)
        };
        log.append(spec.encode(), 0).unwrap();
    }
    all
}

fn expected(all: &[i64], target: i64) -> Option<TimestampLookup> {
    all.iter()
        .position(|&ts| ts >= target)
        .map(|i| TimestampLookup {
            offset: i as i64,
            timestamp: all[i],
        })
}

#[test]
fn lookup_finds_the_exact_record_inside_batches() {
    for compression in [Compression::None, Compression::Gzip, Compression::Lz4] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        let all = fill(&mut log, compression);
        assert!(log.segment_count() > 1);
        for target in -5..3_100 {
            assert_eq!(
                log.lookup_timestamp(target).unwrap(),
                expected(&all, target),
                "{target}"
            );
        }
        assert_eq!(log.lookup_timestamp(2_991).unwrap(), None);
        assert_eq!(log.max_timestamp().unwrap(), found(29 * 4 + 2, 2_990));
        drop(log);
        let log = open(dir.path(), small_config());
        assert_eq!(log.lookup_timestamp(1_455).unwrap(), expected(&all, 1_455));
    }
}

#[test]
fn max_timestamp_is_the_first_record_with_the_largest_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.max_timestamp().unwrap(), None);
    assert_eq!(log.lookup_timestamp(0).unwrap(), None);
    log.append(plain(3, 10), 0).unwrap();
    let spec = Spec {
        timestamps: vec![5, 900, 7, 900],
        ..Spec::plain(0, 0)
    };
    log.append(spec.encode(), 0).unwrap();
    log.append(plain(2, 100), 0).unwrap();
    assert_eq!(log.max_timestamp().unwrap(), found(4, 900));
    let no_ts = Spec {
        timestamps: vec![-1, -1],
        ..Spec::plain(0, 0)
    };
    let dir2 = tempfile::tempdir().unwrap();
    let mut log2 = open(dir2.path(), LogConfig::default());
    log2.append(no_ts.encode(), 0).unwrap();
    assert_eq!(log2.max_timestamp().unwrap(), None);
}

#[test]
fn log_append_time_lookups_use_the_broker_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..small_config()
    };
    let mut log = open(dir.path(), config);
    for i in 0..20 {
        log.append(plain(3, 5), 10_000 + i * 1_000).unwrap();
    }
    assert_eq!(log.lookup_timestamp(0).unwrap(), found(0, 10_000));
    assert_eq!(log.lookup_timestamp(12_500).unwrap(), found(9, 13_000));
    assert_eq!(log.lookup_timestamp(29_000).unwrap(), found(57, 29_000));
    assert_eq!(log.lookup_timestamp(29_001).unwrap(), None);
    assert_eq!(log.max_timestamp().unwrap(), found(57, 29_000));
}
