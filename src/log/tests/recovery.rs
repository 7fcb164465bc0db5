use std::fs::OpenOptions;

use super::*;

/// Builds a log of several segments and returns (dir, last segment path, start of its final
/// batch, that batch's bytes as stored, log end offset).
fn build_log() -> (tempfile::TempDir, std::path::PathBuf, usize, Vec<u8>, i64) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..25 {
        log.append(plain(2, 100 + i), 0).unwrap();
    }
    let end = log.log_end_offset();
    drop(log);
    let last_log = files(dir.path())
        .into_iter()
        .rfind(|f| f.ends_with(".log"))
        .unwrap();
    let path = dir.path().join(last_log);
    let content = std::fs::read(&path).unwrap();
    let mut pos = 0;
    let mut last_start = 0;
    while pos < content.len() {
        last_start = pos;
        pos += batch_size(&content[pos..]);
    }
    let last = content[last_start..].to_vec();
    (dir, path, last_start, last, end)
}

/// Opens a copy of `from` whose last segment file was replaced by `content`.
fn reopen_with(from: &Path, segment: &Path, content: &[u8]) -> (tempfile::TempDir, PartitionLog) {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(from, copy.path());
    std::fs::write(copy.path().join(segment.file_name().unwrap()), content).unwrap();
    let log = open(copy.path(), small_config());
    (copy, log)
}

fn assert_recovered_without_last_batch(log: &mut PartitionLog, end: i64) {
    let expected_end = end - 2;
    assert_eq!(log.log_end_offset(), expected_end);
    assert_eq!(all_offsets(log), (0..expected_end).collect::<Vec<_>>());
    assert_eq!(
        log.append(plain(1, 1), 0).unwrap().base_offset,
        expected_end
    );
    assert_eq!(all_offsets(log), (0..=expected_end).collect::<Vec<_>>());
}

#[test]
fn a_torn_final_batch_is_truncated_at_every_cut_point() {
    let (dir, segment, last_start, last, end) = build_log();
    let content = std::fs::read(&segment).unwrap();
    for cut in last_start..content.len() {
        let (copy, mut log) = reopen_with(dir.path(), &segment, &content[..cut]);
        assert_recovered_without_last_batch(&mut log, end);
        drop(log);
        let fixed = std::fs::read(copy.path().join(segment.file_name().unwrap())).unwrap();
        assert_eq!(&fixed[..last_start], &content[..last_start], "cut {cut}");
    }
    assert_eq!(last.len(), content.len() - last_start);
}

#[test]
fn a_corrupt_final_batch_is_truncated_for_every_flipped_byte() {
    let (dir, segment, last_start, last, end) = build_log();
    let content = std::fs::read(&segment).unwrap();
    for i in 0..last.len() {
        let mut damaged = content.clone();
        damaged[last_start + i] ^= 0x5a;
        let (_copy, mut log) = reopen_with(dir.path(), &segment, &damaged);
        if (12..16).contains(&i) {
            // partitionLeaderEpoch is covered by neither the CRC nor any invariant.
            assert_eq!(log.log_end_offset(), end, "byte {i}");
            continue;
        }
        assert_recovered_without_last_batch(&mut log, end);
    }
}

#[test]
fn garbage_after_the_last_batch_is_truncated() {
    let (dir, segment, _, _, end) = build_log();
    let mut content = std::fs::read(&segment).unwrap();
    let len = content.len();
    content.extend_from_slice(&[0u8; 100]);
    let (copy, log) = reopen_with(dir.path(), &segment, &content);
    assert_eq!(log.log_end_offset(), end);
    drop(log);
    let fixed = std::fs::read(copy.path().join(segment.file_name().unwrap())).unwrap();
    assert_eq!(fixed.len(), len);
}

#[test]
fn missing_or_corrupt_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..40 {
        log.append(plain(2, 1_000 + i * 10), 0).unwrap();
    }
    let before = log.read(0, usize::MAX).unwrap();
    let lookups: Vec<_> = (990..1_500)
        .step_by(7)
        .map(|ts| log.lookup_timestamp(ts).unwrap())
        .collect();
    drop(log);
    let indexes: Vec<(String, Vec<u8>)> = files(dir.path())
        .into_iter()
        .filter(|f| !f.ends_with(".log"))
        .map(|f| (f.clone(), std::fs::read(dir.path().join(&f)).unwrap()))
        .collect();
    assert!(indexes
        .iter()
        .any(|(n, c)| n.ends_with(".index") && !c.is_empty()));
    assert!(indexes
        .iter()
        .any(|(n, c)| n.ends_with(".timeindex") && !c.is_empty()));

    for (n, (name, content)) in indexes.iter().enumerate() {
        let path = dir.path().join(name);
        match n % 3 {
            0 => std::fs::remove_file(&path).unwrap(),
            1 => std::fs::write(&path, b"not an index").unwrap(),
            _ if !content.is_empty() => {
                // Right size, wrong values: a position pointing nowhere.
                let mut bad = content.clone();
                for b in bad.iter_mut() {
                    *b = 0x7f;
                }
                std::fs::write(&path, bad).unwrap();
            }
            _ => {}
        }
    }
    let log = open(dir.path(), small_config());
    for (name, content) in &indexes {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).unwrap(),
            content,
            "{name}"
        );
    }
    assert_eq!(log.read(0, usize::MAX).unwrap(), before);
    for (i, ts) in (990..1_500).step_by(7).enumerate() {
        assert_eq!(log.lookup_timestamp(ts).unwrap(), lookups[i], "ts {ts}");
    }
    for offset in 0..80 {
        assert_eq!(decode(&log.read(offset, 1).unwrap())[0].0, offset / 2 * 2);
    }
}

