//! The consumer-group state machine without a runtime: epochs, reconciliation, fencing, static
//! members, timers, regex subscriptions, offsets checks and restore.

use std::collections::BTreeMap;
use std::sync::Arc;

use uuid::Uuid;

use super::api::{ConsumerHeartbeat, ConsumerHeartbeatResponse, TopicPartitions};
use super::member::MemberState;
use super::topics::TopicImage;
use super::{ConsumerGroup, ConsumerGroupState};
use crate::coordinator::config::GroupConfig;
use crate::coordinator::error::GroupError;
use crate::coordinator::group::Effects;
use crate::coordinator::record::Record;
use crate::coordinator::store::Store;

const T0: i64 = 1_000_000;
const SESSION: i64 = 45_000;
const REBALANCE: i32 = 30_000;

fn tid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn image(topics: &[(&str, i32)]) -> Arc<TopicImage> {
    Arc::new(
        topics
            .iter()
            .enumerate()
            .map(|(i, (n, p))| (n.to_string(), tid(i as u128 + 1), *p))
            .collect(),
    )
}

struct H {
    g: ConsumerGroup,
    out: Effects,
    topics: Arc<TopicImage>,
    /// Every record written so far.
    log: Vec<Record>,
}

fn beat(member: &str, epoch: i32, topics: &Arc<TopicImage>) -> ConsumerHeartbeat {
    ConsumerHeartbeat {
        group_id: "g".into(),
        member_id: member.into(),
        member_epoch: epoch,
        instance_id: None,
        rack_id: None,
        rebalance_timeout_ms: -1,
        subscribed_topic_names: None,
        subscribed_topic_regex: None,
        server_assignor: None,
        owned: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        topics: topics.clone(),
        version: 1,
    }
}

fn parts(r: &ConsumerHeartbeatResponse) -> Vec<i32> {
    let mut v: Vec<i32> = r
        .assignment
        .as_ref()
        .expect("an assignment")
        .iter()
        .flat_map(|(_, p)| p.clone())
        .collect();
    v.sort();
    v
}

fn owned(p: &[i32]) -> Option<TopicPartitions> {
    Some(vec![(tid(1), p.to_vec())])
}

impl H {
    fn new(topics: &[(&str, i32)]) -> H {
        H::with(GroupConfig::default(), topics)
    }

    fn with(cfg: GroupConfig, topics: &[(&str, i32)]) -> H {
        H {
            g: ConsumerGroup::new("g", cfg),
            out: Effects::default(),
            topics: image(topics),
            log: Vec::new(),
        }
    }

    fn send(
        &mut self,
        r: ConsumerHeartbeat,
        now: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        self.g.heartbeat(r, "fresh".into(), now, &mut self.out)
    }

    fn join(&mut self, member: &str, now: i64) -> ConsumerHeartbeatResponse {
        let r = ConsumerHeartbeat {
            rebalance_timeout_ms: REBALANCE,
            subscribed_topic_names: Some(vec!["t".into()]),
            owned: Some(vec![]),
            ..beat(member, 0, &self.topics)
        };
        self.send(r, now).expect("join")
    }

    /// A heartbeat reporting `owns` (partitions of topic 1).
    fn hb(
        &mut self,
        member: &str,
        epoch: i32,
        owns: &[i32],
        now: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        let r = ConsumerHeartbeat {
            owned: owned(owns),
            ..beat(member, epoch, &self.topics)
        };
        self.send(r, now)
    }

    fn state(&self, member: &str) -> MemberState {
        self.g.members[member].state
    }

    fn records(&mut self) -> Vec<Record> {
        let records = std::mem::take(&mut self.out.records);
        self.log.extend(records.iter().cloned());
        records
    }
}

