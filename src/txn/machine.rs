//! The transaction state machine: what each request does to a transactional id, as pure
//! functions of its metadata, the request and `now` (Apache Kafka's `TransactionCoordinator`
//! and `TransactionMetadata` transitions). They decide; the coordinator persists what they
//! return, writes markers and answers.

use std::collections::BTreeSet;

use super::error::TxnError;
use super::metadata::{TxnMetadata, TxnPartition, NO_EPOCH, NO_PRODUCER_ID};
use super::state::TxnState;

/// Allocates producer ids (a new id, or a rotation when epochs run out).
pub type NextId<'a> = &'a mut dyn FnMut() -> Result<i64, TxnError>;

/// What InitProducerId does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitStep {
    /// Persist this, then answer with its producer id and epoch.
    Persist(TxnMetadata),
    /// The producer of an open transaction is fenced: end the transaction with this abort
    /// (PrepareAbort at a bumped epoch), then answer CONCURRENT_TRANSACTIONS; the client's
    /// retry gets the next epoch.
    FenceAndAbort(TxnMetadata),
}

/// What EndTxn does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndStep {
    /// Nothing to do (a retry of an ended transaction): answer with this producer id and epoch.
    Done { producer_id: i64, epoch: i16 },
    /// Persist this Prepare state, write the markers, then complete it.
    End(TxnMetadata),
}

/// InitProducerId with a transactional id whose metadata is `current` (a new id starts with
/// a fresh producer id and no epoch). `expected` is the producer id and epoch the client
/// sends to resume after an error (KIP-360, v3+).
pub fn init_producer_id(
    current: &TxnMetadata,
    timeout_ms: i32,
    expected: Option<(i64, i16)>,
    server_tv2: bool,
    now: i64,
    next_id: NextId<'_>,
) -> Result<InitStep, TxnError> {
    if let Some((pid, epoch)) = expected {
        let valid = current.producer_epoch == NO_EPOCH
            || pid == current.producer_id
            || (pid == current.prev_producer_id && TxnMetadata::is_epoch_exhausted(epoch));
        if !valid {
            return Err(TxnError::ProducerFenced(format!(
                "producer id {pid} is not the current one of {}",
                current.transactional_id
            )));
        }
    }
    match current.state {
        TxnState::PrepareCommit | TxnState::PrepareAbort => Err(TxnError::ConcurrentTransactions),
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
            let rotate = TxnMetadata::is_epoch_exhausted(current.producer_epoch)
                && expected.is_none_or(|(_, e)| e == current.producer_epoch);
            let mut next = if rotate {
                let mut m = current.to(TxnState::Empty, now);
                m.prev_producer_id = current.producer_id;
                m.producer_id = next_id()?;
                m.producer_epoch = 0;
                m.last_producer_epoch = if expected.is_some() {
                    current.producer_epoch
                } else {
                    NO_EPOCH
                };
                m
            } else {
                increment_epoch(current, expected.map(|(_, e)| e), now)?
            };
            next.timeout_ms = timeout_ms;
            next.partitions.clear();
            next.groups.clear();
            next.txn_start_ms = -1;
            Ok(InitStep::Persist(next))
        }
        TxnState::Ongoing => Ok(InitStep::FenceAndAbort(fence_and_abort(
            current, server_tv2, now,
        )?)),
        TxnState::Dead | TxnState::PrepareEpochFence => Err(TxnError::ConcurrentTransactions),
    }
}

/// Kafka's `prepareIncrementProducerEpoch`.
fn increment_epoch(
    current: &TxnMetadata,
    expected_epoch: Option<i16>,
    now: i64,
) -> Result<TxnMetadata, TxnError> {
    let mut m = current.to(TxnState::Empty, now);
    let bumped = current.producer_epoch.checked_add(1);
    match expected_epoch {
        Some(e) if e != current.producer_epoch && e == current.last_producer_epoch => {
            // A retry of a bump that succeeded: answer the same epoch again.
        }
        None => {
            m.producer_epoch = bumped.ok_or(TxnError::ConcurrentTransactions)?;
            m.last_producer_epoch = NO_EPOCH;
        }
        Some(e) if current.producer_epoch == NO_EPOCH || e == current.producer_epoch => {
            m.producer_epoch = bumped.ok_or(TxnError::ConcurrentTransactions)?;
            m.last_producer_epoch = current.producer_epoch;
        }
        Some(e) => {
            return Err(TxnError::ProducerFenced(format!(
                "epoch {e} is neither the current epoch {} nor the previous {}",
                current.producer_epoch, current.last_producer_epoch
            )))
        }
    }
    Ok(m)
}

