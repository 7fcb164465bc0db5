use std::collections::BTreeSet;

use crate::txn::error::TxnError;
use crate::txn::machine::{self, EndStep, InitStep};
use crate::txn::metadata::{TxnMetadata, TxnPartition, NO_EPOCH};
use crate::txn::state::TxnState;

const NOW: i64 = 1_000_000;

fn no_id() -> Result<i64, TxnError> {
    panic!("no producer id should be needed")
}

fn fresh() -> TxnMetadata {
    TxnMetadata::new("tx", 7, 60_000, NOW)
}

fn init(m: &TxnMetadata, expected: Option<(i64, i16)>) -> Result<InitStep, TxnError> {
    machine::init_producer_id(m, 30_000, expected, true, NOW + 1, &mut no_id)
}

fn persisted(step: Result<InitStep, TxnError>) -> TxnMetadata {
    match step {
        Ok(InitStep::Persist(m)) => m,
        other => panic!("expected a state to persist, got {other:?}"),
    }
}

fn parts(names: &[(&str, i32)]) -> BTreeSet<TxnPartition> {
    names
        .iter()
        .map(|(t, p)| TxnPartition::new(*t, *p))
        .collect()
}

/// An id at epoch `epoch` with an open transaction on t-0.
fn ongoing(epoch: i16, tv2: bool) -> TxnMetadata {
    let mut m = fresh();
    m.producer_epoch = epoch;
    machine::add_to_txn(
        &m,
        7,
        epoch,
        &parts(&[("t", 0)]),
        &BTreeSet::new(),
        tv2,
        NOW,
    )
    .unwrap()
    .unwrap()
}

#[test]
fn a_new_id_starts_at_epoch_zero_and_each_init_bumps_it() {
    let m = persisted(init(&fresh(), None));
    assert_eq!(
        (m.producer_id, m.producer_epoch, m.state),
        (7, 0, TxnState::Empty)
    );
    assert_eq!(m.timeout_ms, 30_000);
    let again = persisted(init(&m, None));
    assert_eq!(
        (again.producer_epoch, again.last_producer_epoch),
        (1, NO_EPOCH)
    );
}

#[test]
fn kip_360_resumes_the_same_producer_and_recognises_a_retry() {
    let mut m = persisted(init(&fresh(), None));
    m.producer_epoch = 4;
    let bumped = persisted(init(&m, Some((7, 4))));
    assert_eq!((bumped.producer_epoch, bumped.last_producer_epoch), (5, 4));
    // The response was lost: the retry names epoch 4 again and gets 5 again.
    let retried = persisted(init(&bumped, Some((7, 4))));
    assert_eq!(retried.producer_epoch, 5);
    // Another producer id, or an epoch that is neither, is fenced.
    assert!(matches!(
        init(&bumped, Some((8, 5))),
        Err(TxnError::ProducerFenced(_))
    ));
    assert!(matches!(
        init(&bumped, Some((7, 2))),
        Err(TxnError::ProducerFenced(_))
    ));
}

#[test]
fn exhausted_epochs_rotate_to_a_new_producer_id() {
    let mut m = persisted(init(&fresh(), None));
    m.producer_epoch = i16::MAX - 1;
    let rotated = machine::init_producer_id(&m, 1_000, None, true, NOW, &mut || Ok(99)).unwrap();
    let InitStep::Persist(r) = rotated else {
        panic!("{rotated:?}")
    };
    assert_eq!(
        (r.producer_id, r.producer_epoch, r.prev_producer_id),
        (99, 0, 7)
    );
}

