//! The five states of a classic consumer group, as in Apache Kafka's `ClassicGroupState`.
//!
//! ```text
//!            join (new member)                    all expected members joined,
//!   Empty ─────────────────────► PreparingRebalance ──── or join timer fired ───► CompletingRebalance
//!     ▲  ▲                          ▲   │    ▲                                        │  │
//!     │  └── round ends, no members ┘   │    └─ join with new metadata, leave,        │  │ leader's
//!     │                                 │       session expiry, sync timeout ─────────┘  │ SyncGroup
//!     │                                 │                                                ▼
//!     │                                 └◄──── leader rejoins, follower changes ──── Stable
//!     │                                        metadata, leave, expiry
//!   Dead ◄── DeleteGroups on Empty, or last offsets expired while Empty (terminal)
//! ```
//!
//! The behaviour in each state is implemented by `Group` (group.rs, join.rs, membership.rs,
//! commit.rs); this file is the reference for what each state means.

/// The state of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// The group has no members. It lingers until its offsets expire; a group used only for
    /// offset commits (a "simple" group of standalone consumers) lives here.
    ///
    /// - actions: JoinGroup from a new member is accepted; SyncGroup, Heartbeat, LeaveGroup of a
    ///   member answer UNKNOWN_MEMBER_ID; offset commits are accepted only with generation -1
    ///   and no member id; offset fetches are served; DeleteGroups and OffsetDelete are allowed.
    /// - transitions: a member joins => PreparingRebalance (with `group.initial.rebalance.delay.ms`);
    ///   deleted, or all offsets expired => Dead.
    /// - valid previous states: PreparingRebalance (and the initial state of a new group).
    Empty,
    /// A join round is open: members (re)join with JoinGroup and their requests are parked.
    ///
    /// - actions: Heartbeat and SyncGroup answer REBALANCE_IN_PROGRESS; LeaveGroup removes the
    ///   member; JoinGroup from new and known members is parked until the round completes;
    ///   commits from members of the previous generation are accepted; fetches are served.
    /// - transitions: every known member has rejoined (and no member is pending its member id),
    ///   or the join timer fired (initial delay, or the rebalance timeout; members that did not
    ///   rejoin are then removed) => CompletingRebalance, or Empty if no member is left.
    /// - valid previous states: Stable, CompletingRebalance, Empty.
    PreparingRebalance,
    /// The round completed, a generation and a protocol were chosen; the leader computes the
    /// assignment.
    ///
    /// - actions: SyncGroup from followers is parked until the leader's SyncGroup; the leader's
    ///   SyncGroup stores the assignment and answers everyone; Heartbeat is answered normally;
    ///   offset commits answer REBALANCE_IN_PROGRESS; JoinGroup with unchanged metadata gets
    ///   the current generation again.
    /// - transitions: leader's SyncGroup => Stable; JoinGroup from a new member or with new
    ///   metadata, LeaveGroup, session expiry or sync timeout => PreparingRebalance.
    /// - valid previous states: PreparingRebalance.
    CompletingRebalance,
    /// Members have their assignment.
    ///
    /// - actions: Heartbeat answered normally; SyncGroup returns the member's assignment;
    ///   JoinGroup from a follower with unchanged metadata returns the current generation;
    ///   commits from members of the current generation are accepted; a static member rejoining
    ///   with a new member id replaces the old one without a rebalance when the selected
    ///   protocol does not change.
    /// - transitions: the leader rejoins, a follower rejoins with new metadata, a new member
    ///   joins, a member leaves or its session expires, members that never synced time out
    ///   => PreparingRebalance.
    /// - valid previous states: CompletingRebalance (a group loaded from the store with
    ///   members starts here).
    Stable,
    /// The group is being removed; its task exits and a later request sees a new group.
    ///
    /// - actions: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and commits answer
    ///   COORDINATOR_NOT_AVAILABLE; DeleteGroups answers GROUP_ID_NOT_FOUND.
    /// - transitions: none (terminal).
    /// - valid previous states: every state.
    Dead,
}

impl GroupState {
    /// Kafka's name for the state (DescribeGroups, ListGroups).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Parses a state name case-insensitively (the ListGroups v4+ state filter).
    pub fn parse(name: &str) -> Option<GroupState> {
        [
            GroupState::Empty,
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
            GroupState::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// The states from which a group may enter `self`.
    pub fn valid_previous_states(self) -> &'static [GroupState] {
        use GroupState::*;
        match self {
            Empty => &[PreparingRebalance],
            PreparingRebalance => &[Stable, CompletingRebalance, Empty],
            CompletingRebalance => &[PreparingRebalance],
            Stable => &[CompletingRebalance],
            Dead => &[Stable, PreparingRebalance, CompletingRebalance, Empty, Dead],
        }
    }

    /// Whether the transition `from -> self` is allowed.
    pub fn can_enter_from(self, from: GroupState) -> bool {
        self.valid_previous_states().contains(&from)
    }
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::GroupState::*;
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for s in [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead] {
            assert_eq!(GroupState::parse(s.as_str()), Some(s));
            assert_eq!(GroupState::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert_eq!(GroupState::parse("Rebalancing"), None);
    }

    #[test]
    fn transition_table_matches_kafka() {
        assert!(PreparingRebalance.can_enter_from(Empty));
        assert!(PreparingRebalance.can_enter_from(Stable));
        assert!(PreparingRebalance.can_enter_from(CompletingRebalance));
        assert!(!PreparingRebalance.can_enter_from(Dead));
        assert!(CompletingRebalance.can_enter_from(PreparingRebalance));
        assert!(!CompletingRebalance.can_enter_from(Stable));
        assert!(Stable.can_enter_from(CompletingRebalance));
        assert!(!Stable.can_enter_from(PreparingRebalance));
        assert!(Empty.can_enter_from(PreparingRebalance));
        assert!(!Empty.can_enter_from(Stable));
        for s in [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead] {
            assert!(Dead.can_enter_from(s));
        }
    }
}
