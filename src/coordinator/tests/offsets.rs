//! Offsets: commit rules, fetch, OffsetDelete, DeleteGroups, retention.

use super::*;

#[test]
fn standalone_commit_creates_a_simple_group() {
    let mut h = H::new();
    let r = h.commit(-1, "", &[("t", 0, 42), ("t", 1, 7)], T0);
    assert!(r.iter().all(Result::is_ok));
    assert!(h.g.exists());
    assert_eq!(h.g.state(), GroupState::Empty);
    assert_eq!(h.records().len(), 2);
    let f =
        h.g.fetch_offsets(Some(vec![("t".into(), vec![0, 5])]), false);
    assert_eq!(
        f,
        vec![
            FetchedOffset {
                topic: "t".into(),
                partition: 0,
                offset: 42,
                leader_epoch: 1,
                metadata: "md42".into(),
                unstable: false,
            },
            FetchedOffset {
                topic: "t".into(),
                partition: 5,
                offset: -1,
                leader_epoch: -1,
                metadata: String::new(),
                unstable: false,
            },
        ]
    );
    assert_eq!(h.g.fetch_offsets(None, true).len(), 2);
    let l = h.g.listing().unwrap();
    assert_eq!(
        (l.protocol_type.as_str(), l.state),
        ("", GroupState::Empty.as_str())
    );
}

#[test]
fn commit_to_a_missing_group_with_a_generation_is_illegal() {
    let mut h = H::new();
    assert_err!(
        h.commit_default(3, "m1", &[("t", 0, 1)]).remove(0),
        GroupError::IllegalGeneration
    );
    assert!(!h.g.exists());
}

impl H {
    // Sugar for the test above (default time).
    fn commit_default(
        &mut self,
        generation: i32,
        member: &str,
        parts: &[(&str, i32, i64)],
    ) -> Vec<Result<(), GroupError>> {
        self.commit(generation, member, parts, T0)
    }
}

#[test]
fn commit_rules_for_members() {
    let mut h = H::new();
    let a = h.join(req(""), T0);
    let b = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    // CompletingRebalance
    assert_err!(
        h.commit(1, "m1", &[("t", 0, 1)], now).remove(0),
        GroupError::RebalanceInProgress
    );
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    h.records();
    // Stable
    assert!(h.commit(1, "m1", &[("t", 0, 5)], now).remove(0).is_ok());
    assert_err!(
        h.commit(0, "m1", &[("t", 0, 6)], now).remove(0),
        GroupError::IllegalGeneration
    );
    assert_err!(
        h.commit(1, "ghost", &[("t", 0, 6)], now).remove(0),
        GroupError::UnknownMemberId
    );
    assert_err!(
        h.commit(-1, "", &[("t", 0, 6)], now).remove(0),
        GroupError::UnknownMemberId
    );
    assert_eq!(h.g.offsets().get("t", 0).unwrap().offset, 5);
    // PreparingRebalance: the previous generation may still commit.
    h.join(req(""), now + 1);
    assert!(h.commit(1, "m2", &[("t", 1, 9)], now + 1).remove(0).is_ok());
    assert_eq!(h.records().len(), 2);
}

#[test]
fn commit_metadata_too_large_is_rejected_per_partition() {
    let mut h = H::new();
    let r = CommitRequest {
        group_id: "g".into(),
        generation_id: -1,
        partitions: vec![
            CommitPartition {
                topic: "t".into(),
                partition: 0,
                offset: 1,
                leader_epoch: -1,
                metadata: Some("x".repeat(4097)),
            },
            CommitPartition {
                topic: "t".into(),
                partition: 1,
                offset: 1,
                leader_epoch: -1,
                metadata: None,
            },
        ],
        ..CommitRequest::default()
    };
    let res = h.g.commit_offsets(r, T0, &mut h.out);
    assert_err!(res[0].result.clone(), GroupError::OffsetMetadataTooLarge);
    assert!(res[1].result.is_ok());
    assert_eq!(h.g.offsets().get("t", 1).unwrap().metadata, "");
    assert!(h.g.offsets().get("t", 0).is_none());
}

#[test]
fn undo_restores_offsets_after_a_failed_write() {
    let mut h = H::new();
    h.commit(-1, "", &[("t", 0, 1)], T0);
    h.out = Effects::default();
    h.commit(-1, "", &[("t", 0, 2), ("u", 0, 3)], T0);
    let undo = std::mem::take(&mut h.out.undo_offsets);
    h.g.undo_offsets(undo);
    assert_eq!(h.g.offsets().get("t", 0).unwrap().offset, 1);
    assert!(h.g.offsets().get("u", 0).is_none());
}

#[test]
fn delete_offsets_refuses_subscribed_topics() {
    let mut missing = H::new();
    assert_err!(
        missing.g.delete_offsets(vec![], &mut missing.out),
        GroupError::GroupIdNotFound
    );

    let (mut h, now) = stable(1); // subscribed to "t"
    h.commit(1, "m1", &[("t", 0, 1), ("old", 0, 2)], now);
    h.records();
    let r =
        h.g.delete_offsets(
            vec![("t".into(), vec![0]), ("old".into(), vec![0, 1])],
            &mut h.out,
        )
        .unwrap();
    assert_err!(r[0].result.clone(), GroupError::GroupSubscribedToTopic);
    assert!(r[1].result.is_ok() && r[2].result.is_ok());
    assert!(h.g.offsets().get("old", 0).is_none());
    assert!(h.g.offsets().get("t", 0).is_some());
    assert_eq!(
        h.records().len(),
        1,
        "a tombstone only for the offset that existed"
    );
}

