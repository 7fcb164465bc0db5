//! Consumer-group figures with a raw-protocol driver (`--only groups`): simulated members speak
//! the wire protocol themselves, so hundreds of them cost the benchmark nothing.
//!
//! - Time from the members joining to every member holding its target assignment, for 3 and
//!   100 members (two partitions each), with the consumer protocol (KIP-848: members heartbeat
//!   again as soon as their assignment changed, as the Java client does) and, as the baseline,
//!   the classic protocol (JoinGroup/SyncGroup, the leader assigning round-robin) with Kafka's
//!   default `group.initial.rebalance.delay.ms` (3 s), which a new classic group waits for more
//!   members.
//! - A dead member: how long after its session timeout its partitions are owned again.
//! - Broker memory per consumer-group member: RSS growth with 1,000 members joined.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, GroupId, JoinGroupRequest, MetadataRequest, RequestHeader,
    SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use uuid::Uuid;

use crate::clients;
use crate::process::{memory_of, BrokerProcess};

const SESSION_MS: u64 = 2_000;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One connection, requests answered in order.
struct Conn {
    stream: TcpStream,
    next: i32,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Conn { stream, next: 1 }
    }

    fn send<R: Request>(&mut self, version: i16, body: &R) -> i32 {
        let id = self.next;
        self.next += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(id)
            .with_client_id(Some(s("bench")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, R::header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).expect("write");
        id
    }

    fn receive<R: Request>(&mut self, version: i16) -> R::Response {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).expect("read length");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).expect("read body");
        let mut buf = Bytes::from(body);
        let header_version = <R::Response as HeaderVersion>::header_version(version);
        // Response header: correlation id, then tagged fields when flexible.
        buf.advance(4);
        if header_version >= 1 {
            let tags = buf.get_u8();
            assert_eq!(tags, 0, "no tagged header fields expected");
        }
        R::Response::decode(&mut buf, version).expect("decode")
    }

    fn call<R: Request>(&mut self, version: i16, body: &R) -> R::Response {
        self.send(version, body);
        self.receive::<R>(version)
    }
}

/// The id of `topic`.
fn topic_id(conn: &mut Conn, topic: &str) -> Uuid {
    let request = MetadataRequest::default().with_topics(Some(vec![
        kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
            .with_name(Some(TopicName(s(topic)))),
    ]));
    let response = conn.call(12, &request);
    response.topics[0].topic_id
}

/// A simulated consumer-protocol member.
struct Sim {
    id: String,
    epoch: i32,
    owned: BTreeSet<i32>,
}

fn heartbeat(conn: &mut Conn, group: &str, topic: &str, tid: Uuid, m: &mut Sim) -> bool {
    let joining = m.epoch == 0;
    let mut r = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(&m.id))
        .with_member_epoch(m.epoch)
        .with_rebalance_timeout_ms(if joining { 30_000 } else { -1 })
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic_id(tid)
            .with_partitions(m.owned.iter().copied().collect())]));
    if joining {
        r = r
            .with_subscribed_topic_names(Some(vec![TopicName(s(topic))]))
            .with_topic_partitions(Some(Vec::new()));
    }
    let response = conn.call(1, &r);
    assert_eq!(response.error_code, 0, "heartbeat: {response:?}");
    m.epoch = response.member_epoch;
    match response.assignment {
        Some(a) => {
            let owned: BTreeSet<i32> = a
                .topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().copied())
                .collect();
            let changed = owned != m.owned;
            m.owned = owned;
            changed
        }
        None => false,
    }
}

fn converged(members: &[Sim], partitions: i32) -> bool {
    let epoch = members[0].epoch;
    let total: usize = members.iter().map(|m| m.owned.len()).sum();
    let union: BTreeSet<i32> = members
        .iter()
        .flat_map(|m| m.owned.iter().copied())
        .collect();
    let (min, max) = members.iter().fold((usize::MAX, 0), |(lo, hi), m| {
        (lo.min(m.owned.len()), hi.max(m.owned.len()))
    });
    members.iter().all(|m| m.epoch == epoch)
        && total == partitions as usize
        && union.len() == partitions as usize
        && max - min <= 1
}

