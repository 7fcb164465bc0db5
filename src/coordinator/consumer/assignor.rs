//! Server-side assignors of consumer groups (`group.consumer.assignors`): `uniform` (Kafka's
//! default) and `range`. Both are pure functions from the members' subscriptions, the topics and
//! the previous target assignment to the next target assignment.
//!
//! - `uniform` spreads every subscribed partition so that, among members that can take a
//!   partition, counts differ by at most one where subscriptions allow it. It is sticky: a
//!   partition stays with its previous target owner unless that owner left, unsubscribed or
//!   holds more than its share.
//! - `range` gives each member, topic by topic, a contiguous range of partitions (members in
//!   member-id order; the first `partitions % members` get one more), so members subscribed to
//!   co-partitioned topics get the same partition numbers of each.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::topics::TopicImage;

/// Partitions by topic id.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// A server-side assignor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    /// The name clients use in `group.remote.assignor` and ConsumerGroupDescribe shows.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// By short name or by Kafka's class name (`group.consumer.assignors` takes either).
    pub fn parse(name: &str) -> Option<Assignor> {
        match name.trim() {
            "uniform" | "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => {
                Some(Assignor::Uniform)
            }
            "range" | "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => {
                Some(Assignor::Range)
            }
            _ => None,
        }
    }

    /// The next target assignment. `subscriptions` maps each member to the topic names it is
    /// subscribed to (names missing from `topics` are ignored); `previous` is the current target.
    pub fn assign(
        self,
        subscriptions: &BTreeMap<String, BTreeSet<String>>,
        topics: &TopicImage,
        previous: &BTreeMap<String, Assignment>,
    ) -> BTreeMap<String, Assignment> {
        match self {
            Assignor::Uniform => uniform(subscriptions, topics, previous),
            Assignor::Range => range(subscriptions, topics),
        }
    }
}

