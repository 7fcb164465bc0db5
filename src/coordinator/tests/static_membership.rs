//! Static membership (KIP-345).

use super::*;

#[test]
fn static_follower_restart_keeps_its_assignment_without_rebalance() {
    let (mut h, now) = stable_static();
    let t = h.join(static_req("", "i2"), now + 100);
    let r = h.joined(t);
    assert_eq!(h.g.state(), GroupState::Stable);
    assert_eq!(r.member_id, "m3");
    assert_eq!(
        (
            r.generation_id,
            r.leader.as_str(),
            r.members.len(),
            r.skip_assignment
        ),
        (1, "m1", 0, false)
    );
    assert!(
        matches!(h.records().as_slice(), [Record::Group { .. }]),
        "the replacement is persisted"
    );
    let s = h.sync("m3", 1, &[], now + 101);
    assert_eq!(h.synced(s), Bytes::from("a2"));
    // The old member id is fenced.
    assert_err!(
        h.hb_static("m2", "i2", 1, now + 102),
        GroupError::FencedInstanceId
    );
    assert_err!(h.hb("m2", 1, now + 102), GroupError::UnknownMemberId);
    h.hb_static("m3", "i2", 1, now + 102).unwrap();
    h.ticket += 1;
    let old_sync = SyncRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: "m2".into(),
        group_instance_id: Some("i2".into()),
        ..SyncRequest::default()
    };
    h.g.sync(old_sync, h.ticket, now + 102, &mut h.out);
    assert_err!(
        h.sync_reply(h.ticket).unwrap(),
        GroupError::FencedInstanceId
    );
    let t = h.join(static_req("m2", "i2"), now + 103);
    assert_err!(h.join_reply(t).unwrap(), GroupError::FencedInstanceId);
    // The leader was not disturbed.
    h.hb_static("m1", "i1", 1, now + 104).unwrap();
}

#[test]
fn static_leader_restart_v9_is_told_to_skip_assignment() {
    let (mut h, now) = stable_static();
    let t = h.join(static_req("", "i1"), now + 100);
    let r = h.joined(t);
    assert_eq!(h.g.state(), GroupState::Stable);
    assert_eq!(r.leader, r.member_id);
    assert!(r.skip_assignment);
    assert_eq!(r.members.len(), 2);
    assert_eq!(h.g.leader(), Some(r.member_id.as_str()));
}

#[test]
fn static_leader_restart_before_v9_is_told_the_old_leader() {
    let (mut h, now) = stable_static();
    let t = h.join(
        JoinRequest {
            supports_skip_assignment: false,
            ..static_req("", "i1")
        },
        now + 100,
    );
    let r = h.joined(t);
    assert_eq!(r.leader, "m1");
    assert_ne!(r.member_id, "m1");
    assert!(!r.skip_assignment && r.members.is_empty());
    let s = h.sync(&r.member_id, 1, &[], now + 101);
    assert_eq!(h.synced(s), Bytes::from("a1"));
}

#[test]
fn static_rejoin_that_changes_the_protocol_rebalances() {
    let (mut h, now) = stable_static();
    let t = h.join(
        with_protocols(
            static_req("", "i2"),
            &[("sticky", Bytes::new()), ("range", sub(&["t"]))],
        ),
        now + 1,
    );
    // m1 does not support sticky: range stays, no rebalance.
    assert!(h.join_reply(t).is_some());
    let t = h.join(
        with_protocols(
            static_req("", "i1"),
            &[("sticky", Bytes::new()), ("range", sub(&["t"]))],
        ),
        now + 2,
    );
    assert!(h.join_reply(t).is_none(), "sticky now wins: rebalance");
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
}

#[test]
fn static_rejoin_while_completing_rebalance_rebalances_and_fences_the_parked_sync() {
    let mut h = H::new();
    let a = h.join(static_req("", "i1"), T0);
    let b = h.join(static_req("", "i2"), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    let s2 = h.sync("m2", 1, &[], now);
    let t = h.join(static_req("", "i2"), now + 1);
    assert_err!(h.sync_reply(s2).unwrap(), GroupError::FencedInstanceId);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert!(h.join_reply(t).is_none());
}

#[test]
fn static_members_that_do_not_rejoin_stay_until_their_session_expires() {
    let (mut h, now) = stable_static();
    let t1 = h.join(
        with_protocols(static_req("m1", "i1"), &[("range", sub(&["x"]))]),
        now + 1,
    );
    keep_alive(&mut h, &[("m2", Some("i2"))], now + 5_000, now + 55_000);
    h.tick(now + 1 + REBALANCE);
    // The round completed without removing the static member m2.
    let r = h.joined(t1);
    assert_eq!(r.members.len(), 2);
    assert_eq!(h.g.member_ids(), vec!["m1", "m2"]);
}

#[test]
fn a_round_with_only_absent_static_members_waits_for_them() {
    let (mut h, now) = stable_static();
    h.leave("m1", None, now + 1).unwrap(); // PreparingRebalance; m2 (static) does not rejoin
    assert_eq!(h.g.leader(), Some("m2"));
    keep_alive(&mut h, &[("m2", Some("i2"))], now + 5_000, now + 60_000);
    h.tick(now + 1 + REBALANCE);
    // Nobody rejoined and only a static member is left: the round is postponed.
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline(), Some(now + 1 + 2 * REBALANCE));
    assert_eq!(h.g.member_ids(), vec!["m2"]);
    let t = h.join(static_req("m2", "i2"), now + REBALANCE + 10);
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.leader.as_str()), (2, "m2"));
}
