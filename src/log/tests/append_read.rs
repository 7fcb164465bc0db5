use super::*;
use crate::log::{LogConfig, LogError, TimestampType};

#[test]
fn offsets_are_contiguous_and_reads_round_trip_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (0, 0));
    let mut sent = Vec::new();
    for i in 0..40 {
        let batch = plain(3, 1_000 + i * 10);
        let out = log.append(batch.clone(), 5_000).unwrap();
        assert_eq!((out.base_offset, out.last_offset), (i * 3, i * 3 + 2));
        assert_eq!(out.log_append_time_ms, -1);
        assert!(!out.duplicate);
        sent.push(batch);
    }
    assert_eq!(log.log_end_offset(), 120);
    assert!(log.segment_count() > 3, "tiny segments must roll");
    assert_eq!(all_offsets(&log), (0..120).collect::<Vec<_>>());
    let total: usize = sent.iter().map(|b| b.len()).sum();
    assert_eq!(log.size_bytes(), total as u64);

    // Every offset, including ones inside a batch, returns the batch holding it first, with
    // the stored bytes equal to the sent ones apart from the base offset.
    for offset in 0..120i64 {
        let bytes = log.read(offset, 1).unwrap();
        let batch_no = (offset / 3) as usize;
        assert_eq!(bytes.len(), sent[batch_no].len());
        assert_eq!(&bytes[0..8], &(batch_no as i64 * 3).to_be_bytes());
        assert_eq!(&bytes[8..], &sent[batch_no][8..]);
    }
    // A budget spanning several batches and segments returns whole batches only.
    let bytes = log.read(4, 5 * sent[0].len() + 7).unwrap();
    assert_eq!(bytes.len(), 5 * sent[0].len());
    assert_eq!(decode(&bytes).first().unwrap().0, 3);
    assert_eq!(decode(&bytes).last().unwrap().0, 17);
}

#[test]
fn read_returns_the_first_batch_whole_even_beyond_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let big = Spec {
        value_len: 5_000,
        ..Spec::plain(2, 7)
    }
    .encode();
    log.append(big.clone(), 0).unwrap();
    log.append(plain(1, 8), 0).unwrap();
    let bytes = log.read(1, 10).unwrap();
    assert_eq!(bytes.len(), big.len());
    assert_eq!(decode(&bytes), vec![(0, 7), (1, 8)]);
    let all = log.read(0, 0).unwrap();
    assert_eq!(all.len(), big.len());
}

#[test]
fn read_outside_the_log_is_offset_out_of_range_and_the_end_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    assert!(log.read(0, 100).unwrap().is_empty());
    for _ in 0..10 {
        log.append(plain(2, 1), 0).unwrap();
    }
    assert!(log.read(20, 100).unwrap().is_empty());
    match log.read(21, 100) {
        Err(LogError::OffsetOutOfRange {
            offset: 21,
            log_start: 0,
            log_end: 20,
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    log.delete_records_before(5).unwrap();
    assert!(matches!(
        log.read(4, 100),
        Err(LogError::OffsetOutOfRange { log_start: 5, .. })
    ));
    assert!(matches!(
        log.read(-1, 100),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // Reading at the log start returns the batch holding it, starting below it (Kafka does).
    assert_eq!(decode(&log.read(5, 1).unwrap())[0].0, 4);
}

#[test]
fn reopen_after_clean_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..30 {
        log.append(plain(2, 100 + i), 0).unwrap();
    }
    let before = log.read(0, usize::MAX).unwrap();
    let (segments, size) = (log.segment_count(), log.size_bytes());
    drop(log);
    let index_files: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| !f.ends_with(".log"))
        .map(|f| (f.clone(), std::fs::read(dir.path().join(f)).unwrap()))
        .collect();
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 60);
    assert_eq!((log.segment_count(), log.size_bytes()), (segments, size));
    assert_eq!(log.read(0, usize::MAX).unwrap(), before);
    for (name, content) in index_files {
        assert_eq!(
            std::fs::read(dir.path().join(&name)).unwrap(),
            content,
            "{name}"
        );
    }
    assert_eq!(log.append(plain(1, 5), 0).unwrap().base_offset, 60);
    assert_eq!(all_offsets(&log), (0..61).collect::<Vec<_>>());
}

#[test]
fn segment_files_are_named_by_base_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for _ in 0..20 {
        log.append(plain(3, 1), 0).unwrap();
    }
    let logs: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".log"))
        .collect();
    assert_eq!(logs.len(), log.segment_count());
    assert_eq!(logs[0], "00000000000000000000.log");
    for name in &logs {
        let base: i64 = name[..20].parse().unwrap();
        let first = log.read(base.max(0), 1).unwrap();
        assert_eq!(i64::from_be_bytes(first[..8].try_into().unwrap()), base);
        assert!(dir.path().join(format!("{base:020}.index")).exists());
        assert!(dir.path().join(format!("{base:020}.timeindex")).exists());
    }
}