/// Fences the producer of an Ongoing transaction (InitProducerId from a new instance, or the
/// transaction timeout) and aborts the transaction: PrepareAbort at a bumped epoch, which the
/// markers carry, so the old producer's writes are refused from then on.
pub fn fence_and_abort(
    current: &TxnMetadata,
    server_tv2: bool,
    now: i64,
) -> Result<TxnMetadata, TxnError> {
    if current.state != TxnState::Ongoing {
        return Err(TxnError::ConcurrentTransactions);
    }
    let fenced = current
        .producer_epoch
        .checked_add(1)
        .ok_or(TxnError::ConcurrentTransactions)?;
    let mut base = current.clone();
    base.producer_epoch = fenced;
    base.last_producer_epoch = NO_EPOCH;
    Ok(prepare_end(
        &base,
        TxnState::PrepareAbort,
        server_tv2,
        NO_PRODUCER_ID,
        now,
        false,
    ))
}

/// Kafka's `prepareAbortOrCommit`: transactions v2 bump the epoch, which the markers carry.
fn prepare_end(
    base: &TxnMetadata,
    state: TxnState,
    tv2: bool,
    next_producer_id: i64,
    now: i64,
    no_partition_added: bool,
) -> TxnMetadata {
    let mut m = base.to(state, now);
    if tv2 {
        m.producer_epoch = base.producer_epoch.saturating_add(1);
        m.last_producer_epoch = base.producer_epoch;
    }
    if no_partition_added {
        m.txn_start_ms = now;
    }
    m.next_producer_id = next_producer_id;
    m.tv2 = tv2;
    m
}

/// The Complete state that follows a Prepare state once its markers are written.
pub fn complete(prepare: &TxnMetadata, now: i64) -> TxnMetadata {
    let state = if prepare.state == TxnState::PrepareCommit {
        TxnState::CompleteCommit
    } else {
        TxnState::CompleteAbort
    };
    let mut m = prepare.to(state, now);
    if prepare.tv2 && prepare.next_producer_id != NO_PRODUCER_ID {
        m.prev_producer_id = prepare.producer_id;
        m.producer_id = prepare.next_producer_id;
        m.producer_epoch = 0;
    }
    m.next_producer_id = NO_PRODUCER_ID;
    m.partitions.clear();
    m.groups.clear();
    m
}

/// EndTxn. `tv2` is what the client follows (EndTxn v5+).
pub fn end_txn(
    current: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    tv2: bool,
    now: i64,
    next_id: NextId<'_>,
) -> Result<EndStep, TxnError> {
    use TxnState::*;
    let invalid = || {
        Err(TxnError::InvalidTxnState(format!(
            "cannot {} a transaction in state {}",
            if commit { "commit" } else { "abort" },
            current.state
        )))
    };
    let done = || {
        Ok(EndStep::Done {
            producer_id: current.producer_id,
            epoch: current.producer_epoch,
        })
    };
    let prepare = if commit { PrepareCommit } else { PrepareAbort };
    if !tv2 {
        if current.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping(producer_id));
        }
        if epoch != current.producer_epoch {
            return Err(fenced(epoch, current));
        }
        return match (current.state, commit) {
            (Ongoing, _) => Ok(EndStep::End(prepare_end(
                current,
                prepare,
                false,
                NO_PRODUCER_ID,
                now,
                false,
            ))),
            (CompleteCommit, true) | (CompleteAbort, false) => done(),
            (PrepareCommit, true) | (PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
            (Dead | PrepareEpochFence, _) => Err(TxnError::ConcurrentTransactions),
            _ => invalid(),
        };
    }
    let retry_on_overflow = current.prev_producer_id == producer_id
        && epoch == i16::MAX - 1
        && current.producer_epoch == 0;
    let retry_on_bump = i32::from(current.producer_epoch) == i32::from(epoch) + 1;
    let valid_epoch = match current.state {
        Ongoing | Empty | Dead | PrepareEpochFence => epoch == current.producer_epoch,
        PrepareCommit | PrepareAbort => retry_on_bump,
        CompleteCommit | CompleteAbort => {
            retry_on_bump || retry_on_overflow || epoch == current.producer_epoch
        }
    };
    let is_retry = retry_on_bump || retry_on_overflow;
    if current.producer_id != producer_id && !retry_on_overflow {
        return Err(TxnError::InvalidProducerIdMapping(producer_id));
    }
    if !valid_epoch {
        return Err(fenced(epoch, current));
    }
    let mut end = |state: TxnState, no_partition_added: bool| -> Result<EndStep, TxnError> {
        let next = if TxnMetadata::is_epoch_exhausted(current.producer_epoch) {
            next_id()?
        } else {
            NO_PRODUCER_ID
        };
        Ok(EndStep::End(prepare_end(
            current,
            state,
            true,
            next,
            now,
            no_partition_added,
        )))
    };
    match (current.state, commit) {
        (Ongoing, _) => end(prepare, false),
        (CompleteCommit, true) if is_retry => done(),
        (CompleteCommit, false) if !is_retry => end(PrepareAbort, true),
        (CompleteAbort, false) if is_retry => done(),
        (CompleteAbort, false) => end(PrepareAbort, true),
        (Empty, false) => end(PrepareAbort, true),
        (PrepareCommit, true) | (PrepareAbort, false) => Err(TxnError::ConcurrentTransactions),
        (Dead | PrepareEpochFence, _) => Err(TxnError::ConcurrentTransactions),
        _ => invalid(),
    }
}

