//! Unit tests of the pure group state machine: every state transition and error path, with
//! explicit times (no sleeps, no sockets, no runtime). This file holds the harness; one file
//! per request kind.

use bytes::Bytes;

use super::api::*;
use super::config::GroupConfig;
use super::error::GroupError;
use super::group::{Effects, Group};
use super::member::Ticket;
use super::offsets::CommittedOffset;
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
    r.protocols = protocols
        .iter()
        .map(|(n, m)| (n.to_string(), m.clone()))
        .collect();
    r
}

/// A group plus the bookkeeping an actor would do.
struct H {
    g: Group,
    out: Effects,
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
            out: Effects::default(),
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

    fn sync(
        &mut self,
        member: &str,
        generation: i32,
        assignments: &[(&str, &str)],
        now: i64,
    ) -> Ticket {
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

    fn hb_static(
        &mut self,
        member: &str,
        instance: &str,
        generation: i32,
        now: i64,
    ) -> Result<(), GroupError> {
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
            now = self
                .g
                .join_deadline()
                .expect("an open round has a join timer");
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

    fn commit(
        &mut self,
        generation: i32,
        member: &str,
        parts: &[(&str, i32, i64)],
        now: i64,
    ) -> Vec<Result<(), GroupError>> {
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
        self.g
            .commit_offsets(r, now, &mut self.out)
            .into_iter()
            .map(|r| r.result)
            .collect()
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
    let assignment: Vec<(String, String)> =
        ids.iter().map(|m| (m.clone(), format!("a-{m}"))).collect();
    let refs: Vec<(&str, &str)> = assignment
        .iter()
        .map(|(m, a)| (m.as_str(), a.as_str()))
        .collect();
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

mod consumer_store;
mod describe_restore;
mod heartbeat;
/// A Stable group of two static members: m1 (instance i1, leader, assigned "a1") and m2
/// (instance i2, assigned "a2"), generation 1.
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

mod join;
mod leave;
mod offsets;
mod static_membership;
mod store;
mod sync;
mod txn_offsets;