#[test]
fn stray_files_are_removed_and_an_empty_folder_opens() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("00000000000000000050.index"), [0u8; 8]).unwrap();
    std::fs::write(p.join("00000000000000000050.timeindex"), [0u8; 12]).unwrap();
    std::fs::write(p.join("log-start-offset.tmp"), b"0\n9\n").unwrap();
    let log = open(p, small_config());
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(
        files(p),
        vec![
            "00000000000000000000.index",
            "00000000000000000000.log",
            "00000000000000000000.timeindex"
        ]
    );
}

#[test]
fn an_unflushed_index_tail_is_completed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        index_interval_bytes: 50,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config.clone());
    for _ in 0..30 {
        log.append(plain(2, 1), 0).unwrap();
    }
    log.flush().unwrap();
    let index = dir.path().join("00000000000000000000.index");
    let full = std::fs::read(&index).unwrap();
    // Simulate a crash: forget the log handle without its Drop, then lose index entries.
    std::mem::forget(log);
    let file = OpenOptions::new().write(true).open(&index).unwrap();
    file.set_len(16).unwrap();
    let log = open(dir.path(), config);
    assert_eq!(std::fs::read(&index).unwrap(), full);
    assert_eq!(log.log_end_offset(), 60);
}

#[test]
fn a_damaged_older_segment_is_cut_and_later_segments_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..30 {
        log.append(plain(2, 100 + i), 0).unwrap();
    }
    assert!(log.segment_count() >= 3);
    drop(log);
    let logs: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".log"))
        .collect();
    let second = dir.path().join(&logs[1]);
    let content = std::fs::read(&second).unwrap();
    let first_batch = batch_size(&content);
    // Cut the second segment in the middle of its second batch.
    std::fs::write(&second, &content[..first_batch + 10]).unwrap();
    let mut log = open(dir.path(), small_config());
    assert_eq!(log.log_end_offset(), 60);
    let base1: i64 = logs[1][..20].parse().unwrap();
    let base2: i64 = logs[2][..20].parse().unwrap();
    let offsets = all_offsets(&log);
    let expected: Vec<i64> = (0..base1 + 2).chain(base2..60).collect();
    assert_eq!(offsets, expected);
    // Reading inside the lost range continues with the next segment.
    assert_eq!(decode(&log.read(base1 + 2, 1).unwrap())[0].0, base2);
    assert_eq!(log.append(plain(1, 1), 0).unwrap().base_offset, 60);
}

/// A log of one segment holding eight 2-record batches (offsets 0..16), then an empty segment
/// named inside it, as a roll leaves it when it fails and cannot remove its file. Returns the
/// first segment's path.
fn one_segment_and_a_stale_one(dir: &Path) -> std::path::PathBuf {
    let mut log = open(dir, small_config());
    for i in 0..8 {
        log.append(plain(2, 100 + i), 0).unwrap();
    }
    assert_eq!(log.segment_count(), 1);
    drop(log);
    std::fs::write(dir.join(format!("{:020}.log", 6)), b"").unwrap();
    dir.join(format!("{:020}.log", 0))
}

/// Opens `dir`, appends one record, reopens: the record is still there, at the offset the
/// append returned, and the log ends right after it. Returns that offset.
fn append_survives_a_reopen(dir: &Path) -> i64 {
    let mut log = open(dir, small_config());
    let offset = log.append(plain(1, 1), 0).unwrap().base_offset;
    assert_eq!(log.log_end_offset(), offset + 1);
    drop(log);
    let log = open(dir, small_config());
    assert_eq!(log.log_end_offset(), offset + 1, "the append was lost");
    assert_eq!(all_offsets(&log), (0..=offset).collect::<Vec<_>>());
    offset
}

#[test]
fn an_offset_jump_before_a_stale_segment_is_cut_before_appends_land() {
    let dir = tempfile::tempdir().unwrap();
    let segment = one_segment_and_a_stale_one(dir.path());
    // Move the last batch (offsets 14, 15) to 40 and 41; the CRC does not cover the base
    // offset, so only the offset order tells it apart from a valid batch.
    let mut content = std::fs::read(&segment).unwrap();
    let mut at = 0;
    for _ in 0..7 {
        at += batch_size(&content[at..]);
    }
    content[at..at + 8].copy_from_slice(&40i64.to_be_bytes());
    std::fs::write(&segment, &content).unwrap();
    assert_eq!(append_survives_a_reopen(dir.path()), 14);
}

#[test]
fn a_damaged_batch_before_a_stale_segment_is_cut_before_appends_land() {
    let dir = tempfile::tempdir().unwrap();
    let segment = one_segment_and_a_stale_one(dir.path());
    let mut content = std::fs::read(&segment).unwrap();
    let last = content.len() - 1;
    content[last] ^= 0x5a;
    std::fs::write(&segment, &content).unwrap();
    assert_eq!(append_survives_a_reopen(dir.path()), 14);
}

#[test]
fn partition_log_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PartitionLog>();
}
