//! The classic group state machine: the [`Group`] struct, its constructor, accessors,
//! descriptions and state transitions, and the [`Effects`] every operation writes to. Pure:
//! every operation takes `now_ms` and writes its replies and durable records into an
//! [`Effects`]; no I/O, no runtime. Modelled on Apache Kafka's classic group coordinator. The
//! fields are private to this module and its children, the rest of the machine: rebalance.rs
//! (join rounds, protocol selection), roster.rs (adding, removing and validating members;
//! assignments), timers.rs (`tick`, `next_deadline`), recovery.rs (restore from the store, undo
//! after a failed write); the per-request operations live in join.rs, membership.rs (sync,
//! heartbeat, leave) and commit.rs (offsets).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use tracing::error;

use crate::coordinator::api::{
    GroupDescription, GroupListing, JoinResponse, MemberDescription, SyncResponse,
};
use crate::coordinator::config::GroupConfig;
use crate::coordinator::error::GroupError;
use crate::coordinator::member::{Member, Ticket};
use crate::coordinator::offsets::{CommittedOffset, Offsets};
use crate::coordinator::record::{GroupMetadataRecord, Record};
use crate::coordinator::state::GroupState;

mod commit;
mod join;
mod membership;
mod rebalance;
mod recovery;
mod roster;
mod timers;
mod txn_offsets;

/// The effects of a state transition: replies to parked or immediate JoinGroup/SyncGroup requests,
/// and records that must be durable before any of these replies is sent.
#[derive(Debug, Default)]
pub struct Effects {
    pub joins: Vec<(Ticket, Result<JoinResponse, GroupError>)>,
    pub syncs: Vec<(Ticket, Result<SyncResponse, GroupError>)>,
    pub records: Vec<Record>,
    /// Previous values of offsets changed by `records`, to restore if the write fails.
    pub undo_offsets: Vec<(String, i32, Option<CommittedOffset>)>,
    /// Previous pending transactional offsets changed by `records`: (producer id, topic,
    /// partition, old value).
    pub undo_pending: Vec<(i64, String, i32, Option<CommittedOffset>)>,
}

impl Effects {
    fn join_reply(&mut self, ticket: Ticket, r: Result<JoinResponse, GroupError>) {
        self.joins.push((ticket, r));
    }

    fn sync_reply(&mut self, ticket: Ticket, r: Result<SyncResponse, GroupError>) {
        self.syncs.push((ticket, r));
    }
}

/// How the open join round ends when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinTimer {
    /// The first round of an empty group: `group.initial.rebalance.delay.ms`, extended while
    /// new members keep arriving, for at most `remaining_ms` more.
    Initial { delay_ms: i64, remaining_ms: i64 },
    /// Any other round: the rebalance timeout; it may also complete as soon as every member
    /// has rejoined.
    Rebalance,
}

/// One classic group.
#[derive(Debug)]
pub struct Group {
    id: String,
    cfg: GroupConfig,
    /// False for a group nobody created yet (a request addressed an unknown group id).
    exists: bool,
    state: GroupState,
    previous_state: GroupState,
    state_timestamp_ms: i64,
    generation: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// group.instance.id -> member id.
    static_members: BTreeMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, awaiting the rejoin -> expiry deadline.
    pending_members: BTreeMap<String, i64>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pending_sync: BTreeSet<String>,
    sync_deadline: Option<i64>,
    join_deadline: Option<i64>,
    join_timer: JoinTimer,
    /// A member joined during the initial delay: extend it once more.
    new_member_added: bool,
    next_seq: u64,
    offsets: Offsets,
    /// Offsets committed by open transactions, by producer id (TxnOffsetCommit), pending until
    /// the transaction coordinator ends the transaction.
    pending_txn: BTreeMap<i64, Offsets>,
    next_expiry_check_ms: i64,
}

impl Group {
    /// A group that does not exist yet. Requests that create groups (a JoinGroup from a new
    /// member, a standalone commit) make it exist; others answer as Kafka does for unknown
    /// groups.
    pub fn absent(id: &str, cfg: GroupConfig, now_ms: i64) -> Group {
        Group {
            id: id.to_string(),
            next_expiry_check_ms: now_ms + cfg.offsets_retention_check_interval_ms,
            cfg,
            exists: false,
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            sync_deadline: None,
            join_deadline: None,
            join_timer: JoinTimer::Rebalance,
            new_member_added: false,
            next_seq: 0,
            offsets: Offsets::default(),
            pending_txn: BTreeMap::new(),
        }
    }

