use super::*;
use crate::log::{AbortedTxn, LogError, Marker, Outcome, MARKER_BATCH_LEN};

fn txn(pid: i64, epoch: i16, seq: i32, count: usize) -> Bytes {
    Spec {
        transactional: true,
        ..Spec::idempotent(pid, epoch, seq, count)
    }
    .encode()
}

fn marker(pid: i64, epoch: i16, outcome: Outcome) -> Marker {
    Marker {
        producer_id: pid,
        producer_epoch: epoch,
        outcome,
        coordinator_epoch: 0,
    }
}

/// (offset, is a control record) of every record in the log.
fn records(log: &PartitionLog) -> Vec<(i64, bool)> {
    let mut buf = log.read(log.log_start_offset(), usize::MAX).unwrap();
    RecordBatchDecoder::decode_all(&mut buf)
        .unwrap()
        .iter()
        .flat_map(|set| set.records.iter().map(|r| (r.offset, r.control)))
        .collect()
}

#[test]
fn a_transactional_batch_needs_the_coordinator_and_holds_the_last_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    assert!(matches!(
        log.append(txn(1, 0, 0, 2), 0),
        Err(LogError::InvalidTxnState(_))
    ));
    log.append(plain(3, 1), 0).unwrap();
    log.verify_transaction(1, 0);
    assert_eq!(log.append(txn(1, 0, 0, 2), 0).unwrap().base_offset, 3);
    log.append(plain(1, 1), 0).unwrap();
    log.append(txn(1, 0, 2, 1), 0).unwrap();
    assert_eq!(log.last_stable_offset(), 3);
    assert!(log.has_open_transaction(1));
    // A read below the last stable offset stops there.
    let bytes = log.plan_read(0, usize::MAX, 3).unwrap().read().unwrap();
    assert_eq!(decode(&bytes).len(), 3);
    assert!(log
        .plan_read(3, usize::MAX, 3)
        .unwrap()
        .read()
        .unwrap()
        .is_empty());

    let committed = log
        .append_marker(&marker(1, 0, Outcome::Commit), 0)
        .unwrap();
    assert_eq!(committed.base_offset, 7);
    assert_eq!(log.last_stable_offset(), 8);
    assert!(!log.has_open_transaction(1));
    assert!(log.aborted_transactions(0, 8).is_empty());
    assert_eq!(records(&log).last(), Some(&(7, true)));
    // The marker ended the transaction: the next one needs the coordinator again.
    assert!(matches!(
        log.append(txn(1, 0, 3, 1), 0),
        Err(LogError::InvalidTxnState(_))
    ));
}

#[test]
fn an_abort_is_indexed_with_the_transactions_first_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.verify_transaction(1, 0);
    log.verify_transaction(2, 0);
    log.append(txn(1, 0, 0, 2), 0).unwrap(); // 0-1
    log.append(txn(2, 0, 0, 2), 0).unwrap(); // 2-3
    log.append(txn(1, 0, 2, 1), 0).unwrap(); // 4
    log.append_marker(&marker(1, 0, Outcome::Abort), 0).unwrap(); // 5
    assert_eq!(log.last_stable_offset(), 2, "producer 2 is still open");
    log.append_marker(&marker(2, 0, Outcome::Commit), 0)
        .unwrap(); // 6
    assert_eq!(log.last_stable_offset(), 7);
    let aborted = AbortedTxn {
        producer_id: 1,
        first_offset: 0,
        last_offset: 5,
        last_stable_offset: 2,
    };
    assert_eq!(log.aborted_transactions(0, 7), vec![aborted]);
    assert_eq!(log.aborted_transactions(4, 5), vec![aborted]);
    assert_eq!(log.aborted_transactions(6, 7), vec![]);
}

