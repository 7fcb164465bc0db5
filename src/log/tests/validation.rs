use super::*;
use crate::log::{LogConfig, LogError};

fn assert_nothing_written(log: &PartitionLog, end: i64, size: u64) {
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.size_bytes(), size);
}

fn reject(log: &mut PartitionLog, records: Vec<u8>) -> LogError {
    let (end, size) = (log.log_end_offset(), log.size_bytes());
    let err = log.append(Bytes::from(records), 0).unwrap_err();
    assert_nothing_written(log, end, size);
    err
}

#[test]
fn invalid_batches_are_rejected_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 1), 0).unwrap();
    let good = plain(3, 1).to_vec();

    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    assert!(matches!(
        reject(&mut log, bad_crc),
        LogError::CorruptMessage(_)
    ));

    let mut magic1 = good.clone();
    magic1[16] = 1;
    assert!(matches!(
        reject(&mut log, magic1),
        LogError::UnsupportedMagic(1)
    ));

    let mut long = good.clone();
    long[8..12].copy_from_slice(&(good.len() as i32).to_be_bytes());
    assert!(matches!(
        reject(&mut log, long),
        LogError::CorruptMessage(_)
    ));

    let mut short = good.clone();
    short[8..12].copy_from_slice(&(good.len() as i32 - 20).to_be_bytes());
    assert!(matches!(
        reject(&mut log, short),
        LogError::CorruptMessage(_)
    ));

    let mut count = good.clone();
    count[57..61].copy_from_slice(&4i32.to_be_bytes());
    fix_crc(&mut count);
    assert!(matches!(
        reject(&mut log, count),
        LogError::CorruptMessage(_)
    ));

    let mut delta = good.clone();
    delta[23..27].copy_from_slice(&5i32.to_be_bytes());
    fix_crc(&mut delta);
    assert!(matches!(
        reject(&mut log, delta),
        LogError::CorruptMessage(_)
    ));

    let mut control = good.clone();
    control[22] |= 1 << 5;
    fix_crc(&mut control);
    assert!(matches!(
        reject(&mut log, control),
        LogError::InvalidRecord(_)
    ));

    let mut transactional = good.clone();
    transactional[22] |= 1 << 4;
    fix_crc(&mut transactional);
    assert!(matches!(
        reject(&mut log, transactional),
        LogError::InvalidRecord(_)
    ));

    let mut codec = good.clone();
    codec[22] |= 7;
    fix_crc(&mut codec);
    assert!(matches!(
        reject(&mut log, codec),
        LogError::InvalidRecord(_)
    ));

    assert!(matches!(
        reject(&mut log, Vec::new()),
        LogError::InvalidRecord(_)
    ));
    assert!(matches!(
        reject(&mut log, good[..40].to_vec()),
        LogError::CorruptMessage(_)
    ));

    // One bad batch after a good one: the good one is not written either.
    let mut two = good.clone();
    two.extend_from_slice(&good[..good.len() - 1]);
    assert!(matches!(reject(&mut log, two), LogError::CorruptMessage(_)));

    assert_eq!(log.append(Bytes::from(good), 0).unwrap().base_offset, 2);
}

#[test]
fn oversized_batches_are_message_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        max_message_bytes: 200,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config);
    let big = Spec {
        value_len: 300,
        ..Spec::plain(1, 1)
    }
    .encode();
    match reject(&mut log, big.to_vec()) {
        LogError::MessageTooLarge { size, max: 200 } => assert_eq!(size, big.len()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn arbitrary_bytes_never_panic_and_never_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let good = plain(2, 1).to_vec();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..3_000 {
        let mut bytes = if round % 2 == 0 {
            good.clone()
        } else {
            (0..(next() % 120) as usize).map(|_| next() as u8).collect()
        };
        for _ in 0..(next() % 4) {
            if !bytes.is_empty() {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
        }
        let (end, size) = (log.log_end_offset(), log.size_bytes());
        if log.append(Bytes::from(bytes), 0).is_err() {
            assert_nothing_written(&log, end, size);
        }
    }
    drop(log);
    let log = open(dir.path(), small_config());
    let offsets = all_offsets(&log);
    assert_eq!(offsets, (0..log.log_end_offset()).collect::<Vec<_>>());
}

#[test]
fn a_client_set_log_append_time_bit_is_cleared_on_create_time_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let mut batch = plain(2, 40).to_vec();
    batch[22] |= 1 << 3;
    fix_crc(&mut batch);
    let out = log.append(Bytes::from(batch), 99).unwrap();
    assert_eq!(out.log_append_time_ms, -1);
    let stored = log.read(0, usize::MAX).unwrap();
    assert_eq!(stored[22] & (1 << 3), 0);
    assert_eq!(decode(&stored), vec![(0, 40), (1, 41)]);
}

#[test]
fn duplicates_on_log_append_time_topics_report_the_original_append_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        timestamp_type: crate::log::TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config);
    let batch = Spec::idempotent(1, 0, 0, 2).encode();
    assert_eq!(
        log.append(batch.clone(), 500).unwrap().log_append_time_ms,
        500
    );
    let dup = log.append(batch, 900).unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.log_append_time_ms, 500);
}
