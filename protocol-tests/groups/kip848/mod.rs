//! The next-generation consumer group protocol (KIP-848) with real clients: the Java 4.3
//! consumer and confluent-kafka 2.16 (librdkafka) with `group.protocol=consumer`. Three members
//! get a balanced assignment, a SIGKILLed member's partitions move after the session timeout
//! while the others keep consuming theirs, a member leaving cleanly hands its partitions over at
//! once, regex subscriptions pick up topics created later, and a group survives a SIGKILL of the
//! broker; every record is processed exactly once throughout.

mod member;
mod mixed;
mod restart;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use member::{Kind, Member, Processed};

use super::{create_topic, produce, wait_until};
use crate::support::broker::TestBroker;

/// Sessions expire after 3 s so that the SIGKILL case is quick; members heartbeat every 0.5 s.
const SESSION_MS: u64 = 3000;
/// How long any one step may take.
const WAIT: Duration = Duration::from_secs(40);

pub fn settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("num.partitions", "6"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("group.consumer.session.timeout.ms", "3000"),
        ("group.consumer.min.session.timeout.ms", "1000"),
        ("group.consumer.heartbeat.interval.ms", "500"),
        ("group.consumer.min.heartbeat.interval.ms", "100"),
    ]
}

fn owners(members: &[&Member]) -> Vec<BTreeSet<String>> {
    members.iter().map(|m| m.owned()).collect()
}

/// Waits until the members own `counts` partitions each, all of `topic`'s six exactly once.
async fn wait_for_split(
    members: &[&Member],
    topic: &str,
    counts: &[usize],
) -> Vec<BTreeSet<String>> {
    let all: BTreeSet<String> = (0..6).map(|p| format!("{topic}:{p}")).collect();
    wait_until(&format!("a {counts:?} split of {topic}"), WAIT, || {
        let owned = owners(members);
        let sizes: Vec<usize> = owned.iter().map(BTreeSet::len).collect();
        let union: BTreeSet<String> = owned.iter().flatten().cloned().collect();
        let total: usize = sizes.iter().sum();
        (sizes == counts && union == all && total == 6).then_some(owned)
    })
    .await
}

fn processed(members: &[&Member]) -> Vec<Processed> {
    members.iter().flat_map(|m| m.records()).collect()
}

/// Every produced record processed exactly once, by anyone.
fn assert_exactly_once(records: &[Processed], topic: &str, produced: &[(i32, i64)]) {
    let mut seen: BTreeMap<(i32, i64), &Processed> = BTreeMap::new();
    for r in records.iter().filter(|r| r.topic == topic) {
        if let Some(first) = seen.insert((r.partition, r.offset), r) {
            panic!(
                "{topic}/{}/{} processed twice: {first:?} and {r:?}",
                r.partition, r.offset
            );
        }
    }
    let got: BTreeSet<(i32, i64)> = seen.keys().copied().collect();
    let want: BTreeSet<(i32, i64)> = produced.iter().copied().collect();
    assert_eq!(got, want, "processed records differ from the produced ones");
}

async fn wait_processed(members: &[&Member], topic: &str, count: usize) {
    wait_until(
        &format!("{count} records of {topic} processed"),
        WAIT,
        || {
            (processed(members)
                .iter()
                .filter(|r| r.topic == topic)
                .count()
                >= count)
                .then_some(())
        },
    )
    .await;
}

