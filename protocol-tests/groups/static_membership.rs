//! Static membership (KIP-345): a member restarted with the same `group.instance.id` within its
//! session timeout gets its partitions back, and the group does not rebalance.

use std::collections::BTreeSet;

use super::member::{lock, member_config, RdMember};
use super::raw::{describe_group, member_assignments, probe_generation};
use super::{create_topic, group_broker, produce, wait_until, WAIT};

const TOPIC: &str = "static";
const GROUP: &str = "static-group";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_static_member_gets_its_partitions_back_without_a_rebalance() {
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, TOPIC, 6, WAIT).await;
    // A 10 s session: the restart below happens well within it.
    let start = |instance: &str| {
        let config = member_config(
            &bootstrap,
            GROUP,
            &[
                ("group.instance.id", instance),
                ("session.timeout.ms", "10000"),
            ],
        );
        RdMember::start(instance, config, TOPIC)
    };
    let a = start("A");
    wait_until("A to own six partitions", WAIT, || {
        (a.owned().len() == 6).then_some(())
    })
    .await;
    let b = start("B");
    let c = start("C");
    let members = [&a, &b, &c];
    wait_until("three members with two partitions each", WAIT, || {
        let owned: Vec<BTreeSet<i32>> = members.iter().map(|m| m.owned()).collect();
        let union: BTreeSet<i32> = owned.iter().flatten().copied().collect();
        (owned.iter().all(|o| o.len() == 2) && union.len() == 6).then_some(())
    })
    .await;
    let c_owned = c.owned();

    let before = describe_group(broker.addr(), GROUP).await;
    assert_eq!(before.group_state.as_str(), "Stable");
    let member_id_of =
        |group: &kafka_protocol::messages::describe_groups_response::DescribedGroup,
         instance: &str| {
            group
                .members
                .iter()
                .find(|m| m.group_instance_id.as_deref() == Some(instance))
                .unwrap_or_else(|| panic!("no member with instance id {instance}: {group:?}"))
                .member_id
                .to_string()
        };
    let a_id = member_id_of(&before, "A");
    let generation = probe_generation(broker.addr(), GROUP, &a_id, Some("A"))
        .await
        .expect("A's generation");
    let rebalances_before = [&a, &b].map(|m| lock(&m.seen).rebalances.len());

    // C closes (a static member sends no LeaveGroup) and a new C process starts at once.
    let old_c_id = member_id_of(&before, "C");
    drop(c);
    let c = start("C");
    wait_until("the restarted C to own its old partitions", WAIT, || {
        (c.owned() == c_owned).then_some(())
    })
    .await;

    // The restarted C consumes from its partitions while the others keep theirs.
    let produced = produce(&bootstrap, TOPIC, 6, 2, "after-restart").await;
    wait_until("all records to be consumed", WAIT, || {
        let n: usize = [&a, &b, &c]
            .iter()
            .map(|m| lock(&m.seen).records.len())
            .sum();
        (n >= produced.len()).then_some(())
    })
    .await;
    let c_partitions: BTreeSet<i32> = lock(&c.seen).records.iter().map(|r| r.partition).collect();
    assert_eq!(
        c_partitions, c_owned,
        "the restarted C consumed other partitions"
    );

    let after = describe_group(broker.addr(), GROUP).await;
    assert_eq!(after.group_state.as_str(), "Stable");
    assert_eq!(after.members.len(), 3, "{after:?}");
    assert_eq!(member_id_of(&after, "A"), a_id);
    assert_eq!(member_id_of(&after, "B"), member_id_of(&before, "B"));
    assert_ne!(
        member_id_of(&after, "C"),
        old_c_id,
        "C should have a new member id"
    );
    assert_eq!(member_assignments(&after), member_assignments(&before));
    assert_eq!(
        probe_generation(broker.addr(), GROUP, &a_id, Some("A")).await,
        Some(generation),
        "the group rebalanced when C came back"
    );
    let rebalances_after = [&a, &b].map(|m| lock(&m.seen).rebalances.len());
    assert_eq!(
        rebalances_after, rebalances_before,
        "A or B saw a rebalance"
    );
    for m in [&a, &b, &c] {
        assert!(
            lock(&m.seen).failure.is_none(),
            "{}: {:?}",
            m.name,
            lock(&m.seen).failure
        );
    }
}