fn fenced(epoch: i16, current: &TxnMetadata) -> TxnError {
    TxnError::ProducerFenced(format!(
        "epoch {epoch} is not the current epoch {} of {}",
        current.producer_epoch, current.transactional_id
    ))
}

/// AddPartitionsToTxn and AddOffsetsToTxn (and, with transactions v2, the first write to a
/// partition or the first offset commit of a group). `None`: everything is already part of
/// the open transaction, nothing to persist.
pub fn add_to_txn(
    current: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    partitions: &BTreeSet<TxnPartition>,
    groups: &BTreeSet<String>,
    tv2: bool,
    now: i64,
) -> Result<Option<TxnMetadata>, TxnError> {
    check_producer(current, producer_id, epoch)?;
    match current.state {
        TxnState::PrepareCommit
        | TxnState::PrepareAbort
        | TxnState::Dead
        | TxnState::PrepareEpochFence => return Err(TxnError::ConcurrentTransactions),
        TxnState::Ongoing
            if partitions.is_subset(&current.partitions) && groups.is_subset(&current.groups) =>
        {
            return Ok(None)
        }
        _ => {}
    }
    let mut m = current.to(TxnState::Ongoing, now);
    if current.state.is_idle() {
        m.txn_start_ms = now;
    }
    m.partitions.extend(partitions.iter().cloned());
    m.groups.extend(groups.iter().cloned());
    m.tv2 = tv2;
    Ok(Some(m))
}

/// The producer id and epoch a request names must be the transactional id's.
pub fn check_producer(current: &TxnMetadata, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
    if current.producer_id != producer_id {
        return Err(TxnError::InvalidProducerIdMapping(producer_id));
    }
    if current.producer_epoch != epoch {
        return Err(fenced(epoch, current));
    }
    Ok(())
}

/// AddPartitionsToTxn v4+ with `verify_only`: whether each partition is in the open
/// transaction (TRANSACTION_ABORTABLE if not).
pub fn verify(
    current: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    partition: &TxnPartition,
) -> Result<(), TxnError> {
    check_producer(current, producer_id, epoch)?;
    if matches!(
        current.state,
        TxnState::PrepareCommit | TxnState::PrepareAbort
    ) {
        return Err(TxnError::ConcurrentTransactions);
    }
    if current.partitions.contains(partition) {
        Ok(())
    } else {
        Err(TxnError::TransactionAbortable)
    }
}

/// Whether an Ongoing transaction ran past its timeout.
pub fn timed_out(current: &TxnMetadata, now: i64) -> bool {
    current.expires_at().is_some_and(|at| at < now)
}

/// Whether an idle transactional id went unused for `expiration_ms`.
pub fn expired(current: &TxnMetadata, now: i64, expiration_ms: i64) -> bool {
    current.state.is_idle() && current.last_update_ms <= now.saturating_sub(expiration_ms)
}
