//! Offsets committed in transactions: pending until the transaction ends, then applied or
//! dropped; UNSTABLE_OFFSET_COMMIT for fetches that require stable offsets meanwhile.

use super::*;

fn txn_commit(
    h: &mut H,
    pid: i64,
    generation: i32,
    member: &str,
    parts: &[(&str, i32, i64)],
) -> Vec<Result<(), GroupError>> {
    let r = TxnCommitRequest {
        group_id: "g".into(),
        producer_id: pid,
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
        partitions: parts
            .iter()
            .map(|(t, p, o)| CommitPartition {
                topic: t.to_string(),
                partition: *p,
                offset: *o,
                leader_epoch: -1,
                metadata: None,
            })
            .collect(),
    };
    let verdict = h.g.validate_txn_commit(&r);
    h.g.commit_txn_offsets(r, verdict, T0, &mut h.out)
        .into_iter()
        .map(|r| r.result)
        .collect()
}

fn fetched(h: &H, stable: bool) -> Vec<(i64, bool)> {
    h.g.fetch_offsets(Some(vec![("t".into(), vec![0, 1])]), stable)
        .into_iter()
        .map(|o| (o.offset, o.unstable))
        .collect()
}

#[test]
fn pending_offsets_become_visible_only_on_commit() {
    let mut h = H::new();
    h.commit(-1, "", &[("t", 0, 5)], T0);
    h.records();
    assert!(txn_commit(&mut h, 7, -1, "", &[("t", 0, 9), ("t", 1, 3)])
        .iter()
        .all(Result::is_ok));
    assert!(matches!(
        h.records()[..],
        [Record::TxnOffset { .. }, Record::TxnOffset { .. }]
    ));
    assert_eq!(fetched(&h, false), vec![(5, false), (-1, false)]);
    assert_eq!(fetched(&h, true), vec![(-1, true), (-1, true)]);

    h.g.complete_txn(7, true, &mut h.out);
    let records = h.records();
    assert!(matches!(
        records.last(),
        Some(Record::TxnOffsetsEnd {
            producer_id: 7,
            commit: true,
            ..
        })
    ));
    assert_eq!(records.len(), 3, "two offsets applied, then the end");
    assert_eq!(fetched(&h, true), vec![(9, false), (3, false)]);
    // Settling again (a coordinator retry) changes nothing.
    h.g.complete_txn(7, true, &mut h.out);
    assert!(h.records().is_empty());
}

#[test]
fn an_abort_drops_pending_offsets_and_a_failed_write_is_undone() {
    let mut h = H::new();
    txn_commit(&mut h, 7, -1, "", &[("t", 0, 9)]);
    txn_commit(&mut h, 8, -1, "", &[("t", 1, 4)]);
    h.records();
    h.g.complete_txn(7, false, &mut h.out);
    assert_eq!(h.records().len(), 1);
    assert_eq!(fetched(&h, true), vec![(-1, false), (-1, true)]);
    // A commit whose write failed is undone: 8's offsets are pending again.
    h.out = Effects::default();
    h.g.complete_txn(8, true, &mut h.out);
    let undo_offsets = std::mem::take(&mut h.out.undo_offsets);
    let undo_pending = std::mem::take(&mut h.out.undo_pending);
    h.g.undo_offsets(undo_offsets);
    h.g.undo_pending(undo_pending);
    assert_eq!(fetched(&h, true), vec![(-1, false), (-1, true)]);
}

#[test]
fn transactional_commits_check_member_and_generation() {
    let (mut h, _) = stable(1);
    h.records();
    assert!(matches!(
        txn_commit(&mut h, 7, 1, "nobody", &[("t", 0, 1)])[0],
        Err(GroupError::UnknownMemberId)
    ));
    assert!(matches!(
        txn_commit(&mut h, 7, 5, "m1", &[("t", 0, 1)])[0],
        Err(GroupError::IllegalGeneration)
    ));
    assert!(txn_commit(&mut h, 7, 1, "m1", &[("t", 0, 1)])[0].is_ok());
    // Older clients send neither: accepted, as Kafka does for transactional commits.
    assert!(txn_commit(&mut h, 7, -1, "", &[("t", 0, 2)])[0].is_ok());
    let mut fresh = H::new();
    assert!(matches!(
        txn_commit(&mut fresh, 7, 3, "m", &[("t", 0, 1)])[0],
        Err(GroupError::IllegalGeneration)
    ));
}

#[test]
fn a_group_with_pending_offsets_is_restored_with_them() {
    let loaded = LoadedGroup {
        metadata: None,
        offsets: vec![],
        pending: vec![(
            7,
            "t".into(),
            1,
            CommittedOffset {
                offset: 11,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp_ms: T0,
            },
        )],
        consumer: None,
    };
    let mut g = Group::restore("g", cfg(), loaded, T0);
    assert!(g.has_pending_txn_offset("t", 1));
    let mut out = Effects::default();
    g.complete_txn(7, true, &mut out);
    assert_eq!(g.offsets().get("t", 1).unwrap().offset, 11);
}
