//! Tests of the running coordinator (tasks, timers, store) on a manual clock: time moves only
//! when a test advances it, so every timer is checked to the millisecond, and real time never
//! fires one.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;

use super::api::*;
use super::config::GroupConfig;
use super::error::GroupError;
use super::handle::GroupCoordinator;
use super::state::GroupState;
use super::subscription::encode_subscription;
use crate::clock::{monotonic, ManualClock};

/// A bound on each wait for an answer, in real time: only reached when a test fails.
const ANSWER: Duration = Duration::from_secs(10);

fn req(group: &str, member_id: &str) -> JoinRequest {
    JoinRequest {
        group_id: group.into(),
        member_id: member_id.into(),
        client_id: "rdkafka".into(),
        client_host: "/127.0.0.1".into(),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), encode_subscription(&["t"]))],
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 20_000,
        supports_skip_assignment: true,
        ..JoinRequest::default()
    }
}

fn sync(group: &str, member: &str, generation: i32, assignments: &[(&str, &str)]) -> SyncRequest {
    SyncRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::from(a.to_string())))
            .collect(),
        ..SyncRequest::default()
    }
}

fn hb(group: &str, member: &str, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: group.into(),
        generation_id: generation,
        member_id: member.into(),
        group_instance_id: None,
    }
}

async fn start(dir: &Path, clock: &ManualClock) -> GroupCoordinator {
    GroupCoordinator::start(dir.to_path_buf(), GroupConfig::default(), clock.clock())
        .await
        .unwrap()
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A request started (sent to its group's task) but not awaited yet.
type Pending<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Sends `request` to `group` and returns once the group's task has handled it (at the
/// clock's current time), without waiting for the answer.
async fn send<T>(
    c: &GroupCoordinator,
    group: &str,
    request: impl Future<Output = T> + Send + 'static,
) -> Pending<T> {
    let mut request: Pending<T> = Box::pin(request);
    // The first poll dispatches the request.
    assert!((&mut request).now_or_never().is_none(), "answered at once");
    c.describe_groups(vec![group.into()]).await;
    request
}

/// Whether `request` has its answer, once `group` has handled everything sent before (its
/// task handles requests in order, and timers that are due before requests).
async fn answered<T>(c: &GroupCoordinator, group: &str, request: &mut Pending<T>) -> bool {
    c.describe_groups(vec![group.into()]).await;
    request.now_or_never().is_some()
}

async fn wait<T>(request: impl Future<Output = T>) -> T {
    monotonic::timeout(ANSWER, request)
        .await
        .expect("an answer in time")
}

/// Two dynamic members joined and synced: (leader id, follower id). The clock moves 6 s: the
/// initial rebalance delay, extended once because the second member arrived during it.
async fn stable_pair(c: &GroupCoordinator, clock: &ManualClock, group: &str) -> (String, String) {
    let (c1, c2, g) = (c.clone(), c.clone(), group.to_string());
    let first = send(c, group, async move { c1.join_group(req(&g, "")).await }).await;
    let g = group.to_string();
    let mut second = send(c, group, async move { c2.join_group(req(&g, "")).await }).await;
    clock.advance(ms(3_000));
    assert!(
        !answered(c, group, &mut second).await,
        "the delay is extended"
    );
    clock.advance(ms(3_000));
    let (a, b) = (wait(first).await.unwrap(), wait(second).await.unwrap());
    let (leader, follower) = if a.leader == a.member_id {
        (a, b)
    } else {
        (b, a)
    };
    let assignments = [
        (leader.member_id.as_str(), "L"),
        (follower.member_id.as_str(), "F"),
    ];
    let (l, f) = tokio::join!(
        c.sync_group(sync(group, &leader.member_id, 1, &assignments)),
        c.sync_group(sync(group, &follower.member_id, 1, &[]))
    );
    assert_eq!(l.unwrap().assignment, Bytes::from("L"));
    assert_eq!(f.unwrap().assignment, Bytes::from("F"));
    (leader.member_id, follower.member_id)
}

#[tokio::test]
async fn first_join_waits_the_initial_rebalance_delay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let err = c
        .join_group(JoinRequest {
            require_known_member_id: true,
            ..req("g", "")
        })
        .await
        .unwrap_err();
    let GroupError::MemberIdRequired { member_id } = err else {
        panic!("{err:?}")
    };
    assert!(member_id.starts_with("rdkafka-"));
    let c2 = c.clone();
    let id = member_id.clone();
    let mut join = send(&c, "g", async move { c2.join_group(req("g", &id)).await }).await;
    clock.advance(ms(2_999));
    assert!(
        !answered(&c, "g", &mut join).await,
        "answered before the delay"
    );
    clock.advance(ms(1));
    let r = wait(join).await.unwrap();
    assert_eq!(
        (r.generation_id, r.leader.as_str()),
        (1, member_id.as_str())
    );
    assert_eq!(
        c.list_groups(&[], &[])[0].state,
        GroupState::CompletingRebalance.as_str()
    );
    c.shutdown().await;
}

#[tokio::test]
async fn a_silent_member_is_removed_after_its_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let (leader, follower) = stable_pair(&c, &clock, "g").await;
    // The leader heartbeats every 3 s; the follower's 10 s session (from its SyncGroup) runs
    // out at 10 s exactly.
    for _ in 0..3 {
        clock.advance(ms(3_000));
        assert!(c.heartbeat(hb("g", &leader, 1)).await.is_ok());
    }
    clock.advance(ms(999));
    assert!(c.heartbeat(hb("g", &leader, 1)).await.is_ok());
    clock.advance(ms(1));
    assert!(matches!(
        c.heartbeat(hb("g", &leader, 1)).await,
        Err(GroupError::RebalanceInProgress)
    ));
    let r = wait(c.join_group(req("g", &leader))).await.unwrap();
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert!(matches!(
        c.heartbeat(hb("g", &follower, 1)).await,
        Err(GroupError::UnknownMemberId)
    ));
    c.shutdown().await;
}

