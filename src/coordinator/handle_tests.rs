//! Tests of the running coordinator (tasks, timers, store) with tokio's paused clock.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::api::*;
use super::config::GroupConfig;
use super::error::GroupError;
use super::handle::GroupCoordinator;
use super::state::GroupState;
use super::subscription::encode_subscription;

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

async fn start(dir: &Path) -> GroupCoordinator {
    GroupCoordinator::start(dir.to_path_buf(), GroupConfig::default())
        .await
        .unwrap()
}

/// Two dynamic members joined and synced: (leader id, follower id).
async fn stable_pair(c: &GroupCoordinator, group: &str) -> (String, String) {
    let (a, b) = tokio::join!(c.join_group(req(group, "")), c.join_group(req(group, "")));
    let (a, b) = (a.unwrap(), b.unwrap());
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

#[tokio::test(start_paused = true)]
async fn first_join_waits_the_initial_rebalance_delay() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let begin = Instant::now();
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
    let r = c.join_group(req("g", &member_id)).await.unwrap();
    let waited = begin.elapsed();
    assert!(
        waited >= Duration::from_millis(3_000) && waited < Duration::from_millis(3_100),
        "{waited:?}"
    );
    assert_eq!(
        (r.generation_id, r.leader.as_str()),
        (1, member_id.as_str())
    );
    assert_eq!(c.list_groups(&[])[0].state, GroupState::CompletingRebalance);
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_member_is_removed_after_its_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let (leader, follower) = stable_pair(&c, "g").await;
    let begin = Instant::now();
    let mut answer = Ok(());
    while answer.is_ok() {
        tokio::time::sleep(Duration::from_millis(3_000)).await;
        answer = c.heartbeat(hb("g", &leader, 1)).await;
        assert!(begin.elapsed() < Duration::from_millis(13_000));
    }
    assert!(matches!(answer, Err(GroupError::RebalanceInProgress)));
    assert!(begin.elapsed() >= Duration::from_millis(10_000));
    let r = c.join_group(req("g", &leader)).await.unwrap();
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    assert!(matches!(
        c.heartbeat(hb("g", &follower, 1)).await,
        Err(GroupError::UnknownMemberId)
    ));
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_rebalance_timeout_bounds_a_join_round() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let (leader, follower) = stable_pair(&c, "g").await;
    // The follower stays alive but never rejoins.
    let c2 = c.clone();
    let keep_alive = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(3_000)).await;
            if let Err(GroupError::UnknownMemberId) = c2.heartbeat(hb("g", &follower, 1)).await {
                return;
            }
        }
    });
    let begin = Instant::now();
    let r = c.join_group(req("g", &leader)).await.unwrap();
    let waited = begin.elapsed();
    assert!(
        waited >= Duration::from_millis(20_000) && waited < Duration::from_millis(20_100),
        "{waited:?}"
    );
    assert_eq!((r.generation_id, r.members.len()), (2, 1));
    keep_alive.await.unwrap();
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn groups_do_not_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let c2 = c.clone();
    let parked = tokio::spawn(async move { c2.join_group(req("slow", "")).await });
    tokio::task::yield_now().await;
    let begin = Instant::now();
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
    assert!(begin.elapsed() < Duration::from_millis(3_000));
    assert!(!parked.is_finished());
    assert_eq!(parked.await.unwrap().unwrap().generation_id, 1);
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn unknown_groups_list_describe_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let d = c.describe_groups(vec!["nope".into()]).await;
    assert_eq!(d[0].1.as_ref().unwrap().state, GroupState::Dead);
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
    assert!(c.list_groups(&[]).is_empty());

    let (_, _) = stable_pair(&c, "live").await;
    let commit = CommitRequest {
        group_id: "simple".into(),
        generation_id: -1,
        ..CommitRequest::default()
    };
    c.commit_offsets(commit).await;
    let all = c.list_groups(&[]);
    assert_eq!(
        all.iter().map(|l| l.group_id.as_str()).collect::<Vec<_>>(),
        vec!["live", "simple"]
    );
    assert_eq!(c.list_groups(&["stable".into()]).len(), 1);
    let del = c.delete_groups(vec!["live".into(), "simple".into()]).await;
    assert!(matches!(del[0].1, Err(GroupError::NonEmptyGroup)));
    assert!(del[1].1.is_ok());
    // The deleted group is gone, and a new one of the same name can be created.
    assert_eq!(c.list_groups(&[]).len(), 1);
    let commit = CommitRequest {
        group_id: "simple".into(),
        generation_id: -1,
        ..CommitRequest::default()
    };
    c.commit_offsets(commit).await;
    assert_eq!(c.list_groups(&["EMPTY".into()]).len(), 1);
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn groups_and_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    let join = |m: &str| JoinRequest {
        group_instance_id: Some("instance-1".into()),
        ..req("g", m)
    };
    let r = c.join_group(join("")).await.unwrap();
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

    let c = start(dir.path()).await;
    let f = c.fetch_offsets("g", None, false).await.unwrap();
    assert_eq!(
        f,
        vec![FetchedOffset {
            topic: "t".into(),
            partition: 2,
            offset: 42,
            leader_epoch: 7,
            metadata: "state".into()
        }]
    );
    let d = c
        .describe_groups(vec!["g".into()])
        .await
        .remove(0)
        .1
        .unwrap();
    assert_eq!(d.state, GroupState::Stable);
    assert_eq!(d.members[0].member_id, member);
    assert_eq!(d.members[0].assignment, Bytes::from("mine"));
    // The restarted static member gets its assignment back at once, without a rebalance.
    let begin = Instant::now();
    let r = c.join_group(join("")).await.unwrap();
    assert_eq!(r.generation_id, 1);
    let s = c.sync_group(sync("g", &r.member_id, 1, &[])).await.unwrap();
    assert_eq!(s.assignment, Bytes::from("mine"));
    assert!(begin.elapsed() < Duration::from_millis(100));
    c.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn describing_and_deleting_many_unknown_groups_starts_no_task() {
    let dir = tempfile::tempdir().unwrap();
    let c = start(dir.path()).await;
    stable_pair(&c, "real").await;
    let started = c.tasks_started();
    let mut ids: Vec<String> = (0..200_000).map(|i| format!("nope-{i}")).collect();
    ids.push("real".into());
    let described = c.describe_groups(ids.clone()).await;
    assert_eq!(described.len(), ids.len());
    assert!(described[..200_000]
        .iter()
        .all(|(_, d)| d.as_ref().unwrap().state == GroupState::Dead));
    assert_eq!(
        described[200_000].1.as_ref().unwrap().state,
        GroupState::Stable
    );
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
