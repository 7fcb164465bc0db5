//! LeaveGroup.

use super::*;

#[test]
fn leaving_rebalances_and_the_last_leave_empties_the_group() {
    let (mut h, now) = stable(2);
    h.leave("m2", None, now + 1).unwrap();
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.leave("m2", None, now + 2), GroupError::UnknownMemberId);
    h.leave("m1", None, now + 3).unwrap();
    // Nobody is left: the round completes into Empty.
    assert_eq!(h.g.state(), GroupState::Empty);
    assert!(matches!(h.records().last(), Some(Record::Group { .. })));
    assert_err!(h.hb("m1", 1, now + 4), GroupError::UnknownMemberId);
}

#[test]
fn leave_of_a_parked_member_answers_its_join() {
    let (mut h, now) = stable(2);
    let t = h.join(req(""), now + 1);
    let t1 = h.join(req("m1"), now + 1);
    h.leave("m3", None, now + 2).unwrap();
    assert_err!(h.join_reply(t).unwrap(), GroupError::UnknownMemberId);
    assert!(h.join_reply(t1).is_none());
}

#[test]
fn leave_of_pending_static_and_fenced_members() {
    let mut missing = H::new();
    let r = missing
        .g
        .leave(
            vec![LeaveMember {
                member_id: "x".into(),
                ..LeaveMember::default()
            }],
            T0,
            &mut missing.out,
        )
        .unwrap();
    assert_err!(r[0].result.clone(), GroupError::UnknownMemberId);

    let mut h = H::new();
    let s = h.join(static_req("", "i1"), T0);
    let d = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(s);
    h.joined(d);
    let p = h.join(
        JoinRequest {
            require_known_member_id: true,
            ..req("")
        },
        now,
    );
    let pending = match h.join_reply(p) {
        Some(Err(GroupError::MemberIdRequired { member_id })) => member_id,
        other => panic!("{other:?}"),
    };
    h.leave(&pending, None, now).unwrap();
    assert_err!(
        h.leave("other", Some("i1"), now),
        GroupError::FencedInstanceId
    );
    assert_err!(
        h.leave("", Some("nobody"), now),
        GroupError::UnknownMemberId
    );
    h.leave("", Some("i1"), now).unwrap(); // admin removal by instance id
    assert_eq!(h.g.member_ids(), vec!["m2"]);
}