/// Three members on six partitions, each reconciled to two partitions.
fn three_stable() -> (H, BTreeMap<String, (i32, Vec<i32>)>) {
    let mut h = H::new(&[("t", 6)]);
    let a = h.join("a", T0);
    assert_eq!((a.member_epoch, parts(&a)), (1, vec![0, 1, 2, 3, 4, 5]));
    let b = h.join("b", T0);
    assert_eq!(b.member_epoch, 2);
    // b's partitions are still a's: nothing yet.
    assert_eq!(parts(&b), Vec::<i32>::new());
    assert_eq!(h.state("b"), MemberState::UnreleasedPartitions);
    let c = h.join("c", T0);
    assert_eq!(c.member_epoch, 3);
    // a must revoke four partitions before anything moves.
    let a = h.hb("a", 1, &[0, 1, 2, 3, 4, 5], T0 + 1).unwrap();
    assert_eq!(a.member_epoch, 1, "epoch stays while revoking");
    let keep = parts(&a);
    assert_eq!(keep.len(), 2);
    assert_eq!(h.state("a"), MemberState::UnrevokedPartitions);
    // Still owning them: no progress, no new assignment sent.
    let again = h.hb("a", 1, &[0, 1, 2, 3, 4, 5], T0 + 2).unwrap();
    assert!(again.assignment.is_none());
    assert_eq!(again.member_epoch, 1);
    // Revoked: a reaches the target epoch.
    let a = h.hb("a", 1, &keep, T0 + 3).unwrap();
    assert_eq!(a.member_epoch, 3);
    assert_eq!(h.state("a"), MemberState::Stable);
    let b = h.hb("b", 2, &[], T0 + 4).unwrap();
    let c = h.hb("c", 3, &[], T0 + 4).unwrap();
    assert_eq!((b.member_epoch, parts(&b).len()), (3, 2));
    assert_eq!((c.member_epoch, parts(&c).len()), (3, 2));
    assert_eq!(h.g.state(), ConsumerGroupState::Stable);
    let mut all: Vec<i32> = [keep.clone(), parts(&b), parts(&c)].concat();
    all.sort();
    assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    let owners = [("a", keep), ("b", parts(&b)), ("c", parts(&c))]
        .into_iter()
        .map(|(m, p)| (m.to_string(), (3, p)))
        .collect();
    h.records();
    (h, owners)
}

#[test]
fn three_members_reconcile_to_a_balanced_assignment_through_revocation() {
    let (h, owners) = three_stable();
    assert_eq!(h.g.epoch(), 3);
    assert!(owners.values().all(|(_, p)| p.len() == 2));
}

#[test]
fn a_leaving_member_frees_its_partitions_at_once() {
    let (mut h, owners) = three_stable();
    let r = h.send(beat("c", -1, &h.topics.clone()), T0 + 10).unwrap();
    assert_eq!(r.member_epoch, -1);
    assert_eq!(h.g.epoch(), 4);
    assert!(h.records().iter().any(
        |r| matches!(r, Record::ConsumerMemberTombstone { member_id, .. } if member_id == "c")
    ));
    let a = h.hb("a", 3, &owners["a"].1, T0 + 11).unwrap();
    assert_eq!(
        (a.member_epoch, parts(&a).len()),
        (4, 3),
        "c's partitions are free: no wait"
    );
    assert!(
        owners["a"].1.iter().all(|p| parts(&a).contains(p)),
        "sticky"
    );
}

#[test]
fn session_expiry_removes_the_member_and_reassigns() {
    let (mut h, owners) = three_stable();
    // a and b heartbeat; c is silent.
    h.hb("a", 3, &owners["a"].1, T0 + SESSION - 1).unwrap();
    h.hb("b", 3, &owners["b"].1, T0 + SESSION - 1).unwrap();
    assert_eq!(h.g.next_deadline(), Some(T0 + 4 + SESSION));
    h.g.tick(T0 + 4 + SESSION, &mut h.out);
    assert!(!h.g.members.contains_key("c"));
    assert_eq!(h.g.epoch(), 4);
    let a = h.hb("a", 3, &owners["a"].1, T0 + SESSION + 10).unwrap();
    assert_eq!((a.member_epoch, parts(&a).len()), (4, 3));
}

