//! JoinGroup: new and rejoining members, rounds, protocol selection, group.max.size.

use super::*;

#[test]
fn first_join_v4_requires_member_id_then_waits_the_initial_delay() {
    let mut h = H::new();
    let t = h.join(
        JoinRequest {
            require_known_member_id: true,
            ..req("")
        },
        T0,
    );
    match h.join_reply(t) {
        Some(Err(GroupError::MemberIdRequired { member_id })) => assert_eq!(member_id, "m1"),
        other => panic!("{other:?}"),
    }
    assert!(h.g.exists());
    assert_eq!(h.g.state(), GroupState::Empty);

    let t = h.join(req("m1"), T0 + 5);
    assert!(h.join_reply(t).is_none(), "parked until the initial delay");
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline(), Some(T0 + 5 + 3_000));

    h.tick(T0 + 3_004);
    assert!(h.join_reply(t).is_none());
    h.tick(T0 + 3_005);
    let r = h.joined(t);
    assert_eq!(r.generation_id, 1);
    assert_eq!(r.leader, "m1");
    assert_eq!(r.member_id, "m1");
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    assert_eq!(r.protocol_type.as_deref(), Some("consumer"));
    assert!(!r.skip_assignment);
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.members[0].metadata, sub(&["t"]));
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
}

#[test]
fn initial_delay_extends_while_members_arrive_up_to_the_rebalance_timeout() {
    let mut h = H::with(GroupConfig {
        initial_rebalance_delay_ms: 3_000,
        ..cfg()
    });
    let short = JoinRequest {
        rebalance_timeout_ms: 7_000,
        ..req("")
    };
    let a = h.join(short.clone(), T0);
    // remaining = 7000 - 3000 = 4000
    h.tick(T0 + 1_000); // nothing due
    let b = h.join(short.clone(), T0 + 2_000);
    h.tick(T0 + 3_000); // extended: delay min(3000, 4000), remaining 1000
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline(), Some(T0 + 6_000));
    let c = h.join(short.clone(), T0 + 5_000);
    h.tick(T0 + 6_000); // extended once more: delay min(3000, 1000) = 1000, remaining 0
    assert_eq!(h.g.join_deadline(), Some(T0 + 7_000));
    let d = h.join(short, T0 + 6_500);
    h.tick(T0 + 7_000); // remaining 0: complete although a member just arrived
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    for t in [a, b, c, d] {
        assert_eq!(h.joined(t).generation_id, 1);
    }
    assert_eq!(h.g.member_ids().len(), 4);
}

#[test]
fn initial_round_completes_after_one_delay_when_nobody_else_comes() {
    let mut h = H::new();
    let t = h.join(req(""), T0);
    h.tick(T0 + 3_000);
    assert_eq!(h.joined(t).generation_id, 1);
}

#[test]
fn unknown_member_id_on_a_missing_group_is_rejected_without_creating_it() {
    let mut h = H::new();
    let t = h.join(req("ghost"), T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::UnknownMemberId);
    assert!(!h.g.exists());
    assert!(h.g.is_gone());
}

#[test]
fn session_timeout_must_be_within_bounds() {
    let mut h = H::new();
    for s in [5_999, 1_800_001] {
        let t = h.join(
            JoinRequest {
                session_timeout_ms: s,
                ..req("")
            },
            T0,
        );
        assert_err!(h.join_reply(t).unwrap(), GroupError::InvalidSessionTimeout);
    }
    assert!(!h.g.exists());
}

#[test]
fn inconsistent_protocols_are_rejected() {
    let mut h = H::new();
    let t = h.join(with_protocols(req(""), &[]), T0);
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    let t = h.join(
        JoinRequest {
            protocol_type: String::new(),
            ..req("")
        },
        T0,
    );
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );

    let (mut h, now) = stable(1);
    let t = h.join(
        JoinRequest {
            protocol_type: "connect".into(),
            ..req("")
        },
        now,
    );
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    let t = h.join(
        with_protocols(req(""), &[("roundrobin", Bytes::new())]),
        now,
    );
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    let t = h.join(
        with_protocols(req("m1"), &[("roundrobin", Bytes::new())]),
        now,
    );
    assert_err!(
        h.join_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    assert_eq!(h.g.state(), GroupState::Stable);
}

#[test]
fn protocol_is_chosen_by_votes_among_protocols_everyone_supports() {
    let mut h = H::new();
    let b = Bytes::new;
    let a = h.join(
        with_protocols(req(""), &[("sticky", b()), ("range", b()), ("rr", b())]),
        T0,
    );
    let c = h.join(
        with_protocols(req(""), &[("range", b()), ("sticky", b())]),
        T0,
    );
    let d = h.join(
        with_protocols(req(""), &[("range", b()), ("sticky", b()), ("rr", b())]),
        T0,
    );
    h.finish_round();
    // rr is not supported by everyone; range gets 2 votes, sticky 1.
    assert_eq!(h.joined(a).protocol_name.as_deref(), Some("range"));
    h.joined(c);
    h.joined(d);
    assert_eq!(h.g.protocol_name(), Some("range"));
}

#[test]
fn only_the_leader_gets_the_member_list() {
    let mut h = H::new();
    let a = h.join(static_req("", "i1"), T0);
    let b = h.join(req(""), T0);
    h.finish_round();
    let leader = h.joined(a);
    let follower = h.joined(b);
    assert_eq!(leader.leader, "m1");
    assert_eq!(follower.leader, "m1");
    assert_eq!(
        leader.members,
        vec![
            JoinedMember {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                metadata: sub(&["t"])
            },
            JoinedMember {
                member_id: "m2".into(),
                group_instance_id: None,
                metadata: sub(&["t"])
            },
        ]
    );
    assert!(follower.members.is_empty());
}

