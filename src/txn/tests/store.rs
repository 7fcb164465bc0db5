use std::collections::BTreeSet;

use crate::log::faults::{self, Point, Rule};
use crate::txn::metadata::{TxnMetadata, TxnPartition};
use crate::txn::state::TxnState;
use crate::txn::store::{Record, Store, FILE_NAME};

fn meta(id: &str, state: TxnState, epoch: i16) -> TxnMetadata {
    let mut m = TxnMetadata::new(id, 3, 60_000, 1_000);
    m.state = state;
    m.producer_epoch = epoch;
    m.partitions = BTreeSet::from([TxnPartition::new("t", 0), TxnPartition::new("ü", 7)]);
    m.groups = BTreeSet::from(["g".to_string()]);
    m.txn_start_ms = 900;
    m.tv2 = true;
    m
}

#[test]
fn records_replay_with_later_ones_replacing_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert!(loaded.is_empty());
    let a1 = meta("a", TxnState::Ongoing, 0);
    let a2 = meta("a", TxnState::PrepareCommit, 0);
    let b = meta("b", TxnState::Empty, 4);
    store
        .append(&[Record::Txn(a1), Record::Txn(b.clone())], true)
        .unwrap();
    store.append(&[Record::Txn(a2.clone())], false).unwrap();
    store
        .append(
            &[
                Record::Txn(meta("c", TxnState::Empty, 0)),
                Record::Tombstone("c".into()),
            ],
            true,
        )
        .unwrap();
    drop(store);
    let (_, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded["a"], a2);
    assert_eq!(loaded["b"], b);
}

#[test]
fn a_torn_tail_is_cut_and_an_undecodable_record_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store
        .append(&[Record::Txn(meta("a", TxnState::Ongoing, 1))], true)
        .unwrap();
    let whole = store.len();
    store
        .append(&[Record::Txn(meta("a", TxnState::PrepareAbort, 1))], true)
        .unwrap();
    drop(store);
    let path = dir.path().join(FILE_NAME);
    let full = std::fs::read(&path).unwrap();
    // Every cut inside the last frame replays to the first record and truncates the rest.
    for cut in whole as usize + 1..full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        let (store, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(loaded["a"].state, TxnState::Ongoing, "cut at {cut}");
        assert_eq!(store.len(), whole);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
    }
    // A frame with a valid checksum this version cannot read is not a torn write.
    let mut bad = full[..whole as usize].to_vec();
    let payload = [99u8, 1, 2];
    bad.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    bad.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    bad.extend_from_slice(&payload);
    std::fs::write(&path, &bad).unwrap();
    let err = Store::open(dir.path(), 1 << 20).unwrap_err();
    assert!(err.to_string().contains("does not decode"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bad, "left as it was");
    std::fs::write(&path, b"NOTATXNLOG").unwrap();
    assert!(Store::open(dir.path(), 1 << 20).is_err());
}

#[test]
fn compaction_keeps_the_live_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1).unwrap();
    for epoch in 0..50 {
        store
            .append(&[Record::Txn(meta("a", TxnState::Ongoing, epoch))], true)
            .unwrap();
        store
            .append(&[Record::Txn(meta("b", TxnState::Empty, epoch))], true)
            .unwrap();
        store.maybe_compact().unwrap();
    }
    store
        .append(&[Record::Tombstone("b".into())], true)
        .unwrap();
    assert!(store.maybe_compact().unwrap() || store.len() < 4_000);
    assert!(!store.is_empty());
    let size = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
    assert!(size < 4_000, "{size}");
    drop(store);
    let (_, loaded) = Store::open(dir.path(), 1).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded["a"].producer_epoch, 49);
}

#[test]
fn a_failed_write_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store
        .append(&[Record::Txn(meta("a", TxnState::Ongoing, 0))], true)
        .unwrap();
    let before = store.len();
    let guard = faults::arm(Rule {
        point: Point::Fsync,
        path: dir.path().to_string_lossy().into_owned(),
        skip: 0,
        every: 1,
        times: 1,
        stall: false,
    });
    assert!(store
        .append(&[Record::Txn(meta("a", TxnState::PrepareCommit, 0))], true)
        .is_err());
    drop(guard);
    assert_eq!(store.len(), before);
    drop(store);
    let (_, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(loaded["a"].state, TxnState::Ongoing);
}

#[test]
fn clear_forgets_every_id_and_later_records_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store
        .append(
            &[
                Record::Txn(meta("a", TxnState::Ongoing, 0)),
                Record::Txn(meta("b", TxnState::Empty, 2)),
            ],
            true,
        )
        .unwrap();
    // A rename that fails leaves the old log, and its ids, in place.
    let guard = faults::arm(Rule {
        point: Point::Rename,
        path: dir.path().to_string_lossy().into_owned(),
        skip: 0,
        every: 1,
        times: 1,
        stall: false,
    });
    assert!(store.clear().is_err());
    drop(guard);
    assert!(!store.is_empty());
    let (_, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(loaded.len(), 2);

    store.clear().unwrap();
    assert!(store.is_empty());
    store
        .append(&[Record::Txn(meta("c", TxnState::Empty, 0))], true)
        .unwrap();
    drop(store);
    let (_, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(loaded.keys().collect::<Vec<_>>(), vec!["c"]);
}

#[test]
fn states_are_refused_while_a_rewritten_log_cannot_be_made_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 1 << 20).unwrap();
    store
        .append(&[Record::Txn(meta("a", TxnState::Ongoing, 0))], true)
        .unwrap();
    let fail = faults::arm(Rule::always(Point::DirSync, dir.path()));
    assert!(store.clear().is_err());
    // The rename is not durable yet: a state written after it could be lost with it.
    assert!(store
        .append(&[Record::Txn(meta("b", TxnState::Ongoing, 0))], true)
        .is_err());
    drop(fail);
    store
        .append(&[Record::Txn(meta("c", TxnState::Ongoing, 0))], true)
        .unwrap();
    drop(store);
    let (_, loaded) = Store::open(dir.path(), 1 << 20).unwrap();
    assert!(!loaded.contains_key("a"), "cleared before the failure");
    assert!(!loaded.contains_key("b"), "refused");
    assert_eq!(loaded["c"].state, TxnState::Ongoing);
}