#[test]
fn init_on_an_open_transaction_fences_and_aborts_it() {
    let m = ongoing(3, false);
    let Ok(InitStep::FenceAndAbort(abort)) =
        machine::init_producer_id(&m, 1_000, None, false, NOW, &mut no_id)
    else {
        panic!("expected a fence")
    };
    assert_eq!(
        (abort.state, abort.producer_epoch),
        (TxnState::PrepareAbort, 4)
    );
    assert_eq!(abort.partitions, m.partitions);
    // With transactions v2 the abort bumps once more, past the fence.
    let Ok(InitStep::FenceAndAbort(abort)) =
        machine::init_producer_id(&m, 1_000, None, true, NOW, &mut no_id)
    else {
        panic!("expected a fence")
    };
    assert_eq!(abort.producer_epoch, 5);
    let mut preparing = m.clone();
    preparing.state = TxnState::PrepareCommit;
    assert!(matches!(
        init(&preparing, None),
        Err(TxnError::ConcurrentTransactions)
    ));
}

#[test]
fn add_checks_the_producer_and_starts_the_transaction_clock_once() {
    let mut m = persisted(init(&fresh(), None));
    let none = BTreeSet::new();
    assert!(matches!(
        machine::add_to_txn(&m, 8, 0, &parts(&[("t", 0)]), &none, false, NOW),
        Err(TxnError::InvalidProducerIdMapping(8))
    ));
    assert!(matches!(
        machine::add_to_txn(&m, 7, 1, &parts(&[("t", 0)]), &none, false, NOW),
        Err(TxnError::ProducerFenced(_))
    ));
    m = machine::add_to_txn(&m, 7, 0, &parts(&[("t", 0)]), &none, false, NOW + 5)
        .unwrap()
        .unwrap();
    assert_eq!((m.state, m.txn_start_ms), (TxnState::Ongoing, NOW + 5));
    assert_eq!(
        machine::add_to_txn(&m, 7, 0, &parts(&[("t", 0)]), &none, false, NOW + 9).unwrap(),
        None,
        "nothing new to persist"
    );
    let groups = BTreeSet::from(["g".to_string()]);
    let more = machine::add_to_txn(&m, 7, 0, &parts(&[("u", 1)]), &groups, false, NOW + 9)
        .unwrap()
        .unwrap();
    assert_eq!(more.txn_start_ms, NOW + 5);
    assert_eq!(more.partitions.len(), 2);
    assert!(more.groups.contains("g"));
}

#[test]
fn transactions_v1_end_table() {
    let m = ongoing(2, false);
    let end = |m: &TxnMetadata, commit: bool, epoch: i16| {
        machine::end_txn(m, 7, epoch, commit, false, NOW, &mut no_id)
    };
    let Ok(EndStep::End(prepare)) = end(&m, true, 2) else {
        panic!()
    };
    assert_eq!(
        (prepare.state, prepare.producer_epoch),
        (TxnState::PrepareCommit, 2)
    );
    assert!(matches!(end(&m, true, 1), Err(TxnError::ProducerFenced(_))));
    assert!(matches!(
        machine::end_txn(&m, 8, 2, true, false, NOW, &mut no_id),
        Err(TxnError::InvalidProducerIdMapping(8))
    ));
    assert!(matches!(
        end(&prepare, true, 2),
        Err(TxnError::ConcurrentTransactions)
    ));
    assert!(matches!(
        end(&prepare, false, 2),
        Err(TxnError::InvalidTxnState(_))
    ));
    let done = machine::complete(&prepare, NOW);
    assert_eq!(done.state, TxnState::CompleteCommit);
    assert!(done.partitions.is_empty());
    // A retried commit succeeds again; an abort after a commit is refused.
    assert!(matches!(
        end(&done, true, 2),
        Ok(EndStep::Done { epoch: 2, .. })
    ));
    assert!(matches!(
        end(&done, false, 2),
        Err(TxnError::InvalidTxnState(_))
    ));
    let empty = persisted(init(&fresh(), None));
    assert!(matches!(
        machine::end_txn(&empty, 7, 0, false, false, NOW, &mut no_id),
        Err(TxnError::InvalidTxnState(_))
    ));
}