#[test]
fn group_max_size_is_enforced() {
    let mut h = H::with(GroupConfig {
        max_size: 2,
        ..cfg()
    });
    h.join(req(""), T0);
    h.join(req(""), T0);
    let t = h.join(req(""), T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::GroupMaxSizeReached);
    let now = h.finish_round();
    assert_eq!(h.g.member_ids().len(), 2);
    let t = h.join(req(""), now);
    assert_err!(h.join_reply(t).unwrap(), GroupError::GroupMaxSizeReached);
    // Known members are still accepted.
    let t = h.join(req("m1"), now);
    assert!(
        h.join_reply(t).is_some(),
        "an unchanged rejoin in CompletingRebalance is answered at once"
    );
}

#[test]
fn follower_rejoin_with_same_metadata_in_stable_returns_current_generation() {
    let (mut h, now) = stable(2);
    let t = h.join(req("m2"), now + 1);
    let r = h.joined(t);
    assert_eq!(
        (r.generation_id, r.leader.as_str(), r.members.len()),
        (1, "m1", 0)
    );
    assert_eq!(h.g.state(), GroupState::Stable);
}

#[test]
fn leader_rejoin_in_stable_rebalances() {
    let (mut h, now) = stable(2);
    let t = h.join(req("m1"), now + 1);
    assert!(h.join_reply(t).is_none());
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.hb("m2", 1, now + 2), GroupError::RebalanceInProgress);
    let t2 = h.join(req("m2"), now + 3);
    // Everybody rejoined: the round completes at once.
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    assert_eq!(h.joined(t).generation_id, 2);
    assert_eq!(h.joined(t2).generation_id, 2);
}

#[test]
fn follower_rejoin_with_new_metadata_rebalances() {
    let (mut h, now) = stable(2);
    let t = h.join(
        with_protocols(req("m2"), &[("range", sub(&["t", "u"]))]),
        now + 1,
    );
    assert!(h.join_reply(t).is_none());
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.hb("m1", 1, now + 2), GroupError::RebalanceInProgress);
    let lt = h.join(req("m1"), now + 3);
    let r = h.joined(lt);
    assert_eq!(
        r.members
            .iter()
            .find(|m| m.member_id == "m2")
            .unwrap()
            .metadata,
        sub(&["t", "u"])
    );
}

#[test]
fn rejoin_in_completing_rebalance() {
    let mut h = H::new();
    let a = h.join(req(""), T0);
    let b = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    // Same metadata (a lost response): the same answer again, members for the leader.
    let t = h.join(req("m1"), now + 1);
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.members.len()), (1, 2));
    // A follower waiting in SyncGroup is told to rejoin when metadata changes.
    let s = h.sync("m2", 1, &[], now + 2);
    assert!(h.sync_reply(s).is_none());
    let t = h.join(
        with_protocols(req("m1"), &[("range", sub(&["x"]))]),
        now + 3,
    );
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.sync_reply(s).unwrap(), GroupError::RebalanceInProgress);
    assert!(h.join_reply(t).is_none());
}

#[test]
fn new_member_joining_a_stable_group_rebalances_and_waits_for_everyone() {
    let (mut h, now) = stable(2);
    let t3 = h.join(req(""), now + 10);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline(), Some(now + 10 + REBALANCE));
    let t1 = h.join(req("m1"), now + 20);
    assert!(h.join_reply(t1).is_none(), "m2 has not rejoined");
    let t2 = h.join(req("m2"), now + 30);
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    for t in [t1, t2, t3] {
        assert_eq!(h.joined(t).generation_id, 2);
    }
}

#[test]
fn members_that_do_not_rejoin_are_removed_at_the_rebalance_timeout() {
    let (mut h, now) = stable(3);
    let t1 = h.join(req("m1"), now + 1);
    // m2 and m3 keep heartbeating but never rejoin.
    keep_alive(
        &mut h,
        &[("m2", None), ("m3", None)],
        now + 5_000,
        now + 55_000,
    );
    h.tick(now + 1 + REBALANCE - 1);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    h.tick(now + 1 + REBALANCE);
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    assert_eq!(h.g.member_ids(), vec!["m1"]);
    let r = h.joined(t1);
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert_err!(
        h.hb("m2", 1, now + REBALANCE + 2),
        GroupError::UnknownMemberId
    );
}

#[test]
fn a_leader_that_does_not_rejoin_is_replaced() {
    let (mut h, now) = stable(2);
    let t2 = h.join(
        with_protocols(req("m2"), &[("range", sub(&["z"]))]),
        now + 1,
    );
    h.hb("m1", 1, now + 2).unwrap_err();
    h.tick(now + 1 + REBALANCE);
    let r = h.joined(t2);
    assert_eq!(r.leader, "m2");
    assert_eq!(r.members.len(), 1);
    assert_eq!(h.g.leader(), Some("m2"));
}

#[test]
fn a_repeated_join_replaces_the_parked_one() {
    let (mut h, now) = stable(2);
    let first = h.join(req("m1"), now + 1);
    let second = h.join(req("m1"), now + 2);
    assert_err!(
        h.join_reply(first).unwrap(),
        GroupError::RebalanceInProgress
    );
    let t2 = h.join(req("m2"), now + 3);
    assert_eq!(h.joined(second).generation_id, 2);
    h.joined(t2);
}
