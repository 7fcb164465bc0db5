//! Reconciliation (Kafka's `CurrentAssignmentBuilder`): one step of a member from what it owns
//! towards its target assignment. A partition moves to a new owner only after its previous
//! owner has revoked it: the new owner's target keeps it "unreleased" until then.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::assignor::Assignment;
use super::member::{ConsumerMember, MemberState};

/// What the step works from.
pub struct Target<'a> {
    pub epoch: i32,
    pub assignment: &'a Assignment,
}

/// The member's next state. `owned` is what the member reported owning (`None`: not reported
/// in this heartbeat); `is_free` says whether no other member owns a partition.
pub fn reconcile(
    member: &ConsumerMember,
    target: Target<'_>,
    owned: Option<&Assignment>,
    is_free: impl Fn(Uuid, i32) -> bool,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.epoch == target.epoch => member.clone(),
        MemberState::UnrevokedPartitions if owns_any(owned, &member.pending_revocation) => {
            member.clone()
        }
        _ => next_assignment(member, target, owned, is_free),
    }
}

/// Whether the member may still own any of `revoking` (it does when it did not say).
fn owns_any(owned: Option<&Assignment>, revoking: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    owned.iter().any(|(topic, parts)| {
        revoking
            .get(topic)
            .is_some_and(|r| parts.iter().any(|p| r.contains(p)))
    })
}

fn next_assignment(
    member: &ConsumerMember,
    target: Target<'_>,
    owned: Option<&Assignment>,
    is_free: impl Fn(Uuid, i32) -> bool,
) -> ConsumerMember {
    let topics: BTreeSet<Uuid> = target
        .assignment
        .keys()
        .chain(member.assigned.keys())
        .copied()
        .collect();
    let mut kept = Assignment::new();
    let mut revoking = Assignment::new();
    let mut adding = Assignment::new();
    let mut unreleased = false;
    let none = BTreeSet::new();
    for topic in topics {
        let want = target.assignment.get(&topic).unwrap_or(&none);
        let have = member.assigned.get(&topic).unwrap_or(&none);
        let keep: BTreeSet<i32> = have.intersection(want).copied().collect();
        let revoke: BTreeSet<i32> = have.difference(want).copied().collect();
        let mut add = BTreeSet::new();
        for p in want.difference(have) {
            if is_free(topic, *p) {
                add.insert(*p);
            } else {
                unreleased = true;
            }
        }
        for (set, into) in [
            (keep, &mut kept),
            (revoke, &mut revoking),
            (add, &mut adding),
        ] {
            if !set.is_empty() {
                into.insert(topic, set);
            }
        }
    }
    let mut next = member.clone();
    if !revoking.is_empty() && owns_any(owned, &revoking) {
        // Give up first; the epoch stays until the member has.
        next.state = MemberState::UnrevokedPartitions;
        next.assigned = kept;
        next.pending_revocation = revoking;
        return next;
    }
    for (topic, parts) in adding {
        kept.entry(topic).or_default().extend(parts);
    }
    next.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    if next.epoch != target.epoch {
        next.previous_epoch = next.epoch;
        next.epoch = target.epoch;
    }
    next.assigned = kept;
    next.pending_revocation = Assignment::new();
    next
}
