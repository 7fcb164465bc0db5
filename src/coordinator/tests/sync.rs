//! SyncGroup: assignment propagation, errors, the sync timeout.

use super::*;

#[test]
fn followers_wait_for_the_leader_and_unassigned_members_get_empty() {
    let mut h = H::new();
    let ts: Vec<_> = (0..3).map(|_| h.join(req(""), T0)).collect();
    let now = h.finish_round();
    ts.iter().for_each(|t| {
        h.joined(*t);
    });
    let s2 = h.sync("m2", 1, &[], now + 1);
    let s3 = h.sync("m3", 1, &[], now + 2);
    assert!(h.sync_reply(s2).is_none() && h.sync_reply(s3).is_none());
    assert!(h.records().is_empty());
    let s1 = h.sync(
        "m1",
        1,
        &[("m1", "x"), ("m2", "y"), ("nobody", "z")],
        now + 3,
    );
    assert_eq!(h.g.state(), GroupState::Stable);
    assert_eq!(h.synced(s1), Bytes::from("x"));
    assert_eq!(h.synced(s2), Bytes::from("y"));
    assert_eq!(h.synced(s3), Bytes::new());
    // The group is persisted with its assignment.
    let recs = h.records();
    assert_eq!(recs.len(), 1);
    let Record::Group { metadata, .. } = &recs[0] else {
        panic!("{recs:?}")
    };
    assert_eq!(metadata.generation_id, 1);
    assert_eq!(metadata.members.len(), 3);
    assert_eq!(metadata.members[1].assignment, Bytes::from("y"));
    // In Stable, SyncGroup returns the current assignment.
    let again = h.sync("m2", 1, &[], now + 4);
    assert_eq!(h.synced(again), Bytes::from("y"));
}

#[test]
fn sync_errors() {
    let mut missing = H::new();
    let t = missing.sync("m1", 1, &[], T0);
    assert_err!(missing.sync_reply(t).unwrap(), GroupError::UnknownMemberId);

    let (mut h, now) = stable(2);
    let t = h.sync("ghost", 1, &[], now);
    assert_err!(h.sync_reply(t).unwrap(), GroupError::UnknownMemberId);
    let t = h.sync("m2", 7, &[], now);
    assert_err!(h.sync_reply(t).unwrap(), GroupError::IllegalGeneration);

    h.ticket += 1;
    let t = h.ticket;
    let r = SyncRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: "m2".into(),
        protocol_name: Some("sticky".into()),
        ..SyncRequest::default()
    };
    h.g.sync(r.clone(), t, now, &mut h.out);
    assert_err!(
        h.sync_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    let t = t + 1;
    h.g.sync(
        SyncRequest {
            protocol_name: None,
            protocol_type: Some("connect".into()),
            ..r.clone()
        },
        t,
        now,
        &mut h.out,
    );
    assert_err!(
        h.sync_reply(t).unwrap(),
        GroupError::InconsistentGroupProtocol
    );
    let t = t + 1;
    h.g.sync(
        SyncRequest {
            protocol_name: Some("range".into()),
            protocol_type: Some("consumer".into()),
            ..r
        },
        t,
        now,
        &mut h.out,
    );
    assert_eq!(h.synced(t), Bytes::from("a-m2"));
    h.ticket = t;

    h.join(req("m1"), now + 1); // PreparingRebalance
    let t = h.sync("m2", 1, &[], now + 2);
    assert_err!(h.sync_reply(t).unwrap(), GroupError::RebalanceInProgress);
}

#[test]
fn members_that_never_sync_are_removed_after_the_rebalance_timeout() {
    let mut h = H::new();
    let a = h.join(req(""), T0);
    let b = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    assert_eq!(h.g.sync_deadline(), Some(now + REBALANCE));
    let s1 = h.sync("m1", 1, &[("m1", "x"), ("m2", "y")], now + 1);
    h.synced(s1);
    // m2 heartbeats but never syncs.
    for i in 1..7 {
        h.hb("m2", 1, now + i * 9_000).unwrap();
        h.hb("m1", 1, now + i * 9_000).unwrap();
        h.tick(now + i * 9_000);
    }
    h.tick(now + REBALANCE);
    assert_eq!(h.g.member_ids(), vec!["m1"]);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
}
