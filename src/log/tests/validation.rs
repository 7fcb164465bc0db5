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
        LogError::InvalidRecord(_)
    ));

    let mut delta = good.clone();
    delta[23..27].copy_from_slice(&5i32.to_be_bytes());
    fix_crc(&mut delta);
    assert!(matches!(
        reject(&mut log, delta),
        LogError::InvalidRecord(_)
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

// Compressed batches ------------------------------------------------------------------------

const CODECS: [(Compression, i16); 4] = [
    (Compression::Gzip, 1),
    (Compression::Snappy, 2),
    (Compression::Lz4, 3),
    (Compression::Zstd, 4),
];

fn compressed(count: usize, value_len: usize, compression: Compression) -> Bytes {
    Spec {
        compression,
        value_len,
        ..Spec::plain(count, 1_000)
    }
    .encode()
}

/// `batch`'s header with codec `codec` and `payload` as its records section, length and CRC
/// recomputed.
fn with_payload(batch: &[u8], codec: i16, payload: &[u8]) -> Vec<u8> {
    let mut out = batch[..61].to_vec();
    out.extend_from_slice(payload);
    let length = (out.len() - 12) as i32;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let attributes = (i16::from_be_bytes([out[21], out[22]]) & !7) | codec;
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    fix_crc(&mut out);
    out
}

/// Sets recordCount and lastOffsetDelta of a batch and fixes its CRC.
fn with_counts(batch: &[u8], count: i32, last_offset_delta: i32) -> Vec<u8> {
    let mut out = batch.to_vec();
    out[57..61].copy_from_slice(&count.to_be_bytes());
    out[23..27].copy_from_slice(&last_offset_delta.to_be_bytes());
    fix_crc(&mut out);
    out
}

fn is_corrupt(err: &LogError) -> bool {
    matches!(err, LogError::CorruptMessage(_))
}

/// Refused for what the records hold (INVALID_RECORD), as Kafka refuses them.
fn is_invalid(err: &LogError) -> bool {
    matches!(
        err,
        LogError::InvalidRecord(_) | LogError::RecordError { .. }
    )
}

#[test]
fn compressed_batches_of_every_codec_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let mut next = 0;
    for (compression, _) in CODECS {
        // Small records, and records large enough for several snappy blocks and lz4 blocks.
        for (count, value_len) in [(1, 10), (7, 10), (40, 4_000)] {
            let out = log.append(compressed(count, value_len, compression), 0);
            assert_eq!(out.unwrap().base_offset, next, "{compression:?}");
            next += count as i64;
        }
    }
    // Raw snappy (no xerial framing), as some non-Java clients write it.
    let plain = plain(5, 1_000);
    let raw = snap::raw::Encoder::new()
        .compress_vec(&plain[61..])
        .unwrap();
    let batch = with_payload(&plain, 2, &raw);
    assert_eq!(log.append(Bytes::from(batch), 0).unwrap().base_offset, next);
    next += 5;
    assert_eq!(all_offsets(&log), (0..next).collect::<Vec<_>>());
}

#[test]
fn compressed_batches_that_do_not_decompress_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 1), 0).unwrap();
    let plain = plain(3, 1_000);
    for (compression, codec) in CODECS {
        let garbage = with_payload(&plain, codec, b"\x1f\x8b\x08 certainly not compressed");
        assert!(is_corrupt(&reject(&mut log, garbage)), "{compression:?}");
        let empty = with_payload(&plain, codec, b"");
        let err = reject(&mut log, empty);
        assert!(is_corrupt(&err) || is_invalid(&err), "{compression:?}");
        // A valid stream cut short.
        let good = compressed(20, 100, compression);
        let payload = &good[61..];
        let truncated = with_payload(&good, codec, &payload[..payload.len() - 3]);
        assert!(is_corrupt(&reject(&mut log, truncated)), "{compression:?}");
        // Uncompressed records labelled as compressed.
        let mislabelled = with_payload(&plain, codec, &plain[61..]);
        assert!(
            is_corrupt(&reject(&mut log, mislabelled)),
            "{compression:?}"
        );
    }
    assert_eq!(log.log_end_offset(), 2);
}

#[test]
fn compressed_batches_with_wrong_counts_or_deltas_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 1), 0).unwrap();
    for (compression, _) in CODECS {
        let good = compressed(5, 10, compression);
        for (count, delta) in [
            (4, 4), // fewer records declared than the stream holds
            (6, 5), // more declared than it holds
            (5, 5), // lastOffsetDelta beyond the last record's offset delta
            (1, 4), // one record declared
        ] {
            let err = reject(&mut log, with_counts(&good, count, delta));
            assert!(is_invalid(&err), "{compression:?} {count}/{delta}: {err:?}");
        }
        // Records whose own offset deltas go backwards.
        let plain = plain(3, 1_000);
        let mut records = plain[61..].to_vec();
        // Second record: length varint, attributes, timestampDelta (one byte), offsetDelta.
        let second = 1 + records[0] as usize / 2;
        assert_eq!(records[second + 3], 2, "offset delta 1, zigzag-encoded");
        records[second + 3] = 0;
        let reencoded = reencode(&records, compression);
        let codec = CODECS.iter().find(|c| c.0 == compression).unwrap().1;
        let err = reject(&mut log, with_payload(&plain, codec, &reencoded));
        assert!(
            matches!(err, LogError::RecordError { index: 1, .. }),
            "{compression:?}: {err:?}"
        );
    }
    assert_eq!(log.log_end_offset(), 2);
}

/// `records` compressed with `compression` as the Java client would.
fn reencode(records: &[u8], compression: Compression) -> Vec<u8> {
    use std::io::Write;
    match compression {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(records).unwrap();
            e.finish().unwrap()
        }
        Compression::Snappy => snap::raw::Encoder::new().compress_vec(records).unwrap(),
        Compression::Lz4 => {
            let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
            e.write_all(records).unwrap();
            let (out, result) = e.finish();
            result.unwrap();
            out
        }
        Compression::Zstd => zstd::encode_all(records, 3).unwrap(),
        Compression::None => records.to_vec(),
    }
}

#[test]
fn a_decompression_bomb_is_refused_and_nothing_is_written() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    log.append(plain(2, 1), 0).unwrap();
    // 1,100 well-formed records of 64,000 zero bytes each: 70 MB that zstd squeezes into a few
    // KB. Everything about the batch is right except that it decompresses past the 64 MiB cap.
    let count: i32 = 1_100;
    let value = vec![0u8; 64_000];
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    for i in 0..count {
        let mut body = vec![0u8, 0u8]; // attributes, timestampDelta 0
        put_varint(&mut body, i64::from(i)); // offsetDelta
        put_varint(&mut body, -1); // null key
        put_varint(&mut body, value.len() as i64);
        let mut record = Vec::new();
        put_varint(&mut record, (body.len() + value.len() + 1) as i64);
        encoder.write_all(&record).unwrap();
        encoder.write_all(&body).unwrap();
        encoder.write_all(&value).unwrap();
        encoder.write_all(&[0]).unwrap(); // no headers
    }
    let payload = encoder.finish().unwrap();
    assert!(payload.len() < 100_000, "{}", payload.len());
    let header = with_counts(&plain(1, 1_000), count, count - 1);
    let bomb = with_payload(&header, 4, &payload);
    match reject(&mut log, bomb) {
        LogError::CorruptMessage(msg) => assert!(msg.contains("decompress to more"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(log.log_end_offset(), 2);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}
