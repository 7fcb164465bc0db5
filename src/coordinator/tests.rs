//! Unit tests of the pure group state machine: every state transition and error path, with
//! explicit times (no sleeps, no sockets, no runtime).

use bytes::Bytes;

use super::api::*;
use super::config::GroupConfig;
use super::error::GroupError;
use super::group::{Group, Outbox};
use super::member::Ticket;
use super::record::{LoadedGroup, Record};
use super::state::GroupState;
use super::subscription::encode_subscription;

const T0: i64 = 1_000_000;
const SESSION: i64 = 10_000;
const REBALANCE: i64 = 60_000;

macro_rules! assert_err {
    ($e:expr, $p:pat) => {
        match $e {
            Err($p) => {}
            other => panic!("expected {}, got {:?}", stringify!($p), other),
        }
    };
}

fn cfg() -> GroupConfig {
    GroupConfig::default()
}

fn sub(topics: &[&str]) -> Bytes {
    encode_subscription(topics)
}

fn req(member_id: &str) -> JoinRequest {
    JoinRequest {
        group_id: "g".into(),
        member_id: member_id.into(),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), sub(&["t"]))],
        session_timeout_ms: SESSION as i32,
        rebalance_timeout_ms: REBALANCE as i32,
        supports_skip_assignment: true,
        ..JoinRequest::default()
    }
}

fn static_req(member_id: &str, instance: &str) -> JoinRequest {
    JoinRequest {
        group_instance_id: Some(instance.into()),
        ..req(member_id)
    }
}

fn with_protocols(mut r: JoinRequest, protocols: &[(&str, Bytes)]) -> JoinRequest {
    r.protocols = protocols.iter().map(|(n, m)| (n.to_string(), m.clone())).collect();
    r
}

/// A group plus the bookkeeping an actor would do.
struct H {
    g: Group,
    out: Outbox,
    ticket: Ticket,
    fresh: u64,
}

impl H {
    fn new() -> H {
        H::with(cfg())
    }

    fn with(cfg: GroupConfig) -> H {
        H {
            g: Group::absent("g", cfg, T0),
            out: Outbox::default(),
            ticket: 0,
            fresh: 0,
        }
    }

    fn join(&mut self, r: JoinRequest, now: i64) -> Ticket {
        self.ticket += 1;
        let fresh = if r.member_id.is_empty() {
            self.fresh += 1;
            format!("m{}", self.fresh)
        } else {
            String::new()
        };
        self.g.join(r, self.ticket, fresh, now, &mut self.out);
        self.ticket
    }

    fn join_reply(&mut self, t: Ticket) -> Option<Result<JoinResponse, GroupError>> {
        let i = self.out.joins.iter().position(|(x, _)| *x == t)?;
        Some(self.out.joins.remove(i).1)
    }

    fn joined(&mut self, t: Ticket) -> JoinResponse {
        match self.join_reply(t) {
            Some(Ok(r)) => r,
            other => panic!("join {t}: expected a response, got {other:?}"),
        }
    }

    fn join_error(&mut self, t: Ticket) -> GroupError {
        match self.join_reply(t) {
            Some(Err(e)) => e,
            other => panic!("join {t}: expected an error, got {other:?}"),
        }
    }

    fn sync(&mut self, member: &str, generation: i32, assignments: &[(&str, &str)], now: i64) -> Ticket {
        self.ticket += 1;
        let r = SyncRequest {
            group_id: "g".into(),
            generation_id: generation,
            member_id: member.into(),
            assignments: assignments
                .iter()
                .map(|(m, a)| (m.to_string(), Bytes::from(a.to_string())))
                .collect(),
            ..SyncRequest::default()
        };
        self.g.sync(r, self.ticket, now, &mut self.out);
        self.ticket
    }

    fn sync_reply(&mut self, t: Ticket) -> Option<Result<SyncResponse, GroupError>> {
        let i = self.out.syncs.iter().position(|(x, _)| *x == t)?;
        Some(self.out.syncs.remove(i).1)
    }

    fn synced(&mut self, t: Ticket) -> Bytes {
        match self.sync_reply(t) {
            Some(Ok(r)) => r.assignment,
            other => panic!("sync {t}: expected an assignment, got {other:?}"),
        }
    }

