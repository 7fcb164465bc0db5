//! A member of a consumer group (KIP-848): what it subscribes to, its epoch, the partitions it
//! owns and those it must still give up, and its timers.

use std::collections::BTreeSet;

use super::assignor::Assignment;

/// Where a member is in reconciling its assignment towards its target (Kafka's `MemberState`).
///
/// ```text
///            target changed, member must give up partitions
///   Stable ────────────────────────────────────────────────► UnrevokedPartitions
///     ▲  ▲                                                        │
///     │  │ owned partitions no longer include the revoked ones,   │
///     │  └────────── every new partition free ───────────────────┤
///     │                                                          │ some new partitions still
///     └──── the other owners released them ◄── UnreleasedPartitions ◄┘ owned by other members
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// The member owns its whole target assignment and its epoch is the target's.
    Stable,
    /// The member must revoke `pending_revocation` before it gets anything new; its epoch
    /// stays the previous one until it does (or its rebalance timeout fences it).
    UnrevokedPartitions,
    /// The member has the target epoch but some of its target partitions are still owned by
    /// members that have not revoked them; they are handed over as they become free.
    UnreleasedPartitions,
}

impl MemberState {
    pub fn code(self) -> u8 {
        match self {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<MemberState> {
        match code {
            0 => Some(MemberState::Stable),
            1 => Some(MemberState::UnrevokedPartitions),
            2 => Some(MemberState::UnreleasedPartitions),
            _ => None,
        }
    }
}

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: BTreeSet<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub rebalance_timeout_ms: i32,
    /// The epoch of the assignment the member has; -2 while a static member is away.
    pub epoch: i32,
    pub previous_epoch: i32,
    pub state: MemberState,
    /// What the member owns (or may own) now.
    pub assigned: Assignment,
    /// What the member must give up before it gets anything new.
    pub pending_revocation: Assignment,
}

/// A member's timers (not durable: they restart when the group is loaded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadlines {
    /// The session: no heartbeat by then and the member is removed.
    pub session: Option<i64>,
    /// While revoking: not revoked by then and the member is fenced.
    pub revocation: Option<i64>,
}

impl ConsumerMember {
    pub fn new(member_id: String) -> ConsumerMember {
        ConsumerMember {
            member_id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: BTreeSet::new(),
            subscribed_topic_regex: None,
            server_assignor: None,
            rebalance_timeout_ms: -1,
            epoch: 0,
            previous_epoch: 0,
            state: MemberState::Stable,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
        }
    }
}
