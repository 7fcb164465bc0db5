//! The crash-takeover scenario with `partition.assignment.strategy=cooperative-sticky`:
//! incremental rebalances over several rounds, where members give up only the partitions that
//! move and keep consuming the others.

use super::rdkafka_group::crash_takeover;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_members_rebalance_incrementally_and_take_over_a_crashed_member() {
    let outcome = crash_takeover("cooperative-sticky", "rd-cooperative").await;
    let [a, b] = <[_; 2]>::try_from(outcome.survivors).expect("two survivors");

    // A owned all six, gave three to B, then one to C; B gave one to C. When C died nobody
    // gave anything up: the survivors were only assigned C's partitions. An eager rebalance
    // would have revoked every owned partition in every round.
    let revoked = |rebalances: &[(bool, Vec<i32>)]| -> Vec<usize> {
        rebalances
            .iter()
            .filter(|(assign, p)| !assign && !p.is_empty())
            .map(|(_, p)| p.len())
            .collect()
    };
    assert_eq!(
        revoked(&a.rebalances),
        vec![3, 1],
        "A's rebalances: {:?}",
        a.rebalances
    );
    assert_eq!(
        revoked(&b.rebalances),
        vec![1],
        "B's rebalances: {:?}",
        b.rebalances
    );
    let assigned = |rebalances: &[(bool, Vec<i32>)]| -> usize {
        rebalances
            .iter()
            .filter(|(assign, _)| *assign)
            .map(|(_, p)| p.len())
            .sum()
    };
    // A: 6 at first + 1 of C's; B: 3 from A + 1 of C's.
    assert_eq!(
        assigned(&a.rebalances),
        7,
        "A's rebalances: {:?}",
        a.rebalances
    );
    assert_eq!(
        assigned(&b.rebalances),
        4,
        "B's rebalances: {:?}",
        b.rebalances
    );
}