#[test]
fn a_member_that_never_revokes_is_fenced_after_its_rebalance_timeout() {
    let mut h = H::new(&[("t", 2)]);
    h.join("a", T0);
    h.join("b", T0);
    let a = h.hb("a", 1, &[0, 1], T0 + 1).unwrap();
    assert_eq!(h.state("a"), MemberState::UnrevokedPartitions);
    assert_eq!(parts(&a).len(), 1);
    h.hb("a", 1, &[0, 1], T0 + 2).unwrap();
    h.g.tick(T0 + 1 + i64::from(REBALANCE), &mut h.out);
    assert!(!h.g.members.contains_key("a"), "fenced");
    let b = h.hb("b", 2, &[], T0 + i64::from(REBALANCE) + 5).unwrap();
    assert_eq!(parts(&b), vec![0, 1]);
}

#[test]
fn epochs_are_checked_like_kafka() {
    let (mut h, owners) = three_stable();
    assert!(matches!(
        h.hb("a", 4, &[], T0 + 20),
        Err(GroupError::FencedMemberEpoch)
    ));
    // c joined at epoch 3 (previous 0): epoch 1 is neither.
    assert!(matches!(
        h.hb("c", 1, &[], T0 + 20),
        Err(GroupError::FencedMemberEpoch)
    ));
    assert!(matches!(
        h.hb("zz", 3, &[], T0 + 20),
        Err(GroupError::UnknownMemberId)
    ));
    // The previous epoch with a subset of the assignment passes (its answer was lost).
    let prev = h.g.members["a"].previous_epoch;
    let r = h.hb("a", prev, &owners["a"].1, T0 + 21).unwrap();
    assert_eq!(r.member_epoch, 3);
    // ... but not while owning a partition that is not the member's.
    let foreign = owners["b"].1[0];
    assert!(matches!(
        h.hb("a", prev, &[foreign], T0 + 22),
        Err(GroupError::FencedMemberEpoch)
    ));
    // A fenced member rejoins with epoch 0 and gets its partitions back.
    let r = h.join("a", T0 + 23);
    assert_eq!(parts(&r), owners["a"].1);
}

#[test]
fn requests_are_validated_like_kafka() {
    let mut h = H::new(&[("t", 1)]);
    let t = h.topics.clone();
    let bad = |r: Result<ConsumerHeartbeatResponse, GroupError>| {
        matches!(r, Err(GroupError::InvalidRequest(_)))
    };
    assert!(bad(h.send(beat("a", 0, &t), T0)), "no rebalance timeout");
    let join = ConsumerHeartbeat {
        rebalance_timeout_ms: REBALANCE,
        owned: Some(vec![]),
        ..beat("a", 0, &t)
    };
    assert!(bad(h.send(join.clone(), T0)), "no subscription");
    let named = ConsumerHeartbeat {
        subscribed_topic_names: Some(vec!["t".into()]),
        ..join.clone()
    };
    assert!(
        bad(h.send(
            ConsumerHeartbeat {
                member_id: String::new(),
                ..named.clone()
            },
            T0
        )),
        "v1 needs an id"
    );
    assert!(
        bad(h.send(
            ConsumerHeartbeat {
                owned: owned(&[0]),
                ..named.clone()
            },
            T0
        )),
        "owns on join"
    );
    assert!(
        bad(h.send(beat("a", -2, &t), T0)),
        "-2 needs an instance id"
    );
    assert!(matches!(
        h.send(
            ConsumerHeartbeat {
                server_assignor: Some("sticky".into()),
                ..named.clone()
            },
            T0
        ),
        Err(GroupError::UnsupportedAssignor(_))
    ));
    assert!(matches!(
        h.send(
            ConsumerHeartbeat {
                subscribed_topic_regex: Some("t(".into()),
                ..named.clone()
            },
            T0
        ),
        Err(GroupError::InvalidRegularExpression(_))
    ));
    // v0 may join without an id: the broker names the member.
    let r = h
        .send(
            ConsumerHeartbeat {
                member_id: String::new(),
                version: 0,
                ..named
            },
            T0,
        )
        .unwrap();
    assert_eq!(r.member_id, "fresh");
}