    fn hb(&mut self, member: &str, generation: i32, now: i64) -> Result<(), GroupError> {
        self.g.heartbeat(
            &HeartbeatRequest {
                group_id: "g".into(),
                generation_id: generation,
                member_id: member.into(),
                group_instance_id: None,
            },
            now,
        )
    }

    fn hb_static(&mut self, member: &str, instance: &str, generation: i32, now: i64) -> Result<(), GroupError> {
        self.g.heartbeat(
            &HeartbeatRequest {
                group_id: "g".into(),
                generation_id: generation,
                member_id: member.into(),
                group_instance_id: Some(instance.into()),
            },
            now,
        )
    }

    fn tick(&mut self, now: i64) {
        self.g.tick(now, &mut self.out);
    }

    /// Fires the join timer until the round ends; returns the time it ended.
    fn finish_round(&mut self) -> i64 {
        let mut now = T0;
        while self.g.state() == GroupState::PreparingRebalance {
            now = self.g.join_deadline.expect("an open round has a join timer");
            self.tick(now);
        }
        now
    }

    fn records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.out.records)
    }

    fn leave(&mut self, member: &str, instance: Option<&str>, now: i64) -> Result<(), GroupError> {
        let mut r = self
            .g
            .leave(
                vec![LeaveMember {
                    member_id: member.into(),
                    group_instance_id: instance.map(str::to_string),
                    reason: None,
                }],
                now,
                &mut self.out,
            )
            .expect("no group-level error");
        r.remove(0).result
    }

    fn commit(&mut self, generation: i32, member: &str, parts: &[(&str, i32, i64)], now: i64) -> Vec<Result<(), GroupError>> {
        let r = CommitRequest {
            group_id: "g".into(),
            generation_id: generation,
            member_id: member.into(),
            group_instance_id: None,
            partitions: parts
                .iter()
                .map(|(t, p, o)| CommitPartition {
                    topic: t.to_string(),
                    partition: *p,
                    offset: *o,
                    leader_epoch: 1,
                    metadata: Some(format!("md{o}")),
                })
                .collect(),
        };
        self.g.commit_offsets(r, now, &mut self.out).into_iter().map(|r| r.result).collect()
    }
}

/// Heartbeats `members` every 5 s from `from` to `to` (inclusive), firing timers as it goes.
fn keep_alive(h: &mut H, members: &[(&str, Option<&str>)], from: i64, to: i64) {
    let mut at = from;
    while at <= to {
        for (m, instance) in members {
            let generation = h.g.generation();
            let _ = match instance {
                Some(i) => h.hb_static(m, i, generation, at),
                None => h.hb(m, generation, at),
            };
        }
        h.tick(at);
        at += 5_000;
    }
}

/// A Stable group of `n` dynamic members m1..mn (generation 1, leader m1, member i assigned
/// "a-mi"), all synced. Returns the harness and the time it became Stable.
fn stable(n: usize) -> (H, i64) {
    let mut h = H::new();
    let tickets: Vec<Ticket> = (0..n).map(|_| h.join(req(""), T0)).collect();
    let now = h.finish_round();
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    for t in &tickets {
        let r = h.joined(*t);
        assert_eq!(r.generation_id, 1);
    }
    let ids: Vec<String> = (1..=n).map(|i| format!("m{i}")).collect();
    let assignment: Vec<(String, String)> = ids.iter().map(|m| (m.clone(), format!("a-{m}"))).collect();
    let refs: Vec<(&str, &str)> = assignment.iter().map(|(m, a)| (m.as_str(), a.as_str())).collect();
    let followers: Vec<Ticket> = ids[1..].iter().map(|m| h.sync(m, 1, &[], now)).collect();
    let lt = h.sync("m1", 1, &refs, now);
    assert_eq!(h.synced(lt), Bytes::from("a-m1"));
    for (i, t) in followers.into_iter().enumerate() {
        assert_eq!(h.synced(t), Bytes::from(format!("a-m{}", i + 2)));
    }
    assert_eq!(h.g.state(), GroupState::Stable);
    h.records();
    (h, now)
}