#[test]
fn delete_offsets_with_garbage_subscriptions_and_other_protocols() {
    let mut h = H::new();
    let t = h.join(
        with_protocols(req(""), &[("range", Bytes::from_static(b"\xff"))]),
        T0,
    );
    h.finish_round();
    h.joined(t);
    h.g.offsets_mut().put(
        "t",
        0,
        CommittedOffset {
            offset: 1,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: T0,
        },
    );
    let r =
        h.g.delete_offsets(vec![("t".into(), vec![0])], &mut h.out)
            .unwrap();
    assert!(
        r[0].result.is_ok(),
        "unreadable subscriptions subscribe to nothing"
    );

    let mut c = H::new();
    let t = c.join(
        JoinRequest {
            protocol_type: "connect".into(),
            ..req("")
        },
        T0,
    );
    c.finish_round();
    c.joined(t);
    assert_err!(
        c.g.delete_offsets(vec![("t".into(), vec![0])], &mut c.out),
        GroupError::NonEmptyGroup
    );
}

#[test]
fn delete_group_rules() {
    let mut missing = H::new();
    assert_err!(
        missing.g.delete_group(T0, &mut missing.out),
        GroupError::GroupIdNotFound
    );

    let (mut h, now) = stable(1);
    assert_err!(h.g.delete_group(now, &mut h.out), GroupError::NonEmptyGroup);
    h.commit(1, "m1", &[("t", 0, 1)], now);
    h.leave("m1", None, now).unwrap();
    assert_eq!(h.g.state(), GroupState::Empty);
    h.records();
    h.g.delete_group(now, &mut h.out).unwrap();
    assert_eq!(h.g.state(), GroupState::Dead);
    assert!(h.g.is_gone());
    assert!(h.g.offsets().is_empty());
    assert_eq!(
        h.records(),
        vec![Record::GroupTombstone {
            group_id: "g".into()
        }]
    );
    assert_err!(
        h.g.delete_group(now, &mut h.out),
        GroupError::GroupIdNotFound
    );
    assert_eq!(h.g.describe().state, GroupState::Dead.as_str());
    assert!(h.g.listing().is_none());
}

#[test]
fn dead_group_answers_coordinator_not_available() {
    let mut h = H::new();
    h.commit(-1, "", &[("t", 0, 1)], T0);
    h.g.delete_group(T0, &mut h.out).unwrap();
    let t = h.join(req(""), T0);
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::CoordinatorNotAvailable
    );
    assert_err!(
        h.commit(-1, "", &[("t", 0, 1)], T0).remove(0),
        GroupError::CoordinatorNotAvailable
    );
    assert_err!(h.hb("m1", 0, T0), GroupError::CoordinatorNotAvailable);
    assert_err!(
        h.g.leave(vec![], T0, &mut h.out),
        GroupError::CoordinatorNotAvailable
    );
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention_and_the_group_dies() {
    let retention = 1_000_000;
    let mut h = H::with(GroupConfig {
        offsets_retention_ms: retention,
        offsets_retention_check_interval_ms: 1_000,
        ..cfg()
    });
    let t = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(t);
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    h.commit(1, "m1", &[("t", 0, 1)], now);
    h.leave("m1", None, now + 10).unwrap();
    let empty_since = now + 10;
    h.records();
    h.g.expire_offsets(empty_since + retention - 1, &mut h.out);
    assert!(h.g.offsets().get("t", 0).is_some());
    h.g.expire_offsets(empty_since + retention, &mut h.out);
    assert!(h.g.offsets().is_empty());
    assert_eq!(h.g.state(), GroupState::Dead);
    assert_eq!(
        h.records(),
        vec![
            Record::OffsetTombstone {
                group_id: "g".into(),
                topic: "t".into(),
                partition: 0
            },
            Record::GroupTombstone {
                group_id: "g".into()
            },
        ]
    );
}

#[test]
fn simple_group_offsets_expire_by_commit_time_via_the_periodic_check() {
    let mut h = H::with(GroupConfig {
        offsets_retention_ms: 100_000,
        offsets_retention_check_interval_ms: 10_000,
        ..cfg()
    });
    h.commit(-1, "", &[("t", 0, 1)], T0);
    h.commit(-1, "", &[("t", 1, 1)], T0 + 50_000);
    assert_eq!(h.g.next_deadline(), Some(T0 + 10_000));
    h.tick(T0 + 100_000);
    assert!(h.g.offsets().get("t", 0).is_none());
    assert!(h.g.offsets().get("t", 1).is_some());
    assert_eq!(h.g.state(), GroupState::Empty);
    h.tick(T0 + 160_000);
    assert_eq!(h.g.state(), GroupState::Dead);
}

#[test]
fn stable_consumer_group_keeps_offsets_of_subscribed_topics() {
    let (mut h, now) = stable(1);
    h.commit(1, "m1", &[("t", 0, 1), ("gone", 0, 1)], now);
    let later = now + cfg().offsets_retention_ms;
    h.g.expire_offsets(later, &mut h.out);
    assert!(h.g.offsets().get("t", 0).is_some());
    assert!(h.g.offsets().get("gone", 0).is_none());
    assert_eq!(h.g.state(), GroupState::Stable);
}

#[test]
fn stable_group_with_unreadable_subscriptions_keeps_its_offsets() {
    let mut h = H::new();
    let t = h.join(
        with_protocols(req(""), &[("range", Bytes::from_static(b"garbage"))]),
        T0,
    );
    let now = h.finish_round();
    h.joined(t);
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    h.commit(1, "m1", &[("gone", 0, 1)], now);
    h.g.expire_offsets(now + cfg().offsets_retention_ms, &mut h.out);
    assert!(h.g.offsets().get("gone", 0).is_some());
}