#[tokio::test]
async fn the_rebalance_timeout_bounds_a_join_round() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let (leader, follower) = stable_pair(&c, &clock, "g").await;
    let c2 = c.clone();
    let mut join = send(
        &c,
        "g",
        async move { c2.join_group(req("g", &leader)).await },
    )
    .await;
    // The follower stays alive (heartbeats every 3 s) but never rejoins.
    for _ in 0..6 {
        clock.advance(ms(3_000));
        assert!(matches!(
            c.heartbeat(hb("g", &follower, 1)).await,
            Err(GroupError::RebalanceInProgress)
        ));
    }
    clock.advance(ms(1_999));
    assert!(!answered(&c, "g", &mut join).await, "answered before 20 s");
    clock.advance(ms(1));
    let r = wait(join).await.unwrap();
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert!(matches!(
        c.heartbeat(hb("g", &follower, 1)).await,
        Err(GroupError::UnknownMemberId)
    ));
    c.shutdown().await;
}

#[tokio::test]
async fn groups_do_not_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let c2 = c.clone();
    // Parked until the clock passes the initial rebalance delay, which it does not yet.
    let mut parked = send(
        &c,
        "slow",
        async move { c2.join_group(req("slow", "")).await },
    )
    .await;
    let commit = CommitRequest {
        group_id: "fast".into(),
        generation_id: -1,
        partitions: vec![CommitPartition {
            topic: "t".into(),
            partition: 0,
            offset: 5,
            leader_epoch: -1,
            metadata: None,
        }],
        ..CommitRequest::default()
    };
    assert!(c.commit_offsets(commit).await[0].result.is_ok());
    let f = c.fetch_offsets("fast", None, false).await.unwrap();
    assert_eq!(f[0].offset, 5);
    assert!(!answered(&c, "slow", &mut parked).await);
    clock.advance(ms(3_000));
    assert_eq!(wait(parked).await.unwrap().generation_id, 1);
    c.shutdown().await;
}