// ----- JoinGroup -----------------------------------------------------------------------------

#[test]
fn first_join_v4_requires_member_id_then_waits_the_initial_delay() {
    let mut h = H::new();
    let t = h.join(JoinRequest { require_known_member_id: true, ..req("") }, T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::MemberIdRequired { member_id } if member_id == "m1");
    assert!(h.g.exists());
    assert_eq!(h.g.state(), GroupState::Empty);

    let t = h.join(req("m1"), T0 + 5);
    assert!(h.join_reply(t).is_none(), "parked until the initial delay");
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline, Some(T0 + 5 + 3_000));

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
    assert_eq!(h.g.join_deadline, Some(T0 + 6_000));
    let c = h.join(short.clone(), T0 + 5_000);
    h.tick(T0 + 6_000); // extended once more: delay min(3000, 1000) = 1000, remaining 0
    assert_eq!(h.g.join_deadline, Some(T0 + 7_000));
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
        let t = h.join(JoinRequest { session_timeout_ms: s, ..req("") }, T0);
        assert_err!(h.join_reply(t).unwrap(), GroupError::InvalidSessionTimeout);
    }
    assert!(!h.g.exists());
}

#[test]
fn inconsistent_protocols_are_rejected() {
    let mut h = H::new();
    let t = h.join(with_protocols(req(""), &[]), T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    let t = h.join(JoinRequest { protocol_type: String::new(), ..req("") }, T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);

    let (mut h, now) = stable(1);
    let t = h.join(JoinRequest { protocol_type: "connect".into(), ..req("") }, now);
    assert_err!(h.join_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    let t = h.join(with_protocols(req(""), &[("roundrobin", Bytes::new())]), now);
    assert_err!(h.join_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    let t = h.join(with_protocols(req("m1"), &[("roundrobin", Bytes::new())]), now);
    assert_err!(h.join_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    assert_eq!(h.g.state(), GroupState::Stable);
}

#[test]
fn protocol_is_chosen_by_votes_among_protocols_everyone_supports() {
    let mut h = H::new();
    let b = Bytes::new;
    let a = h.join(with_protocols(req(""), &[("sticky", b()), ("range", b()), ("rr", b())]), T0);
    let c = h.join(with_protocols(req(""), &[("range", b()), ("sticky", b())]), T0);
    let d = h.join(with_protocols(req(""), &[("range", b()), ("sticky", b()), ("rr", b())]), T0);
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
            JoinedMember { member_id: "m1".into(), group_instance_id: Some("i1".into()), metadata: sub(&["t"]) },
            JoinedMember { member_id: "m2".into(), group_instance_id: None, metadata: sub(&["t"]) },
        ]
    );
    assert!(follower.members.is_empty());
}

#[test]
fn group_max_size_is_enforced() {
    let mut h = H::with(GroupConfig { max_size: 2, ..cfg() });
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
    assert!(h.join_reply(t).is_some(), "an unchanged rejoin in CompletingRebalance is answered at once");
}

#[test]
fn follower_rejoin_with_same_metadata_in_stable_returns_current_generation() {
    let (mut h, now) = stable(2);
    let t = h.join(req("m2"), now + 1);
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.leader.as_str(), r.members.len()), (1, "m1", 0));
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
    let t = h.join(with_protocols(req("m2"), &[("range", sub(&["t", "u"]))]), now + 1);
    assert!(h.join_reply(t).is_none());
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.hb("m1", 1, now + 2), GroupError::RebalanceInProgress);
    let lt = h.join(req("m1"), now + 3);
    let r = h.joined(lt);
    assert_eq!(r.members.iter().find(|m| m.member_id == "m2").unwrap().metadata, sub(&["t", "u"]));
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
    let t = h.join(with_protocols(req("m1"), &[("range", sub(&["x"]))]), now + 3);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_err!(h.sync_reply(s).unwrap(), GroupError::RebalanceInProgress);
    assert!(h.join_reply(t).is_none());
}