/// KIP-848: `n` members join at once; time until all hold a balanced assignment at one epoch,
/// and the heartbeats each member sent until then.
fn consumer_protocol_assignment(addr: &str, n: usize) -> (Duration, usize) {
    let topic = format!("kip848-{n}");
    let partitions = 2 * n as i32;
    clients::create_topic(addr, &topic, partitions);
    let mut conn = Conn::open(addr);
    let tid = topic_id(&mut conn, &topic);
    let group = format!("g-{n}");
    let mut members: Vec<Sim> = (0..n)
        .map(|_| Sim {
            id: Uuid::new_v4().to_string(),
            epoch: 0,
            owned: BTreeSet::new(),
        })
        .collect();
    let start = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        for m in &mut members {
            heartbeat(&mut conn, &group, &topic, tid, m);
        }
        if converged(&members, partitions) {
            return (start.elapsed(), rounds);
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no convergence");
    }
}

/// Classic: `n` members send JoinGroup at once (each on its own connection), the leader
/// assigns round-robin in SyncGroup; time until every SyncGroup is answered.
fn classic_assignment(addr: &str, n: usize) -> Duration {
    let topic = format!("classic-{n}");
    let partitions = 2 * n as i32;
    clients::create_topic(addr, &topic, partitions);
    let group = format!("c-{n}");
    let mut conns: Vec<Conn> = (0..n).map(|_| Conn::open(addr)).collect();
    let subscription = {
        let mut b = BytesMut::new();
        b.put_i16(0);
        b.put_i32(1);
        b.put_i16(topic.len() as i16);
        b.put_slice(topic.as_bytes());
        b.put_i32(-1);
        b.freeze()
    };
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s(&group)))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("roundrobin"))
            .with_metadata(subscription)]);
    let start = Instant::now();
    for c in &mut conns {
        c.send(3, &join);
    }
    let joined: Vec<_> = conns
        .iter_mut()
        .map(|c| c.receive::<JoinGroupRequest>(3))
        .collect();
    let generation = joined[0].generation_id;
    for j in &joined {
        assert_eq!(
            (j.error_code, j.generation_id),
            (0, generation),
            "one round: {j:?}"
        );
    }
    let leader = joined
        .iter()
        .position(|j| j.leader == j.member_id)
        .expect("a leader");
    let ids: Vec<String> = joined[leader]
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    let mut plan: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for p in 0..partitions {
        plan.entry(ids[p as usize % ids.len()].as_str())
            .or_default()
            .push(p);
    }
    let assignments: Vec<SyncGroupRequestAssignment> = plan
        .iter()
        .map(|(member, parts)| {
            let mut b = BytesMut::new();
            b.put_i16(0);
            b.put_i32(1);
            b.put_i16(topic.len() as i16);
            b.put_slice(topic.as_bytes());
            b.put_i32(parts.len() as i32);
            for p in parts {
                b.put_i32(*p);
            }
            b.put_i32(-1);
            SyncGroupRequestAssignment::default()
                .with_member_id(s(member))
                .with_assignment(b.freeze())
        })
        .collect();
    for (i, c) in conns.iter_mut().enumerate() {
        let sync = SyncGroupRequest::default()
            .with_group_id(GroupId(s(&group)))
            .with_generation_id(generation)
            .with_member_id(joined[i].member_id.clone())
            .with_assignments(if i == leader {
                assignments.clone()
            } else {
                Vec::new()
            });
        c.send(3, &sync);
    }
    for c in &mut conns {
        let synced = c.receive::<SyncGroupRequest>(3);
        assert_eq!(synced.error_code, 0, "{synced:?}");
    }
    start.elapsed()
}

