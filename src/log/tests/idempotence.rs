use super::*;
use crate::log::{LogConfig, LogError};

fn idem(pid: i64, epoch: i16, seq: i32, count: usize) -> Bytes {
    Spec::idempotent(pid, epoch, seq, count).encode()
}

#[test]
fn a_retried_batch_returns_its_original_offsets_and_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let first = log.append(idem(0, 0, 0, 3), 0).unwrap();
    log.append(plain(1, 1), 0).unwrap();
    let second = log.append(idem(0, 0, 3, 2), 0).unwrap();
    assert_eq!((first.base_offset, first.last_offset), (0, 2));
    assert_eq!((second.base_offset, second.last_offset), (4, 5));
    let size = log.size_bytes();
    for (batch, original) in [(idem(0, 0, 0, 3), first), (idem(0, 0, 3, 2), second)] {
        let dup = log.append(batch, 0).unwrap();
        assert!(dup.duplicate);
        assert_eq!(
            (dup.base_offset, dup.last_offset),
            (original.base_offset, original.last_offset)
        );
    }
    assert_eq!((log.log_end_offset(), log.size_bytes()), (6, size));
}

#[test]
fn only_the_last_five_batches_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..6 {
        log.append(idem(7, 1, i, 1), 0).unwrap();
    }
    assert!(log.append(idem(7, 1, 1, 1), 0).unwrap().duplicate);
    assert!(matches!(
        log.append(idem(7, 1, 0, 1), 0),
        Err(LogError::OutOfOrderSequence(_))
    ));
}

#[test]
fn sequence_gaps_old_epochs_and_bad_new_epochs_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(idem(3, 2, 10, 2), 0).unwrap(); // unknown producer: any sequence
    let end = log.log_end_offset();
    assert!(matches!(
        log.append(idem(3, 2, 13, 1), 0),
        Err(LogError::OutOfOrderSequence(_))
    ));
    assert!(matches!(
        log.append(idem(3, 1, 12, 1), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    assert!(matches!(
        log.append(idem(3, 3, 5, 1), 0),
        Err(LogError::OutOfOrderSequence(_))
    ));
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.append(idem(3, 2, 12, 1), 0).unwrap().base_offset, 2);
    assert_eq!(log.append(idem(3, 3, 0, 1), 0).unwrap().base_offset, 3);
    // The old epoch is now fenced.
    assert!(matches!(
        log.append(idem(3, 2, 13, 1), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
}

#[test]
fn sequences_wrap_to_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(idem(1, 0, i32::MAX - 1, 2), 0).unwrap();
    assert_eq!(log.append(idem(1, 0, 0, 1), 0).unwrap().base_offset, 2);
}

#[test]
fn an_append_of_several_batches_is_refused_before_any_producer_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let mut two = BytesMut::new();
    two.extend_from_slice(&idem(9, 0, 0, 2));
    two.extend_from_slice(&idem(10, 0, 0, 2));
    assert!(matches!(
        log.append(two.freeze(), 0),
        Err(LogError::InvalidRecord(_))
    ));
    assert_eq!(log.log_end_offset(), 0);
    assert_eq!(log.producers.len(), 0);
    // Producer 9 starts wherever it likes: nothing of the refused append was remembered.
    assert_eq!(log.append(idem(9, 0, 7, 1), 0).unwrap().base_offset, 0);
}

#[test]
fn producer_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..10 {
        log.append(idem(0, 4, i * 2, 2), 0).unwrap();
        log.append(plain(3, 1), 0).unwrap();
    }
    let original = log.append(idem(0, 4, 20, 2), 0).unwrap();
    drop(log);
    let mut log = open(dir.path(), small_config());
    let dup = log.append(idem(0, 4, 20, 2), 0).unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, original.base_offset);
    assert!(matches!(
        log.append(idem(0, 4, 30, 1), 0),
        Err(LogError::OutOfOrderSequence(_))
    ));
    assert!(matches!(
        log.append(idem(0, 3, 0, 1), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    assert_eq!(
        log.append(idem(0, 4, 22, 1), 0).unwrap().base_offset,
        original.last_offset + 1
    );
}

#[test]
fn idle_producers_expire_on_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    log.append(idem(5, 0, 0, 1), 1_000).unwrap();
    log.enforce_retention(1_000 + 1_000).unwrap();
    assert_eq!(log.producers.len(), 1);
    log.enforce_retention(1_000 + 24 * 60 * 60 * 1000).unwrap();
    assert_eq!(log.producers.len(), 0);
    // Forgotten: any sequence is accepted again.
    assert!(log.append(idem(5, 0, 77, 1), 0).is_ok());
}