#[test]
fn new_member_joining_a_stable_group_rebalances_and_waits_for_everyone() {
    let (mut h, now) = stable(2);
    let t3 = h.join(req(""), now + 10);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    assert_eq!(h.g.join_deadline, Some(now + 10 + REBALANCE));
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
    keep_alive(&mut h, &[("m2", None), ("m3", None)], now + 5_000, now + 55_000);
    h.tick(now + 1 + REBALANCE - 1);
    assert_eq!(h.g.state(), GroupState::PreparingRebalance);
    h.tick(now + 1 + REBALANCE);
    assert_eq!(h.g.state(), GroupState::CompletingRebalance);
    assert_eq!(h.g.member_ids(), vec!["m1"]);
    let r = h.joined(t1);
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert_err!(h.hb("m2", 1, now + REBALANCE + 2), GroupError::UnknownMemberId);
}

#[test]
fn a_leader_that_does_not_rejoin_is_replaced() {
    let (mut h, now) = stable(2);
    let t2 = h.join(with_protocols(req("m2"), &[("range", sub(&["z"]))]), now + 1);
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
    assert_err!(h.join_reply(first).unwrap(), GroupError::RebalanceInProgress);
    let t2 = h.join(req("m2"), now + 3);
    assert_eq!(h.joined(second).generation_id, 2);
    h.joined(t2);
}

// ----- SyncGroup -----------------------------------------------------------------------------

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
    let s1 = h.sync("m1", 1, &[("m1", "x"), ("m2", "y"), ("nobody", "z")], now + 3);
    assert_eq!(h.g.state(), GroupState::Stable);
    assert_eq!(h.synced(s1), Bytes::from("x"));
    assert_eq!(h.synced(s2), Bytes::from("y"));
    assert_eq!(h.synced(s3), Bytes::new());
    // The group is persisted with its assignment.
    let recs = h.records();
    assert_eq!(recs.len(), 1);
    let Record::Group { metadata, .. } = &recs[0] else { panic!("{recs:?}") };
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
    assert_err!(h.sync_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    let t = t + 1;
    h.g.sync(SyncRequest { protocol_name: None, protocol_type: Some("connect".into()), ..r.clone() }, t, now, &mut h.out);
    assert_err!(h.sync_reply(t).unwrap(), GroupError::InconsistentGroupProtocol);
    let t = t + 1;
    h.g.sync(SyncRequest { protocol_name: Some("range".into()), protocol_type: Some("consumer".into()), ..r }, t, now, &mut h.out);
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
    assert_eq!(h.g.sync_deadline, Some(now + REBALANCE));
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

// ----- Heartbeat and sessions ----------------------------------------------------------------

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
    let Some(Record::Group { metadata, .. }) = recs.last() else { panic!("{recs:?}") };
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
    let mut h = H::with(GroupConfig { new_member_join_timeout_ms: 20_000, ..cfg() });
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
    let t = h.join(JoinRequest { require_known_member_id: true, ..req("") }, now + 1);
    assert_err!(h.join_reply(t).unwrap(), GroupError::MemberIdRequired { .. });
    // Leader rejoins: the round cannot complete while m2 is pending.
    let lt = h.join(req("m1"), now + 2);
    assert!(h.join_reply(lt).is_none());
    h.tick(now + 1 + SESSION);
    assert_eq!(h.joined(lt).generation_id, 2);
}

// ----- LeaveGroup ----------------------------------------------------------------------------

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
        .leave(vec![LeaveMember { member_id: "x".into(), ..LeaveMember::default() }], T0, &mut missing.out)
        .unwrap();
    assert_err!(r[0].result.clone(), GroupError::UnknownMemberId);

    let mut h = H::new();
    let s = h.join(static_req("", "i1"), T0);
    let d = h.join(req(""), T0);
    let now = h.finish_round();
    h.joined(s);
    h.joined(d);
    let p = h.join(JoinRequest { require_known_member_id: true, ..req("") }, now);
    let pending = match h.join_reply(p) {
        Some(Err(GroupError::MemberIdRequired { member_id })) => member_id,
        other => panic!("{other:?}"),
    };
    h.leave(&pending, None, now).unwrap();
    assert_err!(h.leave("other", Some("i1"), now), GroupError::FencedInstanceId);
    assert_err!(h.leave("", Some("nobody"), now), GroupError::UnknownMemberId);
    h.leave("", Some("i1"), now).unwrap(); // admin removal by instance id
    assert_eq!(h.g.member_ids(), vec!["m2"]);
}

