//! The states of a transactional id, as in Apache Kafka's `TransactionState`.
//!
//! ```text
//!                 AddPartitionsToTxn / AddOffsetsToTxn
//!                 (or, transactions v2, the first transactional write)
//!   Empty ─────────────────────────────────────────────► Ongoing ◄──────┐
//!     ▲ ▲                                                 │  │  │       │ more partitions
//!     │ │                 EndTxn(commit)  ┌───────────────┘  │  └───────┘
//!     │ │                                 ▼                  │ EndTxn(abort), timeout,
//!     │ │                           PrepareCommit            │ InitProducerId (fence)
//!     │ │                                 │ markers written  ▼
//!     │ │                                 ▼            PrepareAbort ◄── PrepareEpochFence
//!     │ │  InitProducerId           CompleteCommit          │ markers written   (InitProducerId
//!     │ └──────────────────────────────── │ ◄───────────────┤                    or timeout on
//!     │                                   │          CompleteAbort               an Ongoing one)
//!     │                                   │                 │
//!   Dead ◄── transactional.id.expiration.ms of inactivity ◄─┘ (from Empty or Complete*)
//! ```
//!
//! Commit and abort are two-phase: the Prepare state is made durable first, so once a commit is
//! decided a restart finishes it; the markers are then written to every partition of the
//! transaction, and the Complete state follows. Transactions v2 (KIP-890) end every
//! transaction with a new producer epoch and may abort from Empty or Complete* (nothing to
//! undo); `machine.rs` implements the transitions, this file says what each state means.

/// The state of a transactional id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// The producer is initialised and no transaction is open.
    ///
    /// - actions: InitProducerId bumps the epoch; AddPartitionsToTxn and AddOffsetsToTxn open a
    ///   transaction; EndTxn is INVALID_TXN_STATE (transactions v2: an abort bumps the epoch).
    /// - transitions: a partition or group is added => Ongoing; InitProducerId => Empty (new
    ///   epoch); expired => Dead.
    /// - valid previous states: Empty, CompleteCommit, CompleteAbort (and a new id).
    Empty,
    /// A transaction is open: partitions and groups have been added to it.
    ///
    /// - actions: more partitions and groups may be added; its producer's transactional batches
    ///   go to those partitions; TxnOffsetCommit stores pending offsets for its groups.
    /// - transitions: EndTxn(commit) => PrepareCommit; EndTxn(abort) or the transaction timeout
    ///   => PrepareAbort; InitProducerId from a new producer instance => PrepareEpochFence.
    /// - valid previous states: Empty, Ongoing, CompleteCommit, CompleteAbort.
    Ongoing,
    /// The commit is decided and durable; markers are being written.
    ///
    /// - actions: requests from the producer get CONCURRENT_TRANSACTIONS (a retried
    ///   EndTxn(commit) too) until the markers are written.
    /// - transitions: every marker written (and the groups' offsets applied) => CompleteCommit.
    /// - valid previous states: Ongoing.
    PrepareCommit,
    /// The abort is decided and durable; markers are being written.
    ///
    /// - actions: as PrepareCommit.
    /// - transitions: every marker written (and the groups' pending offsets dropped) =>
    ///   CompleteAbort.
    /// - valid previous states: Ongoing, PrepareEpochFence; with transactions v2 also Empty,
    ///   CompleteCommit, CompleteAbort.
    PrepareAbort,
    /// The last transaction committed.
    ///
    /// - actions: as Empty; a retried EndTxn(commit) succeeds again.
    /// - transitions: as Empty.
    /// - valid previous states: PrepareCommit.
    CompleteCommit,
    /// The last transaction aborted.
    ///
    /// - actions: as Empty; a retried EndTxn(abort) succeeds again.
    /// - transitions: as Empty.
    /// - valid previous states: PrepareAbort.
    CompleteAbort,
    /// A new producer instance (or the timeout) fenced the producer of an Ongoing transaction:
    /// the epoch is bumped and the transaction is being aborted. Never persisted: the abort that
    /// follows persists PrepareAbort with the new epoch.
    ///
    /// - transitions: => PrepareAbort.
    /// - valid previous states: Ongoing.
    PrepareEpochFence,
    /// The transactional id expired (`transactional.id.expiration.ms` without a transaction);
    /// its entry is removed and a later InitProducerId starts afresh with a new producer id.
    ///
    /// - transitions: none (terminal).
    /// - valid previous states: Empty, CompleteCommit, CompleteAbort.
    Dead,
}

const ALL: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::PrepareEpochFence,
    TxnState::Dead,
];

impl TxnState {
    /// Kafka's name for the state (DescribeTransactions, ListTransactions).
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
            TxnState::Dead => "Dead",
        }
    }

    /// Parses a state name as Kafka spells it (the ListTransactions state filter).
    pub fn parse(name: &str) -> Option<TxnState> {
        ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The states from which a transactional id may enter `self`.
    pub fn valid_previous_states(self) -> &'static [TxnState] {
        use TxnState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[
                Ongoing,
                PrepareEpochFence,
                Empty,
                CompleteCommit,
                CompleteAbort,
            ],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            PrepareEpochFence => &[Ongoing],
            Dead => &[Empty, CompleteCommit, CompleteAbort],
        }
    }

    /// Whether the transition `from -> self` is allowed.
    pub fn can_enter_from(self, from: TxnState) -> bool {
        self.valid_previous_states().contains(&from)
    }

    /// A transaction is open or being ended: its partitions may hold unstable records.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TxnState::Ongoing
                | TxnState::PrepareCommit
                | TxnState::PrepareAbort
                | TxnState::PrepareEpochFence
        )
    }

    /// No transaction is open: the producer may start one.
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }

    pub(super) fn code(self) -> u8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<TxnState> {
        ALL.into_iter().find(|s| s.code() == code)
    }
}

impl std::fmt::Display for TxnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::TxnState::*;
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for s in ALL {
            assert_eq!(TxnState::parse(s.as_str()), Some(s));
            assert_eq!(TxnState::from_code(s.code()), Some(s));
        }
        assert_eq!(TxnState::parse("ongoing"), None, "Kafka's filter is exact");
    }

    #[test]
    fn transition_table_matches_kafka() {
        assert!(Ongoing.can_enter_from(Empty));
        assert!(Ongoing.can_enter_from(CompleteAbort));
        assert!(!Ongoing.can_enter_from(PrepareCommit));
        assert!(PrepareCommit.can_enter_from(Ongoing));
        assert!(!PrepareCommit.can_enter_from(Empty));
        assert!(PrepareAbort.can_enter_from(PrepareEpochFence));
        assert!(CompleteCommit.can_enter_from(PrepareCommit));
        assert!(!CompleteCommit.can_enter_from(PrepareAbort));
        assert!(Dead.can_enter_from(CompleteCommit));
        assert!(!Dead.can_enter_from(Ongoing));
        for s in ALL {
            assert!(!(s.is_open() && s.is_idle()), "{s}");
        }
    }
}
