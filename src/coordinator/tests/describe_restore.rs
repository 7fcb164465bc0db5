//! DescribeGroups, ListGroups and restoring from the store.

use super::*;

#[test]
fn describe_shows_metadata_and_assignments_only_when_stable() {
    let (mut h, now) = stable(2);
    let d = h.g.describe();
    assert_eq!(
        (d.state, d.protocol_type.as_str(), d.protocol_data.as_str()),
        (GroupState::Stable.as_str(), "consumer", "range")
    );
    assert_eq!(d.members.len(), 2);
    assert_eq!(d.members[0].client_id, "client");
    assert_eq!(d.members[0].client_host, "/127.0.0.1");
    assert_eq!(d.members[1].assignment, Bytes::from("a-m2"));
    assert_eq!(d.members[1].metadata, sub(&["t"]));
    h.join(req("m1"), now + 1);
    let d = h.g.describe();
    assert_eq!(
        (d.state, d.protocol_data.as_str()),
        (GroupState::PreparingRebalance.as_str(), "")
    );
    assert!(d
        .members
        .iter()
        .all(|m| m.metadata.is_empty() && m.assignment.is_empty()));
    assert_eq!(H::new().g.describe().state, GroupState::Dead.as_str());
}

#[test]
fn restored_group_is_stable_with_members_and_fresh_session_timers() {
    let (mut h, _) = stable_static();
    h.commit(1, "m1", &[("t", 0, 9)], T0);
    let Record::Group { metadata, .. } = h.g.metadata_record() else {
        unreachable!()
    };
    let offsets =
        h.g.offsets()
            .iter()
            .map(|(t, p, o)| (t.to_string(), p, o.clone()))
            .collect();
    let later = T0 + 3_600_000;
    let mut g = Group::restore(
        "g",
        cfg(),
        LoadedGroup {
            metadata: Some(metadata),
            offsets,
            pending: Vec::new(),
            consumer: None,
        },
        later,
    );
    let mut out = Effects::default();
    g.on_loaded(later, &mut out);
    assert_eq!(g.state(), GroupState::Stable);
    assert_eq!(g.generation(), 1);
    assert_eq!(g.leader(), Some("m1"));
    assert_eq!(g.member_ids(), vec!["m1", "m2"]);
    assert_eq!(g.assignment("m2"), Some(Bytes::from("a2")));
    assert_eq!(g.offsets().get("t", 0).unwrap().offset, 9);
    assert_eq!(g.next_deadline(), Some(later + SESSION));
    // A restarted static member gets its partitions back without a rebalance.
    let mut h = H {
        g,
        out,
        ticket: 100,
        fresh: 100,
    };
    let t = h.join(static_req("", "i2"), later + 1);
    let r = h.joined(t);
    assert_eq!(h.g.state(), GroupState::Stable);
    let s = h.sync(&r.member_id, 1, &[], later + 2);
    assert_eq!(h.synced(s), Bytes::from("a2"));
    // The other member, silent since the restart, expires after its session.
    h.tick(later + SESSION);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
}

#[test]
fn restored_empty_group_and_over_capacity_group() {
    let mut g = Group::restore("g", cfg(), LoadedGroup::default(), T0);
    assert!(g.exists());
    assert_eq!(g.state(), GroupState::Empty);
    let (h, _) = stable(3);
    let Record::Group { metadata, .. } = h.g.metadata_record() else {
        unreachable!()
    };
    g = Group::restore(
        "g",
        GroupConfig {
            max_size: 2,
            ..cfg()
        },
        LoadedGroup {
            metadata: Some(metadata),
            offsets: vec![],
            pending: vec![],
            consumer: None,
        },
        T0,
    );
    let mut out = Effects::default();
    g.on_loaded(T0, &mut out);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
}