// ----- Static membership (KIP-345) -----------------------------------------------------------

fn stable_static() -> (H, i64) {
    let mut h = H::new();
    let a = h.join(static_req("", "i1"), T0);
    let b = h.join(static_req("", "i2"), T0);
    let now = h.finish_round();
    h.joined(a);
    h.joined(b);
    let s2 = h.sync("m2", 1, &[], now);
    let s1 = h.sync("m1", 1, &[("m1", "a1"), ("m2", "a2")], now);
    h.synced(s1);
    h.synced(s2);
    h.records();
    (h, now)
}

#[test]
fn static_follower_restart_keeps_its_assignment_without_rebalance() {
    let (mut h, now) = stable_static();
    let t = h.join(static_req("", "i2"), now + 100);
    let r = h.joined(t);
    assert_eq!(h.g.state(), GroupState::Stable);
    assert_eq!(r.member_id, "m3");
    assert_eq!((r.generation_id, r.leader.as_str(), r.members.len(), r.skip_assignment), (1, "m1", 0, false));
    assert!(matches!(h.records().as_slice(), [Record::Group { .. }]), "the replacement is persisted");
    let s = h.sync("m3", 1, &[], now + 101);
    assert_eq!(h.synced(s), Bytes::from("a2"));
    // The old member id is fenced.
    assert_err!(h.hb_static("m2", "i2", 1, now + 102), GroupError::FencedInstanceId);
    assert_err!(h.hb("m2", 1, now + 102), GroupError::UnknownMemberId);
    h.hb_static("m3", "i2", 1, now + 102).unwrap();
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
    let t = h.join(JoinRequest { supports_skip_assignment: false, ..static_req("", "i1") }, now + 100);
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
        with_protocols(static_req("", "i2"), &[("sticky", Bytes::new()), ("range", sub(&["t"]))]),
        now + 1,
    );
    // m1 does not support sticky: range stays, no rebalance.
    assert!(h.join_reply(t).is_some());
    let t = h.join(with_protocols(static_req("", "i1"), &[("sticky", Bytes::new()), ("range", sub(&["t"]))]), now + 2);
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
    let t1 = h.join(with_protocols(static_req("m1", "i1"), &[("range", sub(&["x"]))]), now + 1);
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
    assert_eq!(h.g.join_deadline, Some(now + 1 + 2 * REBALANCE));
    assert_eq!(h.g.member_ids(), vec!["m2"]);
    let t = h.join(static_req("m2", "i2"), now + REBALANCE + 10);
    let r = h.joined(t);
    assert_eq!((r.generation_id, r.leader.as_str()), (2, "m2"));
}

// ----- Offsets -------------------------------------------------------------------------------

#[test]
fn standalone_commit_creates_a_simple_group() {
    let mut h = H::new();
    let r = h.commit(-1, "", &[("t", 0, 42), ("t", 1, 7)], T0);
    assert!(r.iter().all(Result::is_ok));
    assert!(h.g.exists());
    assert_eq!(h.g.state(), GroupState::Empty);
    assert_eq!(h.records().len(), 2);
    let f = h.g.fetch_offsets(Some(vec![("t".into(), vec![0, 5])]), false);
    assert_eq!(
        f,
        vec![
            FetchedOffset { topic: "t".into(), partition: 0, offset: 42, leader_epoch: 1, metadata: "md42".into() },
            FetchedOffset { topic: "t".into(), partition: 5, offset: -1, leader_epoch: -1, metadata: String::new() },
        ]
    );
    assert_eq!(h.g.fetch_offsets(None, true).len(), 2);
    let l = h.g.listing().unwrap();
    assert_eq!((l.protocol_type.as_str(), l.state), ("", GroupState::Empty));
}

#[test]
fn commit_to_a_missing_group_with_a_generation_is_illegal() {
    let mut h = H::new();
    assert_err!(h.commit_default(3, "m1", &[("t", 0, 1)]).remove(0), GroupError::IllegalGeneration);
    assert!(!h.g.exists());
}