#[test]
fn group_max_size_refuses_new_members() {
    let mut h = H::with(
        GroupConfig {
            consumer_max_size: 1,
            ..GroupConfig::default()
        },
        &[("t", 2)],
    );
    h.join("a", T0);
    let r = ConsumerHeartbeat {
        rebalance_timeout_ms: REBALANCE,
        subscribed_topic_names: Some(vec!["t".into()]),
        owned: Some(vec![]),
        ..beat("b", 0, &h.topics.clone())
    };
    assert!(matches!(
        h.send(r, T0),
        Err(GroupError::GroupMaxSizeReached)
    ));
}

fn static_join(
    h: &mut H,
    member: &str,
    instance: &str,
    now: i64,
) -> Result<ConsumerHeartbeatResponse, GroupError> {
    let r = ConsumerHeartbeat {
        instance_id: Some(instance.into()),
        rebalance_timeout_ms: REBALANCE,
        subscribed_topic_names: Some(vec!["t".into()]),
        owned: Some(vec![]),
        ..beat(member, 0, &h.topics.clone())
    };
    h.send(r, now)
}

#[test]
fn static_member_leaves_temporarily_and_its_new_incarnation_keeps_the_partitions() {
    let mut h = H::new(&[("t", 4)]);
    static_join(&mut h, "s1", "i1", T0).unwrap();
    h.join("d", T0);
    let r = h.hb("s1", 1, &[0, 1, 2, 3], T0 + 1).unwrap();
    let kept = parts(&r);
    h.hb("s1", 1, &kept, T0 + 2).unwrap();
    let epoch = h.g.epoch();
    let away = ConsumerHeartbeat {
        instance_id: Some("i1".into()),
        ..beat("s1", -2, &h.topics.clone())
    };
    assert_eq!(h.send(away, T0 + 3).unwrap().member_epoch, -2);
    assert_eq!(h.g.epoch(), epoch, "no rebalance for a temporary leave");
    // Another process with the same instance id while the first is active is refused...
    let r = static_join(&mut h, "s2", "i1", T0 + 4).unwrap();
    assert!(!h.g.members.contains_key("s1"));
    assert_eq!(parts(&r), kept, "same partitions, no rebalance");
    assert_eq!(r.member_epoch, epoch);
    assert_eq!(h.g.epoch(), epoch);
    assert!(matches!(
        static_join(&mut h, "s3", "i1", T0 + 6),
        Err(GroupError::UnreleasedInstanceId)
    ));
    // ... and the old id is fenced.
    let old = ConsumerHeartbeat {
        instance_id: Some("i1".into()),
        ..beat("s1", epoch, &h.topics.clone())
    };
    assert!(matches!(
        h.send(old, T0 + 7),
        Err(GroupError::FencedInstanceId)
    ));
}

#[test]
fn regex_subscription_picks_up_topics_created_later() {
    let mut h = H::new(&[("orders-1", 2), ("other", 2)]);
    let r = ConsumerHeartbeat {
        rebalance_timeout_ms: REBALANCE,
        subscribed_topic_regex: Some("orders-.*".into()),
        owned: Some(vec![]),
        ..beat("a", 0, &h.topics.clone())
    };
    let r = h.send(r, T0).unwrap();
    assert_eq!(r.assignment.as_ref().unwrap(), &vec![(tid(1), vec![0, 1])]);
    let epoch = r.member_epoch;
    h.topics = image(&[("orders-1", 2), ("other", 2), ("orders-2", 3)]);
    let r = h
        .send(
            ConsumerHeartbeat {
                owned: owned(&[0, 1]),
                ..beat("a", epoch, &h.topics.clone())
            },
            T0 + 1,
        )
        .unwrap();
    assert_eq!(r.member_epoch, epoch + 1);
    let got = r.assignment.unwrap();
    assert!(got.contains(&(tid(3), vec![0, 1, 2])), "{got:?}");
    assert!(
        !got.iter().any(|(t, _)| *t == tid(2)),
        "whole-name match only"
    );
}