#[test]
fn segments_roll_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1_000,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config);
    log.append(plain(1, 1), 10_000).unwrap();
    log.append(plain(1, 1), 10_900).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(plain(1, 1), 11_001).unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(all_offsets(&log), vec![0, 1, 2]);
}

#[test]
fn log_append_time_stamps_batches_and_keeps_crc_valid() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config);
    let out = log.append(plain(3, 5), 123_456).unwrap();
    assert_eq!(out.log_append_time_ms, 123_456);
    let bytes = log.read(0, usize::MAX).unwrap();
    let mut buf = bytes.clone();
    // decode() checks the CRC the log recomputed.
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut buf).unwrap();
    assert_eq!(sets[0].records.len(), 3);
    assert_eq!(
        sets[0].records[0].timestamp_type,
        KafkaTimestampType::LogAppend
    );
    assert_eq!(
        i64::from_be_bytes(bytes[35..43].try_into().unwrap()),
        123_456
    );
    drop(log);
    // The rewritten batch passes recovery's CRC check.
    let log = open(dir.path(), LogConfig::default());
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn fsync_every_append_and_explicit_flush_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_interval_messages: 1,
        ..small_config()
    };
    let mut log = open(dir.path(), config.clone());
    for _ in 0..20 {
        log.append(plain(2, 1), 0).unwrap();
    }
    log.flush().unwrap();
    assert_eq!(log.config().flush_interval_messages, 1);
    log.set_config(LogConfig::default());
    assert_eq!(log.config().segment_bytes, 1024 * 1024 * 1024);
    assert_eq!(log.log_end_offset(), 40);
}

#[test]
fn delete_removes_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topic-0");
    let mut log = open(&path, small_config());
    for _ in 0..20 {
        log.append(plain(2, 1), 0).unwrap();
    }
    log.delete().unwrap();
    assert!(!path.exists());
}

#[test]
fn an_append_of_several_batches_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 1), 0).unwrap();
    let mut records = BytesMut::new();
    records.extend_from_slice(&plain(3, 1));
    records.extend_from_slice(
        &Spec {
            compression: Compression::Gzip,
            ..Spec::plain(4, 1)
        }
        .encode(),
    );
    let err = log.append(records.freeze(), 0).unwrap_err();
    assert!(
        err.to_string().contains("exactly one record batch"),
        "{err}"
    );
    assert_eq!(all_offsets(&log), vec![0, 1]);
}

#[test]
fn an_append_larger_than_a_segment_gets_a_segment_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let big = Spec {
        value_len: 2_000,
        ..Spec::plain(1, 1)
    }
    .encode();
    log.append(plain(1, 1), 0).unwrap();
    log.append(big.clone(), 0).unwrap();
    log.append(plain(1, 1), 0).unwrap();
    assert_eq!(log.segment_count(), 3);
    assert_eq!(log.read(1, 1).unwrap().len(), big.len());
    drop(log);
    let log = open(dir.path(), small_config());
    assert_eq!(all_offsets(&log), vec![0, 1, 2]);
}

#[test]
fn segment_age_after_reopen_counts_from_the_first_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1_000,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config.clone());
    log.append(plain(1, 50_000), 50_000).unwrap();
    drop(log);
    let mut log = open(dir.path(), config);
    log.append(plain(1, 50_500), 50_500).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.append(plain(1, 51_001), 51_001).unwrap();
    assert_eq!(log.segment_count(), 2);
}

#[test]
fn a_planned_read_returns_the_same_bytes_after_more_appends() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..10 {
        log.append(plain(2, 100 + i), 0).unwrap();
    }
    let plan = log.plan_read(0, 10_000, i64::MAX).unwrap();
    let expected = log.read(0, 10_000).unwrap();
    for i in 0..10 {
        log.append(plain(2, 200 + i), 0).unwrap();
    }
    assert_eq!(plan.read().unwrap(), expected);
}

#[test]
fn a_read_within_a_limit_plans_nothing_beyond_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 100), 0).unwrap();
    log.append(plain(2, 101), 0).unwrap();
    let first = log.read(0, 1).unwrap().len();
    // KIP-74: the first batch whole, however small the limit.
    assert_eq!(log.plan_read(0, 1, i64::MAX).unwrap().len(), first);
    // Within the limit: nothing when the first batch does not fit, else at most the limit.
    assert!(log
        .plan_read_within(0, first - 1, i64::MAX)
        .unwrap()
        .is_empty());
    let plan = log.plan_read_within(0, first + 1, i64::MAX).unwrap();
    assert_eq!(plan.len(), first + 1);
    assert_eq!(plan.read().unwrap().len(), first, "whole batches only");
}