impl H {
    // Sugar for the test above (default time).
    fn commit_default(&mut self, generation: i32, member: &str, parts: &[(&str, i32, i64)]) -> Vec<Result<(), GroupError>> {
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
    assert_err!(h.commit(1, "m1", &[("t", 0, 1)], now).remove(0), GroupError::RebalanceInProgress);
    let s = h.sync("m1", 1, &[("m1", "x")], now);
    h.synced(s);
    h.records();
    // Stable
    assert!(h.commit(1, "m1", &[("t", 0, 5)], now).remove(0).is_ok());
    assert_err!(h.commit(0, "m1", &[("t", 0, 6)], now).remove(0), GroupError::IllegalGeneration);
    assert_err!(h.commit(1, "ghost", &[("t", 0, 6)], now).remove(0), GroupError::UnknownMemberId);
    assert_err!(h.commit(-1, "", &[("t", 0, 6)], now).remove(0), GroupError::UnknownMemberId);
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
            CommitPartition { topic: "t".into(), partition: 0, offset: 1, leader_epoch: -1, metadata: Some("x".repeat(4097)) },
            CommitPartition { topic: "t".into(), partition: 1, offset: 1, leader_epoch: -1, metadata: None },
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
    h.out = Outbox::default();
    h.commit(-1, "", &[("t", 0, 2), ("u", 0, 3)], T0);
    let undo = std::mem::take(&mut h.out.undo_offsets);
    h.g.undo_offsets(undo);
    assert_eq!(h.g.offsets().get("t", 0).unwrap().offset, 1);
    assert!(h.g.offsets().get("u", 0).is_none());
}

#[test]
fn delete_offsets_refuses_subscribed_topics() {
    let mut missing = H::new();
    assert_err!(missing.g.delete_offsets(vec![], &mut missing.out), GroupError::GroupIdNotFound);

    let (mut h, now) = stable(1); // subscribed to "t"
    h.commit(1, "m1", &[("t", 0, 1), ("old", 0, 2)], now);
    h.records();
    let r = h
        .g
        .delete_offsets(vec![("t".into(), vec![0]), ("old".into(), vec![0, 1])], &mut h.out)
        .unwrap();
    assert_err!(r[0].result.clone(), GroupError::GroupSubscribedToTopic);
    assert!(r[1].result.is_ok() && r[2].result.is_ok());
    assert!(h.g.offsets().get("old", 0).is_none());
    assert!(h.g.offsets().get("t", 0).is_some());
    assert_eq!(h.records().len(), 1, "a tombstone only for the offset that existed");
}

#[test]
fn delete_offsets_with_garbage_subscriptions_and_other_protocols() {
    let mut h = H::new();
    let t = h.join(with_protocols(req(""), &[("range", Bytes::from_static(b"\xff"))]), T0);
    h.finish_round();
    h.joined(t);
    h.g.offsets.put("t", 0, super::offsets::CommittedOffset { offset: 1, leader_epoch: -1, metadata: String::new(), commit_timestamp_ms: T0 });
    let r = h.g.delete_offsets(vec![("t".into(), vec![0])], &mut h.out).unwrap();
    assert!(r[0].result.is_ok(), "unreadable subscriptions subscribe to nothing");

    let mut c = H::new();
    let t = c.join(JoinRequest { protocol_type: "connect".into(), ..req("") }, T0);
    c.finish_round();
    c.joined(t);
    assert_err!(c.g.delete_offsets(vec![("t".into(), vec![0])], &mut c.out), GroupError::NonEmptyGroup);
}

#[test]
fn delete_group_rules() {
    let mut missing = H::new();
    assert_err!(missing.g.delete_group(T0, &mut missing.out), GroupError::GroupIdNotFound);

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
    assert_eq!(h.records(), vec![Record::GroupTombstone { group_id: "g".into() }]);
    assert_err!(h.g.delete_group(now, &mut h.out), GroupError::GroupIdNotFound);
    assert_eq!(h.g.describe().state, GroupState::Dead);
    assert!(h.g.listing().is_none());
}

#[test]
fn dead_group_answers_coordinator_not_available() {
    let mut h = H::new();
    h.commit(-1, "", &[("t", 0, 1)], T0);
    h.g.delete_group(T0, &mut h.out).unwrap();
    let t = h.join(req(""), T0);
    assert_err!(h.join_reply(t).unwrap(), GroupError::CoordinatorNotAvailable);
    assert_err!(h.commit(-1, "", &[("t", 0, 1)], T0).remove(0), GroupError::CoordinatorNotAvailable);
    assert_err!(h.hb("m1", 0, T0), GroupError::CoordinatorNotAvailable);
    assert_err!(h.g.leave(vec![], T0, &mut h.out), GroupError::CoordinatorNotAvailable);
}

#[test]
fn offsets_of_an_empty_group_expire_after_retention_and_the_group_dies() {
    let retention = 1_000_000;
    let mut h = H::with(GroupConfig { offsets_retention_ms: retention, offsets_retention_check_interval_ms: 1_000, ..cfg() });
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
            Record::OffsetTombstone { group_id: "g".into(), topic: "t".into(), partition: 0 },
            Record::GroupTombstone { group_id: "g".into() },
        ]
    );
}