/// Three members; one stops heartbeating. Time from its session timeout until the two others
/// own all partitions.
fn dead_member_reassignment(addr: &str) -> Duration {
    let topic = "dead";
    clients::create_topic(addr, topic, 6);
    let mut conn = Conn::open(addr);
    let tid = topic_id(&mut conn, topic);
    let mut members: Vec<Sim> = (0..3)
        .map(|_| Sim {
            id: Uuid::new_v4().to_string(),
            epoch: 0,
            owned: BTreeSet::new(),
        })
        .collect();
    while !converged(&members, 6) {
        for m in &mut members {
            heartbeat(&mut conn, "dead-group", topic, tid, m);
        }
    }
    let mut dead = members.pop().expect("three members");
    let last_beat = Instant::now();
    heartbeat(&mut conn, "dead-group", topic, tid, &mut dead);
    loop {
        for m in &mut members {
            heartbeat(&mut conn, "dead-group", topic, tid, m);
        }
        if converged(&members, 6) {
            return last_beat
                .elapsed()
                .saturating_sub(Duration::from_millis(SESSION_MS));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// RSS growth per member with `n` members in one group (over one connection).
fn memory_per_member(broker: &BrokerProcess, n: usize) -> f64 {
    let topic = "memory";
    clients::create_topic(&broker.addr, topic, 64);
    let mut conn = Conn::open(&broker.addr);
    let tid = topic_id(&mut conn, topic);
    // One member first, so the group and its task exist before the baseline reading.
    let mut first = Sim {
        id: Uuid::new_v4().to_string(),
        epoch: 0,
        owned: BTreeSet::new(),
    };
    heartbeat(&mut conn, "memory-group", topic, tid, &mut first);
    std::thread::sleep(Duration::from_millis(200));
    let before = memory_of(broker.pid()).rss_kib;
    let mut members: Vec<Sim> = (0..n)
        .map(|_| Sim {
            id: Uuid::new_v4().to_string(),
            epoch: 0,
            owned: BTreeSet::new(),
        })
        .collect();
    let joining = Instant::now();
    for m in &mut members {
        heartbeat(&mut conn, "memory-group", topic, tid, m);
    }
    eprintln!(
        "  {n} members joined one after another in {:?}",
        joining.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    let after = memory_of(broker.pid()).rss_kib;
    (after.saturating_sub(before) as f64 * 1024.0) / n as f64
}

/// Runs every group figure; returns README table rows.
pub fn run(repeats: usize) -> Vec<String> {
    let settings = |delay: &str| -> Vec<String> {
        vec![
            format!("group.initial.rebalance.delay.ms={delay}"),
            format!("group.consumer.session.timeout.ms={SESSION_MS}"),
            "group.consumer.min.session.timeout.ms=1000".into(),
            "group.consumer.heartbeat.interval.ms=200".into(),
            "group.consumer.min.heartbeat.interval.ms=100".into(),
        ]
    };
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut rows = Vec::new();
    for n in [3usize, 100] {
        eprintln!("running group assignment with {n} members ({repeats}x)");
        let mut rounds = 0;
        let kip: Vec<Duration> = (0..repeats)
            .map(|_| {
                let b = BrokerProcess::start(&settings("3000"));
                let (d, r) = consumer_protocol_assignment(&b.addr, n);
                b.stop();
                rounds = rounds.max(r);
                d
            })
            .collect();
        let classic_default: Vec<Duration> = (0..repeats)
            .map(|_| {
                let b = BrokerProcess::start(&settings("3000"));
                let d = classic_assignment(&b.addr, n);
                b.stop();
                d
            })
            .collect();
        let (k, c3) = (median(kip), median(classic_default));
        rows.push(format!(
            "| {n} members join, every member holding its target assignment ({rounds} heartbeats each) | {:.1} ms | {:.1} ms | {:.0}x |",
            ms(k),
            ms(c3),
            ms(c3) / ms(k),
        ));
    }
    eprintln!("running dead-member reassignment ({repeats}x)");
    let dead: Vec<Duration> = (0..repeats)
        .map(|_| {
            let b = BrokerProcess::start(&settings("0"));
            let d = dead_member_reassignment(&b.addr);
            b.stop();
            d
        })
        .collect();
    rows.push(format!(
        "| dead member's partitions owned again, beyond its {SESSION_MS} ms session timeout | {:.1} ms | | |",
        ms(median(dead))
    ));
    eprintln!("running memory per member");
    // Sessions long enough for a thousand members to join one after another.
    let mut long = settings("0");
    long.push("group.consumer.session.timeout.ms=60000".into());
    let b = BrokerProcess::start(&long);
    let per = memory_per_member(&b, 1_000);
    b.stop();
    rows.push(format!(
        "| broker memory per consumer-group member (RSS growth, 1,000 members) | {:.0} bytes | | |",
        per
    ));
    rows
}