fn empty_targets(
    subscriptions: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, Assignment> {
    subscriptions
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect()
}

fn range(
    subscriptions: &BTreeMap<String, BTreeSet<String>>,
    topics: &TopicImage,
) -> BTreeMap<String, Assignment> {
    let mut out = empty_targets(subscriptions);
    let mut by_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (member, subscribed) in subscriptions {
        for t in subscribed {
            by_topic
                .entry(t.as_str())
                .or_default()
                .push(member.as_str());
        }
    }
    for (topic, members) in by_topic {
        let Some(meta) = topics.get(topic) else {
            continue;
        };
        let n = members.len() as i32;
        let (quota, extra) = (meta.partitions / n, meta.partitions % n);
        let mut next = 0;
        for (i, member) in members.iter().enumerate() {
            let count = quota + i32::from((i as i32) < extra);
            if count == 0 {
                continue;
            }
            if let Some(target) = out.get_mut(*member) {
                target
                    .entry(meta.id)
                    .or_default()
                    .extend(next..next + count);
            }
            next += count;
        }
    }
    out
}

fn uniform(
    subscriptions: &BTreeMap<String, BTreeSet<String>>,
    topics: &TopicImage,
    previous: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    // Every assignable partition with the members that may own it.
    let mut eligible: BTreeMap<(Uuid, i32), Vec<&str>> = BTreeMap::new();
    for (member, subscribed) in subscriptions {
        for t in subscribed {
            if let Some(meta) = topics.get(t) {
                for p in 0..meta.partitions {
                    eligible.entry((meta.id, p)).or_default().push(member);
                }
            }
        }
    }
    let mut load: BTreeMap<&str, usize> = subscriptions.keys().map(|m| (m.as_str(), 0)).collect();
    let mut owner: BTreeMap<(Uuid, i32), &str> = BTreeMap::new();

    // Keep previous owners, each up to its fair share (rounded up), so stickiness never
    // outweighs balance.
    let share = fair_shares(&eligible);
    for (member, assignment) in previous {
        let Some(cap) = share.get(member.as_str()) else {
            continue;
        };
        for (topic, parts) in assignment {
            for p in parts {
                let key = (*topic, *p);
                let Some(members) = eligible.get(&key) else {
                    continue;
                };
                let Some(m) = members.iter().find(|m| **m == member.as_str()) else {
                    continue;
                };
                let l = load.entry(m).or_default();
                if *l < *cap && !owner.contains_key(&key) {
                    owner.insert(key, m);
                    *l += 1;
                }
            }
        }
    }
    // Then every free partition to the least loaded member that may take it.
    for (key, members) in &eligible {
        if owner.contains_key(key) {
            continue;
        }
        if let Some(m) = members.iter().min_by_key(|m| (load[**m], **m)) {
            owner.insert(*key, m);
            *load.entry(m).or_default() += 1;
        }
    }
    // Finally move partitions from the most to the least loaded eligible member until no move
    // narrows the gap (needed when subscriptions differ).
    loop {
        let mut moved = false;
        for (key, members) in &eligible {
            let Some(current) = owner.get(key).copied() else {
                continue;
            };
            let best = members.iter().min_by_key(|m| (load[**m], **m)).copied();
            if let Some(best) = best {
                if load[best] + 1 < load[current] {
                    *load.entry(current).or_default() -= 1;
                    *load.entry(best).or_default() += 1;
                    owner.insert(*key, best);
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
    }
    let mut out = empty_targets(subscriptions);
    for ((topic, p), m) in owner {
        if let Some(target) = out.get_mut(m) {
            target.entry(topic).or_default().insert(p);
        }
    }
    out
}

/// Each member's fair share: partitions it may own divided among the members competing for
/// them, rounded up. Exact for identical subscriptions; an upper bound otherwise.
fn fair_shares<'a>(eligible: &BTreeMap<(Uuid, i32), Vec<&'a str>>) -> BTreeMap<&'a str, usize> {
    let mut shares: BTreeMap<&str, f64> = BTreeMap::new();
    for owners in eligible.values() {
        for m in owners {
            *shares.entry(m).or_default() += 1.0 / owners.len() as f64;
        }
    }
    shares
        .into_iter()
        .map(|(m, s)| (m, s.ceil() as usize))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::consumer::topics::TopicImage;

    fn topics(list: &[(&str, i32)]) -> TopicImage {
        TopicImage::from_iter(
            list.iter()
                .enumerate()
                .map(|(i, (n, p))| (n.to_string(), Uuid::from_u128(i as u128 + 1), *p)),
        )
    }

    fn subs(list: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        list.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn counts(a: &BTreeMap<String, Assignment>) -> Vec<usize> {
        a.values()
            .map(|x| x.values().map(BTreeSet::len).sum())
            .collect()
    }

    fn all_once(a: &BTreeMap<String, Assignment>, total: usize) {
        let mut seen = BTreeSet::new();
        for x in a.values() {
            for (t, ps) in x {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t}/{p} assigned twice");
                }
            }
        }
        assert_eq!(seen.len(), total);
    }

    #[test]
    fn uniform_balances_three_members_on_six_partitions() {
        let t = topics(&[("t", 6)]);
        let s = subs(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let a = Assignor::Uniform.assign(&s, &t, &BTreeMap::new());
        assert_eq!(counts(&a), vec![2, 2, 2]);
        all_once(&a, 6);
    }

    #[test]
    fn uniform_is_sticky_when_a_member_leaves_and_joins() {
        let t = topics(&[("t", 6)]);
        let three = subs(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"])]);
        let first = Assignor::Uniform.assign(&three, &t, &BTreeMap::new());
        let two = subs(&[("a", &["t"]), ("b", &["t"])]);
        let second = Assignor::Uniform.assign(&two, &t, &first);
        assert_eq!(counts(&second), vec![3, 3]);
        for m in ["a", "b"] {
            assert!(
                first[m]
                    .values()
                    .flatten()
                    .all(|p| second[m].values().flatten().any(|q| q == p)),
                "{m} kept its partitions"
            );
        }
        let back = Assignor::Uniform.assign(&three, &t, &second);
        assert_eq!(counts(&back), vec![2, 2, 2]);
        // Only the partitions c takes move.
        for m in ["a", "b"] {
            assert!(back[m]
                .values()
                .flatten()
                .all(|p| second[m].values().flatten().any(|q| q == p)));
        }
        all_once(&back, 6);
    }

    #[test]
    fn uniform_balances_different_subscriptions() {
        let t = topics(&[("x", 4), ("y", 2)]);
        let s = subs(&[("a", &["x"]), ("b", &["x", "y"]), ("c", &["y"])]);
        let a = Assignor::Uniform.assign(&s, &t, &BTreeMap::new());
        all_once(&a, 6);
        assert_eq!(counts(&a), vec![2, 2, 2]);
    }

    #[test]
    fn uniform_leaves_members_without_topics_empty_and_ignores_unknown_topics() {
        let t = topics(&[("t", 2)]);
        let s = subs(&[("a", &["t"]), ("b", &["missing"]), ("c", &["t"])]);
        let a = Assignor::Uniform.assign(&s, &t, &BTreeMap::new());
        assert!(a["b"].is_empty());
        assert_eq!(counts(&a), vec![1, 0, 1]);
    }

    #[test]
    fn range_gives_contiguous_ranges_per_topic() {
        let t = topics(&[("x", 5), ("y", 5)]);
        let s = subs(&[("a", &["x", "y"]), ("b", &["x", "y"])]);
        let a = Assignor::Range.assign(&s, &t, &BTreeMap::new());
        let x = Uuid::from_u128(1);
        let y = Uuid::from_u128(2);
        assert_eq!(a["a"][&x], BTreeSet::from([0, 1, 2]));
        assert_eq!(a["b"][&x], BTreeSet::from([3, 4]));
        assert_eq!(a["a"][&y], a["a"][&x], "co-partitioned");
    }

    #[test]
    fn names_and_class_names_parse() {
        assert_eq!(Assignor::parse("uniform"), Some(Assignor::Uniform));
        assert_eq!(
            Assignor::parse("org.apache.kafka.coordinator.group.assignor.RangeAssignor"),
            Some(Assignor::Range)
        );
        assert_eq!(Assignor::parse("sticky"), None);
    }
}
