//! Heartbeat and session expiry.

use super::*;

#[test]
fn heartbeat_answers() {
    let mut missing = H::new();
    assert_err!(missing.hb("m1", 1, T0), GroupError::UnknownMemberId);

    let mut h = H::new();
    let a = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    h.hb("m1", 1, now).unwrap(); // CompletingRebalance: normal
    assert_err!(h.hb("m1", 0, now), GroupError::IllegalGeneration);
    assert_err!(h.hb("zz", 1, now), GroupError::UnknownMemberId);
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    h.hb("m1", 1, now).unwrap(); // Stable
    h.join(req(""), now); // a newcomer: PreparingRebalance
    assert_err!(h.hb("m1", 1, now), GroupError::RebalanceInProgress);
    assert_err!(h.hb("m1", 2, now), GroupError::IllegalGeneration);
}

#[test]
fn session_expiry_removes_the_member_and_rebalances() {
    let (mut h, now) = stable(2);
    h.hb("m1", 1, now + 5_000).unwrap();
    h.tick(now + SESSION - 1);
    assert_eq!(h.g.member_ids().len(), 2);
    h.tick(now + SESSION); // m2 last heard from at `now`
    assert_eq!(h.g.member_ids(), vec!["m1"]);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    let t = h.join(req("m1"), now + SESSION + 1);
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
}

#[test]
fn last_member_expiring_makes_the_group_empty() {
    let (mut h, now) = stable(1);
    h.tick(now + SESSION);
    assert_eq!(h.g.state(), GroupState::Empty);
    assert_eq!(h.g.generation(), 2);
    let recs = h.records();
    let Some(Record::Group { metadata, .. }) = recs.last() else {
        panic!("{recs:?}")
    };
    assert!(metadata.members.is_empty());
    assert_eq!(metadata.generation_id, 2);
}

#[test]
fn members_parked_in_a_join_round_do_not_expire() {
    let (mut h, now) = stable(2);
    let t1 = h.join(req("m1"), now + 1);
    let t2 = h.join(req(""), now + 2); // new member, round stays open for m2
    h.tick(now + SESSION + 5); // m1 is parked: alive; m2 silent: expired
    assert!(h.g.member_ids().contains(&"m1".to_string()));
    assert!(!h.g.member_ids().contains(&"m2".to_string()));
    // m2's removal completed the round.
    assert_eq!(h.joined(t1).generation_id, 2);
    assert_eq!(h.joined(t2).generation_id, 2);
}

#[test]
fn a_new_member_parked_too_long_is_dropped() {
    let mut h = H::with(GroupConfig {
        new_member_join_timeout_ms: 20_000,
        ..cfg()
    });
    let a = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    // m2 joins; the round waits for m1 (rebalance timeout 60 s), which only heartbeats.
    let t = h.join(req(""), now + 1);
    keep_alive(&mut h, &[("m1", None)], now + 5_000, now + 20_000);
    assert!(h.join_reply(t).is_none());
    h.tick(now + 1 + 20_000);
    assert_err!(h.join_reply(t).unwrap(), GroupError::UnknownMemberId);
    assert_eq!(h.g.member_ids(), vec!["m1"]);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
}

#[test]
fn pending_member_ids_expire_and_unblock_the_round() {
    let (mut h, now) = stable(1);
    let t = h.join(
        JoinRequest {
            require_known_member_id: true,
            ..req("")
        },
        now + 1,
    );
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::MemberIdRequired { .. }
    );
    // Leader rejoins: the round cannot complete while m2 is pending.
    let lt = h.join(req("m1"), now + 2);
    assert!(h.join_reply(lt).is_none());
    h.tick(now + 1 + SESSION);
    assert_eq!(h.joined(lt).generation_id, 2);
}

#[test]
fn a_leader_that_never_syncs_expires_and_parked_syncs_are_told_to_rejoin() {
    let mut h = H::new();
    let a = h.join(req(""), T0);
    let b = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    let s2 = h.sync("m2", 1, &[], now + 1);
    // m2 waits in SyncGroup (alive by definition); m1 neither syncs nor heartbeats.
    h.tick(now + SESSION);
    assert_eq!(h.g.member_ids(), vec!["m2"]);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.sync_reply(s2).unwrap(), GroupError::RebalanceInProgress);
}