fn partitions_of(owned: &BTreeSet<String>) -> BTreeSet<i32> {
    owned
        .iter()
        .filter_map(|tp| tp.rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect()
}

/// The whole life of a three-member group of `kind` members.
async fn balanced_sigkill_and_clean_leave(kind: Kind, group: &str) {
    let broker = TestBroker::start_with(&settings()).await;
    let bootstrap = broker.bootstrap();
    let topic = format!("{group}-t");
    create_topic(&bootstrap, &topic, 6, WAIT).await;
    let sub = ["--topic", topic.as_str()];
    let a = Member::start(kind, "A", &bootstrap, group, &sub);
    let mut b = Member::start(kind, "B", &bootstrap, group, &sub);
    let mut c = Member::start(kind, "C", &bootstrap, group, &sub);

    // Balanced: two partitions each.
    let split = wait_for_split(&[&a, &b, &c], &topic, &[2, 2, 2]).await;
    let mut produced = produce(&bootstrap, &topic, 6, 5, "one").await;
    wait_processed(&[&a, &b, &c], &topic, produced.len()).await;

    // C dies. A and B keep consuming their own partitions while C's wait for its session to
    // expire, then take them over.
    c.kill_hard();
    let killed = Instant::now();
    let more = produce(&bootstrap, &topic, 6, 1, "two").await;
    let survivors: BTreeSet<i32> = partitions_of(&split[0])
        .union(&partitions_of(&split[1]))
        .copied()
        .collect();
    wait_until(
        "A and B to process the new records of their own partitions",
        WAIT,
        || {
            let done = processed(&[&a, &b])
                .iter()
                .filter(|r| r.topic == topic && more.contains(&(r.partition, r.offset)))
                .filter(|r| survivors.contains(&r.partition))
                .count();
            (done == survivors.len()).then_some(())
        },
    )
    .await;
    let own_records_done = killed.elapsed();
    let after = wait_for_split(&[&a, &b], &topic, &[3, 3]).await;
    let moved = killed.elapsed();
    produced.extend(more);
    assert!(
        own_records_done < moved,
        "A and B paused their own partitions ({own_records_done:?}) until C's moved ({moved:?})"
    );
    assert!(
        moved >= Duration::from_millis(SESSION_MS - 600),
        "C's partitions moved after {moved:?}, before its {SESSION_MS} ms session could expire"
    );
    for (i, m) in [&a, &b].iter().enumerate() {
        assert!(
            split[i].is_subset(&after[i]),
            "{} kept its partitions",
            m.name
        );
        // Sticky: no partition of A or B was ever taken away.
        for (_, owned) in m
            .history()
            .iter()
            .skip_while(|(_, o)| !split[i].is_subset(o))
        {
            assert!(
                split[i].is_subset(owned),
                "{} lost a partition: {owned:?}",
                m.name
            );
        }
    }
    eprintln!("{kind:?}: C's partitions moved {moved:?} after SIGKILL (session {SESSION_MS} ms); own records resumed after {own_records_done:?}");
    wait_processed(&[&a, &b, &c], &topic, produced.len()).await;

    // B leaves cleanly: its partitions go to A at once, well before a session timeout.
    let leaving = Instant::now();
    b.stop(WAIT);
    wait_for_split(&[&a], &topic, &[6]).await;
    let handed_over = leaving.elapsed();
    assert!(
        handed_over < Duration::from_millis(SESSION_MS),
        "B's partitions took {handed_over:?} to move after it left"
    );
    eprintln!("{kind:?}: B's partitions moved {handed_over:?} after it left");
    produced.extend(produce(&bootstrap, &topic, 6, 2, "three").await);
    wait_processed(&[&a, &b, &c], &topic, produced.len()).await;
    assert_exactly_once(&processed(&[&a, &b, &c]), &topic, &produced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_consumer_protocol_members_balance_survive_sigkill_and_hand_over_on_leave() {
    balanced_sigkill_and_clean_leave(Kind::Java, "kip848-java").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_consumer_protocol_members_balance_survive_sigkill_and_hand_over_on_leave() {
    balanced_sigkill_and_clean_leave(Kind::Confluent, "kip848-confluent").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_subscriptions_pick_up_topics_created_later() {
    let broker = TestBroker::start_with(&settings()).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "rx-first", 2, WAIT).await;
    create_topic(&bootstrap, "unrelated", 2, WAIT).await;
    let java = Member::start(
        Kind::Java,
        "J",
        &bootstrap,
        "rx-java",
        &["--pattern", "rx-.*"],
    );
    let conf = Member::start(
        Kind::Confluent,
        "P",
        &bootstrap,
        "rx-confluent",
        &["--pattern", "rx-.*"],
    );
    let first: BTreeSet<String> = ["rx-first:0", "rx-first:1"].map(String::from).into();
    for m in [&java, &conf] {
        wait_until(&format!("{} to own rx-first", m.name), WAIT, || {
            (m.owned() == first).then_some(())
        })
        .await;
    }
    create_topic(&bootstrap, "rx-later", 3, WAIT).await;
    let all: BTreeSet<String> = first
        .iter()
        .cloned()
        .chain((0..3).map(|p| format!("rx-later:{p}")))
        .collect();
    for m in [&java, &conf] {
        wait_until(&format!("{} to own rx-later too", m.name), WAIT, || {
            (m.owned() == all).then_some(())
        })
        .await;
    }
    let produced = produce(&bootstrap, "rx-later", 3, 2, "later").await;
    for m in [&java, &conf] {
        wait_processed(&[m], "rx-later", produced.len()).await;
        assert_exactly_once(&m.records(), "rx-later", &produced);
        assert!(m.records().iter().all(|r| r.topic != "unrelated"));
    }
}