#[test]
fn transactions_v2_bump_the_epoch_at_every_end() {
    let m = ongoing(2, true);
    let end = |m: &TxnMetadata, commit: bool, epoch: i16| {
        machine::end_txn(m, 7, epoch, commit, true, NOW, &mut no_id)
    };
    let Ok(EndStep::End(prepare)) = end(&m, true, 2) else {
        panic!()
    };
    assert_eq!(
        (prepare.producer_epoch, prepare.last_producer_epoch),
        (3, 2)
    );
    // A retry (the old epoch) while the markers are written is told to wait.
    assert!(matches!(
        end(&prepare, true, 2),
        Err(TxnError::ConcurrentTransactions)
    ));
    let done = machine::complete(&prepare, NOW);
    assert_eq!(
        (done.state, done.producer_epoch),
        (TxnState::CompleteCommit, 3)
    );
    // Kafka's table: Retry = the old epoch, Current = the new one.
    assert!(matches!(
        end(&done, true, 2),
        Ok(EndStep::Done { epoch: 3, .. })
    ));
    assert!(matches!(
        end(&done, true, 3),
        Err(TxnError::InvalidTxnState(_))
    ));
    assert!(matches!(
        end(&done, false, 2),
        Err(TxnError::InvalidTxnState(_))
    ));
    let Ok(EndStep::End(abort)) = end(&done, false, 3) else {
        panic!()
    };
    assert_eq!(
        (abort.state, abort.producer_epoch),
        (TxnState::PrepareAbort, 4)
    );
    assert!(abort.partitions.is_empty(), "an abort with nothing added");
    assert!(matches!(
        end(&done, true, 1),
        Err(TxnError::ProducerFenced(_))
    ));
    let empty = persisted(init(&fresh(), None));
    assert!(matches!(
        machine::end_txn(&empty, 7, 0, true, true, NOW, &mut no_id),
        Err(TxnError::InvalidTxnState(_))
    ));
    assert!(matches!(
        machine::end_txn(&empty, 7, 0, false, true, NOW, &mut no_id),
        Ok(EndStep::End(_))
    ));
}

#[test]
fn transactions_v2_move_to_the_next_producer_id_at_the_last_epoch() {
    let m = ongoing(i16::MAX - 1, true);
    let Ok(EndStep::End(prepare)) =
        machine::end_txn(&m, 7, i16::MAX - 1, true, true, NOW, &mut || Ok(42))
    else {
        panic!()
    };
    assert_eq!(prepare.next_producer_id, 42);
    let done = machine::complete(&prepare, NOW);
    assert_eq!((done.producer_id, done.producer_epoch), (42, 0));
    assert_eq!(done.prev_producer_id, 7);
    // The retry from the old producer id is recognised.
    assert!(matches!(
        machine::end_txn(&done, 7, i16::MAX - 1, true, true, NOW, &mut no_id),
        Ok(EndStep::Done {
            producer_id: 42,
            epoch: 0
        })
    ));
}

#[test]
fn verify_and_timers() {
    let m = ongoing(0, false);
    assert!(machine::verify(&m, 7, 0, &TxnPartition::new("t", 0)).is_ok());
    assert!(matches!(
        machine::verify(&m, 7, 0, &TxnPartition::new("t", 1)),
        Err(TxnError::TransactionAbortable)
    ));
    assert!(!machine::timed_out(&m, NOW + 60_000));
    assert!(machine::timed_out(&m, NOW + 60_001));
    let fenced = machine::fence_and_abort(&m, false, NOW).unwrap();
    assert_eq!(
        (fenced.state, fenced.producer_epoch),
        (TxnState::PrepareAbort, 1)
    );
    let idle = machine::complete(&fenced, NOW);
    assert!(!machine::expired(&idle, NOW + 999, 1_000));
    assert!(machine::expired(&idle, NOW + 1_000, 1_000));
    assert!(
        !machine::expired(&m, NOW + 10_000, 1_000),
        "open ones never expire"
    );
}