#[tokio::test]
async fn unknown_groups_list_describe_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let d = c.describe_groups(vec!["nope".into()]).await;
    assert_eq!(d[0].1.as_ref().unwrap().state, GroupState::Dead.as_str());
    let f = c
        .fetch_offsets("nope", Some(vec![("t".into(), vec![0])]), true)
        .await
        .unwrap();
    assert_eq!(f[0].offset, -1);
    assert!(matches!(
        c.delete_groups(vec!["nope".into()]).await[0].1,
        Err(GroupError::GroupIdNotFound)
    ));
    assert!(matches!(
        c.delete_offsets("nope", vec![]).await,
        Err(GroupError::GroupIdNotFound)
    ));
    assert!(matches!(
        c.heartbeat(hb("nope", "m", 1)).await,
        Err(GroupError::UnknownMemberId)
    ));
    assert!(matches!(
        c.heartbeat(hb("", "m", 1)).await,
        Err(GroupError::InvalidGroupId)
    ));
    assert!(c.list_groups(&[], &[]).is_empty());

    let (_, _) = stable_pair(&c, &clock, "live").await;
    let commit = CommitRequest {
        group_id: "simple".into(),
        generation_id: -1,
        ..CommitRequest::default()
    };
    c.commit_offsets(commit).await;
    let all = c.list_groups(&[], &[]);
    assert_eq!(
        all.iter().map(|l| l.group_id.as_str()).collect::<Vec<_>>(),
        vec!["live", "simple"]
    );
    assert_eq!(c.list_groups(&["stable".into()], &[]).len(), 1);
    let del = c.delete_groups(vec!["live".into(), "simple".into()]).await;
    assert!(matches!(del[0].1, Err(GroupError::NonEmptyGroup)));
    assert!(del[1].1.is_ok());
    // The deleted group is gone, and a new one of the same name can be created.
    assert_eq!(c.list_groups(&[], &[]).len(), 1);
    let commit = CommitRequest {
        group_id: "simple".into(),
        generation_id: -1,
        ..CommitRequest::default()
    };
    c.commit_offsets(commit).await;
    assert_eq!(c.list_groups(&["EMPTY".into()], &[]).len(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn groups_and_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    let join = |m: &str| JoinRequest {
        group_instance_id: Some("instance-1".into()),
        ..req("g", m)
    };
    let c2 = c.clone();
    let first = send(&c, "g", async move { c2.join_group(join("")).await }).await;
    clock.advance(ms(3_000));
    let r = wait(first).await.unwrap();
    let member = r.member_id.clone();
    c.sync_group(sync("g", &member, 1, &[(&member, "mine")]))
        .await
        .unwrap();
    let commit = CommitRequest {
        group_id: "g".into(),
        generation_id: 1,
        member_id: member.clone(),
        partitions: vec![CommitPartition {
            topic: "t".into(),
            partition: 2,
            offset: 42,
            leader_epoch: 7,
            metadata: Some("state".into()),
        }],
        ..CommitRequest::default()
    };
    assert!(c.commit_offsets(commit).await[0].result.is_ok());
    c.shutdown().await;
    assert!(matches!(
        c.heartbeat(hb("g", &member, 1)).await,
        Err(GroupError::CoordinatorNotAvailable)
    ));

    let c = start(dir.path(), &clock).await;
    let f = c.fetch_offsets("g", None, false).await.unwrap();
    assert_eq!(
        f,
        vec![FetchedOffset {
            topic: "t".into(),
            partition: 2,
            offset: 42,
            leader_epoch: 7,
            metadata: "state".into(),
            unstable: false,
        }]
    );
    let d = c
        .describe_groups(vec!["g".into()])
        .await
        .remove(0)
        .1
        .unwrap();
    assert_eq!(d.state, GroupState::Stable.as_str());
    assert_eq!(d.members[0].member_id, member);
    assert_eq!(d.members[0].assignment, Bytes::from("mine"));
    // The restarted static member gets its assignment back at once, without a rebalance
    // (which would wait for the clock to pass the initial delay).
    let r = wait(c.join_group(join(""))).await.unwrap();
    assert_eq!(r.generation_id, 1);
    let s = wait(c.sync_group(sync("g", &r.member_id, 1, &[])))
        .await
        .unwrap();
    assert_eq!(s.assignment, Bytes::from("mine"));
    c.shutdown().await;
}

#[tokio::test]
async fn describing_and_deleting_many_unknown_groups_starts_no_task() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let c = start(dir.path(), &clock).await;
    stable_pair(&c, &clock, "real").await;
    let started = c.tasks_started();
    let mut ids: Vec<String> = (0..200_000).map(|i| format!("nope-{i}")).collect();
    ids.push("real".into());
    let described = c.describe_groups(ids.clone()).await;
    assert_eq!(described.len(), ids.len());
    assert!(described[..200_000]
        .iter()
        .all(|(_, d)| d.as_ref().unwrap().state == GroupState::Dead.as_str()));
    assert_eq!(
        described[200_000].1.as_ref().unwrap().state,
        GroupState::Stable.as_str()
    );
    let described = c.consumer_describe_groups(ids.clone()).await;
    assert!(described[..200_000]
        .iter()
        .all(|(_, d)| matches!(d, Err(GroupError::GroupIdNotFound))));
    assert!(matches!(
        described[200_000].1,
        Err(GroupError::NotConsumerGroup(_))
    ));
    let deleted = c.delete_groups(ids[..200_000].to_vec()).await;
    assert!(deleted
        .iter()
        .all(|(_, r)| matches!(r, Err(GroupError::GroupIdNotFound))));
    assert_eq!(
        c.tasks_started(),
        started,
        "tasks were started for unknown groups"
    );
    c.shutdown().await;
}