#[test]
fn new_partitions_bump_the_epoch() {
    let mut h = H::new(&[("t", 2)]);
    let r = h.join("a", T0);
    h.topics = image(&[("t", 4)]);
    let r = h.hb("a", r.member_epoch, &[0, 1], T0 + 1).unwrap();
    assert_eq!(parts(&r), vec![0, 1, 2, 3]);
}

#[test]
fn commits_and_fetches_need_the_current_member_epoch() {
    let (h, _) = three_stable();
    assert!(h.g.validate_commit("a", 3).is_ok());
    assert!(matches!(
        h.g.validate_commit("a", 2),
        Err(GroupError::StaleMemberEpoch)
    ));
    assert!(matches!(
        h.g.validate_commit("zz", 3),
        Err(GroupError::UnknownMemberId)
    ));
    assert!(
        matches!(
            h.g.validate_commit("", -1),
            Err(GroupError::UnknownMemberId)
        ),
        "not while members consume"
    );
    assert!(h.g.validate_fetch(None, -1).is_ok());
    assert!(matches!(
        h.g.validate_fetch(Some("a"), 1),
        Err(GroupError::StaleMemberEpoch)
    ));
    let empty = ConsumerGroup::new("e", GroupConfig::default());
    assert!(empty.validate_commit("", -1).is_ok());
}

#[test]
fn the_durable_records_restore_the_group_with_its_epochs() {
    let (mut h, owners) = three_stable();
    h.hb("a", 3, &owners["a"].1, T0 + 30).unwrap();
    h.records();
    // Replay everything the steps wrote, through the group log itself.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 0).unwrap();
    store.append(&h.log).unwrap();
    drop(store);
    let (_, mut groups) = Store::open(dir.path(), 0).unwrap();
    let loaded = groups.remove("g").unwrap().consumer.unwrap();
    assert_eq!(loaded.members.len(), 3);
    let later = T0 + 3_600_000;
    let mut r = ConsumerGroup::restore("g", GroupConfig::default(), loaded, later);
    assert_eq!(r.state(), ConsumerGroupState::Stable);
    assert_eq!(r.next_deadline(), Some(later + SESSION));
    let mut out = Effects::default();
    let resp = r
        .heartbeat(
            ConsumerHeartbeat {
                owned: owned(&owners["b"].1),
                ..beat("b", 3, &h.topics.clone())
            },
            String::new(),
            later + 1,
            &mut out,
        )
        .unwrap();
    assert_eq!(resp.member_epoch, 3, "no rebalance after a restart");
    assert!(resp.assignment.is_none());
}

#[test]
fn every_step_writes_the_members_and_epochs_it_changed() {
    let mut h = H::new(&[("t", 2)]);
    h.join("a", T0);
    let recs = h.records();
    assert!(recs.iter().any(|r| matches!(
        r,
        Record::ConsumerGroup {
            epoch: 1,
            assignment_epoch: 1,
            ..
        }
    )));
    assert!(recs
        .iter()
        .any(|r| matches!(r, Record::ConsumerMember { member, .. } if member.epoch == 1)));
    // A heartbeat that changes nothing writes nothing.
    h.hb("a", 1, &[0, 1], T0 + 1).unwrap();
    assert!(h.records().is_empty());
}

#[test]
fn regex_syntax_outside_the_rust_regex_crate_is_refused_not_misread() {
    let mut h = H::new(&[("a.b", 1)]);
    for pattern in ["\\Qa.b\\E", "a\\Cb", "(?<=a).b"] {
        let r = ConsumerHeartbeat {
            rebalance_timeout_ms: REBALANCE,
            subscribed_topic_regex: Some(pattern.into()),
            owned: Some(vec![]),
            ..beat("m", 0, &h.topics.clone())
        };
        assert!(
            matches!(h.send(r, T0), Err(GroupError::InvalidRegularExpression(_))),
            "{pattern}"
        );
    }
}