#[test]
fn a_producer_with_an_open_transaction_writes_only_transactional_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.verify_transaction(4, 2);
    log.append(txn(4, 2, 0, 1), 0).unwrap();
    assert!(matches!(
        log.append(Spec::idempotent(4, 2, 1, 1).encode(), 0),
        Err(LogError::InvalidTxnState(_))
    ));
    // A zombie with an older epoch is fenced, one with a newer epoch cannot join.
    assert!(matches!(
        log.append(txn(4, 1, 0, 1), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    assert!(matches!(
        log.append(txn(4, 3, 0, 1), 0),
        Err(LogError::InvalidTxnState(_))
    ));
}

#[test]
fn a_marker_with_a_new_epoch_fences_the_old_one_and_restarts_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.verify_transaction(9, 0);
    log.append(txn(9, 0, 0, 3), 0).unwrap();
    // Transactions v2: the coordinator ends the transaction with the next epoch.
    log.append_marker(&marker(9, 1, Outcome::Commit), 0)
        .unwrap();
    assert!(matches!(
        log.append_marker(&marker(9, 0, Outcome::Abort), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    log.verify_transaction(9, 1);
    assert!(matches!(
        log.append(txn(9, 0, 3, 1), 0),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    assert!(matches!(
        log.append(txn(9, 1, 3, 1), 0),
        Err(LogError::OutOfOrderSequence(_))
    ));
    log.append(txn(9, 1, 0, 1), 0).unwrap();
    let older_coordinator = Marker {
        coordinator_epoch: -1,
        ..marker(9, 1, Outcome::Commit)
    };
    log.append_marker(&marker(9, 1, Outcome::Commit), 0)
        .unwrap();
    assert!(matches!(
        log.append_marker(&older_coordinator, 0),
        Err(LogError::CoordinatorFenced(_))
    ));
}

#[test]
fn a_marker_for_a_producer_that_wrote_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.append(plain(2, 1), 0).unwrap();
    log.append_marker(&marker(5, 0, Outcome::Abort), 0).unwrap();
    assert_eq!(log.log_end_offset(), 3);
    assert_eq!(log.last_stable_offset(), 3);
    assert_eq!(
        log.aborted_transactions(0, 3),
        vec![AbortedTxn {
            producer_id: 5,
            first_offset: 2,
            last_offset: 2,
            last_stable_offset: 3
        }]
    );
}

/// Many transactions over small segments, a tenth of them aborted: returns the log, its
/// aborted transactions as a reference list, and the producers still open.
fn mixed_log(dir: &Path) -> (PartitionLog, Vec<AbortedTxn>) {
    let mut log = open(dir, small_config());
    let mut aborted = Vec::new();
    let mut seq = [0i32; 3];
    let mut first: [Option<i64>; 3] = [None; 3];
    for round in 0..40 {
        let pid = round % 3;
        let p = pid as usize;
        log.verify_transaction(pid, 0);
        let at = log.append(txn(pid, 0, seq[p], 2), 0).unwrap().base_offset;
        seq[p] += 2;
        first[p].get_or_insert(at);
        log.append(plain(1, 1), 0).unwrap();
        if round % 4 == 3 {
            let outcome = if round % 10 == 3 {
                Outcome::Abort
            } else {
                Outcome::Commit
            };
            let end = log.append_marker(&marker(pid, 0, outcome), 0).unwrap();
            let started = first[p].take().unwrap();
            if outcome == Outcome::Abort {
                aborted.push(AbortedTxn {
                    producer_id: pid,
                    first_offset: started,
                    last_offset: end.base_offset,
                    last_stable_offset: log.last_stable_offset(),
                });
            }
        }
    }
    (log, aborted)
}

#[test]
fn aborted_transactions_span_segments_and_match_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (log, aborted) = mixed_log(dir.path());
    assert!(log.segment_count() > 5, "{}", log.segment_count());
    assert!(aborted.len() >= 2);
    let end = log.last_stable_offset();
    for from in 0..end {
        for upper in from + 1..=end {
            let expected: Vec<AbortedTxn> = aborted
                .iter()
                .filter(|a| a.last_offset >= from && a.first_offset < upper)
                .copied()
                .collect();
            assert_eq!(
                log.aborted_transactions(from, upper),
                expected,
                "[{from}, {upper})"
            );
        }
    }
}

#[test]
fn reopening_rebuilds_open_transactions_and_the_aborted_index() {
    let dir = tempfile::tempdir().unwrap();
    let (log, aborted) = mixed_log(dir.path());
    let (stable, end) = (log.last_stable_offset(), log.log_end_offset());
    let all = log.aborted_transactions(0, end);
    assert_eq!(all, aborted);
    let producers = log.producers();
    assert!(stable < end, "some transaction is still open");
    drop(log);
    // Index files of sealed segments are trusted; a corrupt or missing one is rebuilt.
    let txn_files: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".txnindex"))
        .collect();
    assert!(!txn_files.is_empty());
    std::fs::write(dir.path().join(&txn_files[0]), b"garbage").unwrap();
    if let Some(second) = txn_files.get(1) {
        std::fs::remove_file(dir.path().join(second)).unwrap();
    }
    let log = open(dir.path(), small_config());
    assert_eq!(
        (log.last_stable_offset(), log.log_end_offset()),
        (stable, end)
    );
    assert_eq!(log.aborted_transactions(0, end), aborted);
    assert_eq!(log.producers(), producers);
    let rebuilt = std::fs::read(dir.path().join(&txn_files[0])).unwrap();
    assert_eq!(rebuilt.len() % 34, 0);
}

#[test]
fn a_torn_marker_leaves_its_transaction_open_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    log.verify_transaction(3, 0);
    log.append(txn(3, 0, 0, 2), 0).unwrap();
    log.append_marker(&marker(3, 0, Outcome::Abort), 0).unwrap();
    assert_eq!(log.aborted_transactions(0, 3).len(), 1);
    drop(log);
    let seg = dir.path().join("00000000000000000000.log");
    let len = std::fs::metadata(&seg).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    file.set_len(len - (MARKER_BATCH_LEN as u64) / 2).unwrap();
    drop(file);
    let mut log = open(dir.path(), LogConfig::default());
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(
        log.last_stable_offset(),
        0,
        "the abort was lost with the torn tail"
    );
    assert!(log.aborted_transactions(0, 2).is_empty());
    // The coordinator writes the marker again.
    log.append_marker(&marker(3, 0, Outcome::Abort), 0).unwrap();
    assert_eq!(log.last_stable_offset(), 3);
    assert_eq!(log.aborted_transactions(0, 3).len(), 1);
}

#[test]
fn retention_below_an_open_transaction_keeps_it_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    log.verify_transaction(1, 0);
    log.append(txn(1, 0, 0, 1), 0).unwrap();
    for _ in 0..20 {
        log.append(plain(3, 1), 0).unwrap();
    }
    log.delete_records_before(10).unwrap();
    assert_eq!(log.last_stable_offset(), 10);
    log.append_marker(&marker(1, 0, Outcome::Commit), 0)
        .unwrap();
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
}