#[test]
fn simple_group_offsets_expire_by_commit_time_via_the_periodic_check() {
    let mut h = H::with(GroupConfig { offsets_retention_ms: 100_000, offsets_retention_check_interval_ms: 10_000, ..cfg() });
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

// ----- Describe, list, restore ---------------------------------------------------------------

#[test]
fn describe_shows_metadata_and_assignments_only_when_stable() {
    let (mut h, now) = stable(2);
    let d = h.g.describe();
    assert_eq!((d.state, d.protocol_type.as_str(), d.protocol_data.as_str()), (GroupState::Stable, "consumer", "range"));
    assert_eq!(d.members.len(), 2);
    assert_eq!(d.members[0].client_id, "client");
    assert_eq!(d.members[0].client_host, "/127.0.0.1");
    assert_eq!(d.members[1].assignment, Bytes::from("a-m2"));
    assert_eq!(d.members[1].metadata, sub(&["t"]));
    h.join(req("m1"), now + 1);
    let d = h.g.describe();
    assert_eq!((d.state, d.protocol_data.as_str()), (GroupState::PreparingRebalance, ""));
    assert!(d.members.iter().all(|m| m.metadata.is_empty() && m.assignment.is_empty()));
    assert_eq!(H::new().g.describe().state, GroupState::Dead);
}

#[test]
fn restored_group_is_stable_with_members_and_fresh_session_timers() {
    let (mut h, _) = stable_static();
    h.commit(1, "m1", &[("t", 0, 9)], T0);
    let Record::Group { metadata, .. } = h.g.metadata_record() else { unreachable!() };
    let offsets = h.g.offsets().iter().map(|(t, p, o)| (t.to_string(), p, o.clone())).collect();
    let later = T0 + 3_600_000;
    let mut g = Group::restore("g", cfg(), LoadedGroup { metadata: Some(metadata), offsets }, later);
    let mut out = Outbox::default();
    g.on_loaded(later, &mut out);
    assert_eq!(g.state(), GroupState::Stable);
    assert_eq!(g.generation(), 1);
    assert_eq!(g.leader(), Some("m1"));
    assert_eq!(g.member_ids(), vec!["m1", "m2"]);
    assert_eq!(g.assignment("m2"), Some(Bytes::from("a2")));
    assert_eq!(g.offsets().get("t", 0).unwrap().offset, 9);
    assert_eq!(g.next_deadline(), Some(later + SESSION));
    // A restarted static member gets its partitions back without a rebalance.
    let mut h = H { g, out, ticket: 100, fresh: 100 };
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
    let Record::Group { metadata, .. } = h.g.metadata_record() else { unreachable!() };
    g = Group::restore("g", GroupConfig { max_size: 2, ..cfg() }, LoadedGroup { metadata: Some(metadata), offsets: vec![] }, T0);
    let mut out = Outbox::default();
    g.on_loaded(T0, &mut out);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
}