    // ----- accessors -----------------------------------------------------------------------

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn config(&self) -> &GroupConfig {
        &self.cfg
    }

    /// Whether any member (or member-to-be) is in the group.
    pub fn has_members(&self) -> bool {
        !self.members.is_empty() || !self.pending_members.is_empty()
    }

    #[cfg(test)]
    pub fn state(&self) -> GroupState {
        self.state
    }

    #[cfg(test)]
    pub fn exists(&self) -> bool {
        self.exists
    }

    #[cfg(test)]
    pub fn generation(&self) -> i32 {
        self.generation
    }

    #[cfg(test)]
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    #[cfg(test)]
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    #[cfg(test)]
    pub fn offsets(&self) -> &Offsets {
        &self.offsets
    }

    /// Member ids in join order.
    pub fn member_ids(&self) -> Vec<String> {
        self.members_in_order()
            .iter()
            .map(|m| m.member_id.clone())
            .collect()
    }

    /// The member's current assignment.
    pub fn assignment(&self, member_id: &str) -> Option<Bytes> {
        self.members.get(member_id).map(|m| m.assignment.clone())
    }

    /// Whether the actor can forget this group: it never existed or it is Dead.
    pub fn is_gone(&self) -> bool {
        !self.exists || self.state == GroupState::Dead
    }

    /// When the open join round ends (tests).
    #[cfg(test)]
    pub(super) fn join_deadline(&self) -> Option<i64> {
        self.join_deadline
    }

    /// When members that have not synced are removed (tests).
    #[cfg(test)]
    pub(super) fn sync_deadline(&self) -> Option<i64> {
        self.sync_deadline
    }

    #[cfg(test)]
    pub(super) fn offsets_mut(&mut self) -> &mut Offsets {
        &mut self.offsets
    }

    // ----- descriptions --------------------------------------------------------------------

    /// The DescribeGroups view (Kafka shows metadata and assignments only when Stable).
    pub fn describe(&self) -> GroupDescription {
        if self.is_gone() {
            return GroupDescription {
                group_id: self.id.clone(),
                state: GroupState::Dead.as_str(),
                protocol_type: String::new(),
                protocol_data: String::new(),
                members: Vec::new(),
            };
        }
        let stable = self.state == GroupState::Stable;
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            group_id: self.id.clone(),
            state: self.state.as_str(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_data: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: self
                .members_in_order()
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        }
    }

    /// The ListGroups view; `None` for a group that does not exist.
    pub fn listing(&self) -> Option<GroupListing> {
        (!self.is_gone()).then(|| GroupListing {
            group_id: self.id.clone(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            state: self.state.as_str(),
            group_type: "classic",
        })
    }

    /// The durable form of the group's membership.
    pub(super) fn metadata_record(&self) -> Record {
        Record::Group {
            group_id: self.id.clone(),
            metadata: GroupMetadataRecord {
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol_name.clone(),
                generation_id: self.generation,
                leader: self.leader.clone(),
                state_timestamp_ms: self.state_timestamp_ms,
                members: self
                    .members_in_order()
                    .iter()
                    .map(|m| m.to_record())
                    .collect(),
            },
        }
    }

    // ----- state -----------------------------------------------------------------------------

    fn transition(&mut self, to: GroupState, now_ms: i64) {
        if !to.can_enter_from(self.state) {
            error!(group = %self.id, from = %self.state, to = %to, "invalid group state transition");
            #[cfg(test)]
            panic!("invalid transition {} -> {}", self.state, to);
        }
        self.previous_state = self.state;
        self.state = to;
        self.state_timestamp_ms = now_ms;
    }

    // ----- member order ----------------------------------------------------------------------

    fn members_in_order(&self) -> Vec<&Member> {
        let mut v: Vec<&Member> = self.members.values().collect();
        v.sort_by_key(|m| m.seq);
        v
    }

    fn first_member_id(&self) -> Option<String> {
        self.members_in_order().first().map(|m| m.member_id.clone())
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}
