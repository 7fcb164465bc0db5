//! Three librdkafka members share a 6-partition topic; one crashes (SIGKILL, no LeaveGroup) and
//! the survivors take over its partitions after its session timeout, resuming from the
//! committed offsets. [`crash_takeover`] is shared with the cooperative-sticky test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::member::{lock, member_config, Observed, PyMember, RdMember};
use super::{
    assert_exactly_once, committed, create_topic, group_broker, produce, wait_until, WAIT,
};

const TOPIC: &str = "orders";
const SESSION_MS: u64 = 3000;
const HEARTBEAT_MS: u64 = 300;

/// What the two surviving members observed, for strategy-specific checks.
pub struct Outcome {
    pub survivors: Vec<Observed>,
}

/// The whole scenario with `partition.assignment.strategy=strategy`: members join one by one
/// (A, then B, then the Python member C), records are consumed exactly once, C is killed, and
/// A and B end up owning all six partitions and consume what follows exactly once.
pub async fn crash_takeover(strategy: &str, group: &str) -> Outcome {
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, TOPIC, 6, WAIT).await;
    let config = || {
        member_config(
            &bootstrap,
            group,
            &[("partition.assignment.strategy", strategy)],
        )
    };

    let a = RdMember::start("A", config(), TOPIC);
    wait_until("A to own all six partitions", WAIT, || {
        (a.owned().len() == 6).then_some(())
    })
    .await;
    let b = RdMember::start("B", config(), TOPIC);
    wait_for_split(&[&a, &b], &[], 3).await;
    let mut c = PyMember::start(
        "C",
        &bootstrap,
        group,
        TOPIC,
        &[
            "--strategy",
            strategy,
            "--session-ms",
            &SESSION_MS.to_string(),
        ],
    );
    wait_for_split(&[&a, &b], &[&mut c], 2).await;

    // Every record is consumed once, by the member that owns its partition.
    let first = produce(&bootstrap, TOPIC, 6, 10, "first").await;
    let owners = [
        (a.name.clone(), a.owned()),
        (b.name.clone(), b.owned()),
        (c.name.clone(), c.owned()),
    ];
    let c_seen = c.seen.clone();
    let all = || {
        let mut records = Vec::new();
        for seen in [&a.seen, &b.seen, &c_seen] {
            let s = lock(seen);
            assert!(s.failure.is_none(), "member failed: {:?}", s.failure);
            records.extend(s.records.iter().cloned());
        }
        records
    };
    wait_until("the first 60 records to be consumed", WAIT, || {
        c.check_alive();
        (all().len() >= first.len()).then_some(())
    })
    .await;
    let consumed = all();
    assert_exactly_once(&consumed, &first);
    for r in &consumed {
        let (_, owned) = owners.iter().find(|(n, _)| *n == r.member).expect("member");
        assert!(
            owned.contains(&r.partition),
            "{r:?} consumed by a member not owning it: {owners:?}"
        );
    }
    let c_partitions = c.owned();
    let c_records = lock(&c.seen).records.clone();

    // C dies without leaving; A and B take over once its session expires.
    c.kill_hard();
    let killed = Instant::now();
    let second = produce(&bootstrap, TOPIC, 6, 10, "second").await;
    wait_for_split(&[&a, &b], &[], 3).await;
    let took_over = [&a, &b]
        .iter()
        .filter_map(|m| lock(&m.seen).owned_changed)
        .max()
        .expect("owned changed");
    let floor = Duration::from_millis(SESSION_MS - HEARTBEAT_MS - 500);
    assert!(
        took_over.duration_since(killed) >= floor,
        "C's partitions moved {:?} after the kill, before its session could expire",
        took_over.duration_since(killed)
    );
    let expected: Vec<(i32, i64)> = first.iter().chain(&second).copied().collect();
    let records = wait_until("all 120 records to be consumed", WAIT, || {
        let mut records = c_records.clone();
        for seen in [&a.seen, &b.seen] {
            let s = lock(seen);
            assert!(s.failure.is_none(), "member failed: {:?}", s.failure);
            records.extend(s.records.iter().cloned());
        }
        (records.len() >= expected.len()).then_some(records)
    })
    .await;
    // Nothing C committed is consumed again; what C never saw is consumed once by A or B.
    assert_exactly_once(&records, &expected);
    for p in &c_partitions {
        let resumed: Vec<i64> = records
            .iter()
            .filter(|r| r.partition == *p && r.member != "C")
            .map(|r| r.offset)
            .collect();
        assert_eq!(
            resumed.iter().min(),
            Some(&10),
            "partition {p} resumed at {resumed:?}"
        );
    }

    // Give the last commits a moment to be visible, then check them from outside the group.
    let survivors_done = wait_until(
        "committed offsets at the end of every partition",
        WAIT,
        || {
            let got = committed(&bootstrap, group, TOPIC, 6, WAIT);
            got.values().all(|(o, _)| *o == 20).then_some(got)
        },
    )
    .await;
    assert_eq!(survivors_done.len(), 6);

    // What the survivors saw before closing (a close revokes everything).
    let survivors = [&a, &b].iter().map(|m| lock(&m.seen).clone()).collect();
    drop((a, b));
    Outcome { survivors }
}

/// Waits until the members own disjoint sets of exactly `each` partitions covering all six.
async fn wait_for_split(rd: &[&RdMember], py: &[&mut PyMember], each: usize) {
    let what = format!(
        "{} members to own {each} partitions each",
        rd.len() + py.len()
    );
    let mut last = Vec::new();
    let result = tokio::time::timeout(WAIT, async {
        loop {
            let owned: Vec<BTreeSet<i32>> = rd
                .iter()
                .map(|m| m.owned())
                .chain(py.iter().map(|m| m.owned()))
                .collect();
            let union: BTreeSet<i32> = owned.iter().flatten().copied().collect();
            let total: usize = owned.iter().map(BTreeSet::len).sum();
            if owned.iter().all(|o| o.len() == each) && union.len() == 6 && total == 6 {
                return;
            }
            last = owned;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if result.is_err() {
        panic!("timed out waiting for {what}; last seen {last:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_share_partitions_and_survivors_resume_a_crashed_members_partitions() {
    let outcome = crash_takeover("range,roundrobin", "rd-eager").await;
    assert_eq!(outcome.survivors.len(), 2);
}
