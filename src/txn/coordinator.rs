//! The coordinator's handle: one lock per transactional id (requests for one id run one at a
//! time, from decision to durable state to markers; different ids run in parallel), the
//! transaction log writer, and what requests do around the pure state machine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{watch, OwnedMutexGuard};

use super::api::{Counters, GroupOffsets, ListFilter, PartitionLookup, TxnDescription, TxnListing};
use super::config::TxnConfig;
use super::error::TxnError;
use super::machine::{self, EndStep, InitStep};
use super::metadata::{TxnMetadata, TxnPartition};
use super::state::TxnState;
use super::store::{Record, Store};
use super::writer::StoreWriter;
use crate::clock::Clock;
use crate::metadata::ProducerIds;

/// The epoch of this coordinator, carried by its markers. One broker coordinates every
/// transactional id and never hands that over, so it never changes.
pub const COORDINATOR_EPOCH: i32 = 0;

/// The transaction coordinator. Cheap to clone; every clone talks to the same state.
#[derive(Clone)]
pub struct TxnCoordinator {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for TxnCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnCoordinator").finish_non_exhaustive()
    }
}

/// One transactional id; `None` until its first InitProducerId is persisted.
pub(super) struct Slot {
    pub meta: Option<TxnMetadata>,
    /// Expired and removed: a request that waited for it looks the id up again.
    gone: bool,
}

pub(super) type SlotGuard = OwnedMutexGuard<Slot>;

/// State shared by the handle and the coordinator's task.
pub(super) struct Shared {
    pub cfg: TxnConfig,
    pub clock: Clock,
    pub store: StoreWriter,
    pub partitions: Arc<dyn PartitionLookup>,
    pub producer_ids: Arc<ProducerIds>,
    pub groups: Arc<dyn GroupOffsets>,
    pub counters: Counters,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    listings: Mutex<BTreeMap<String, TxnListing>>,
    closing: AtomicBool,
    /// Set (under the `slots` lock) while a reset forgets every id: requests get
    /// COORDINATOR_NOT_AVAILABLE and retry.
    resetting: AtomicBool,
    pub stop: watch::Sender<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(super) fn new(
        cfg: TxnConfig,
        clock: Clock,
        store: StoreWriter,
        partitions: Arc<dyn PartitionLookup>,
        producer_ids: Arc<ProducerIds>,
        groups: Arc<dyn GroupOffsets>,
        loaded: BTreeMap<String, TxnMetadata>,
    ) -> Shared {
        let shared = Shared {
            cfg,
            clock,
            store,
            partitions,
            producer_ids,
            groups,
            counters: Counters::default(),
            slots: Mutex::new(HashMap::new()),
            listings: Mutex::new(BTreeMap::new()),
            closing: AtomicBool::new(false),
            resetting: AtomicBool::new(false),
            stop: watch::Sender::new(false),
        };
        for (id, meta) in loaded {
            shared.publish(&meta);
            let slot = Slot {
                meta: Some(meta),
                gone: false,
            };
            lock(&shared.slots).insert(id, Arc::new(tokio::sync::Mutex::new(slot)));
        }
        shared
    }

    /// Locks transactional id `id`'s slot, making an empty one if `create`. `None`: unknown.
    pub(super) async fn slot(&self, id: &str, create: bool) -> Result<Option<SlotGuard>, TxnError> {
        loop {
            if self.closing.load(Ordering::Acquire) {
                return Err(TxnError::CoordinatorNotAvailable);
            }
            let slot = {
                let mut slots = lock(&self.slots);
                if self.resetting.load(Ordering::Acquire) {
                    return Err(TxnError::CoordinatorNotAvailable);
                }
                match slots.get(id) {
                    Some(slot) => slot.clone(),
                    None if create => {
                        let slot = Arc::new(tokio::sync::Mutex::new(Slot {
                            meta: None,
                            gone: false,
                        }));
                        slots.insert(id.to_string(), slot.clone());
                        slot
                    }
                    None => return Ok(None),
                }
            };
            let guard = slot.lock_owned().await;
            if !guard.gone {
                return Ok(Some(guard));
            }
        }
    }

    /// Forgets transactional id `id` (it expired, or was never persisted).
    pub(super) fn remove(&self, id: &str, slot: &mut SlotGuard) {
        slot.gone = true;
        slot.meta = None;
        lock(&self.slots).remove(id);
        lock(&self.listings).remove(id);
    }

    /// Writes `meta` to the transaction log; `durable` states are fsynced first when the
    /// broker fsyncs its logs.
    pub(super) async fn persist(&self, meta: &TxnMetadata, durable: bool) -> Result<(), TxnError> {
        let sync = durable && self.cfg.fsync;
        self.store
            .append(vec![Record::Txn(meta.clone())], sync)
            .await
    }

    /// Writes the durable state `meta` like [`persist`](Self::persist), then runs `after` on
    /// the log writer's thread (one trip to it for both). `Ok(None)`: `meta` was
    /// written but `after` did not finish.
    pub(super) async fn persist_then<T, F>(
        &self,
        meta: &TxnMetadata,
        after: F,
    ) -> Result<Option<T>, TxnError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> T + Send + 'static,
    {
        self.store
            .append_then(vec![Record::Txn(meta.clone())], self.cfg.fsync, after)
            .await
    }

    /// Makes `meta` what ListTransactions and the timers see.
    pub(super) fn publish(&self, meta: &TxnMetadata) {
        lock(&self.listings).insert(
            meta.transactional_id.clone(),
            TxnListing {
                transactional_id: meta.transactional_id.clone(),
                producer_id: meta.producer_id,
                state: meta.state,
                start_ms: meta.txn_start_ms,
                timeout_ms: meta.timeout_ms,
            },
        );
    }

    pub(super) fn listings(&self) -> Vec<TxnListing> {
        lock(&self.listings).values().cloned().collect()
    }

    /// A new producer id (blocking file I/O once per block, so on the blocking pool).
    pub(super) async fn allocate(&self) -> Result<i64, TxnError> {
        let ids = self.producer_ids.clone();
        match tokio::task::spawn_blocking(move || ids.allocate()).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => Err(TxnError::ProducerIds(e.to_string())),
            Err(e) => Err(TxnError::ProducerIds(e.to_string())),
        }
    }

    /// Lets producer `pid` at `epoch` write transactional batches to `added`.
    pub(super) async fn verify_partitions(&self, added: Vec<TxnPartition>, pid: i64, epoch: i16) {
        let lookup = self.partitions.clone();
        let verified =
            tokio::task::spawn_blocking(move || verify(&*lookup, added, pid, epoch)).await;
        if let Err(e) = verified {
            tracing::error!(error = %e, "letting a producer into its partitions failed");
        }
    }
}

/// Lets producer `pid` at `epoch` write transactional batches to `added`. Blocking (takes
/// each partition's lock).
fn verify(lookup: &dyn PartitionLookup, added: Vec<TxnPartition>, pid: i64, epoch: i16) {
    for p in added {
        if let Some(partition) = lookup.partition(&p.topic, p.partition) {
            partition.verify_transaction(pid, epoch);
        }
    }
}

/// A spare producer id for transitions that may need one.
async fn spare_id(shared: &Shared, needed: bool) -> Option<Result<i64, TxnError>> {
    if needed {
        Some(shared.allocate().await)
    } else {
        None
    }
}

fn take_spare(spare: &mut Option<Result<i64, TxnError>>) -> Result<i64, TxnError> {
    spare
        .take()
        .unwrap_or_else(|| Err(TxnError::ProducerIds("no producer id was set aside".into())))
}

impl TxnCoordinator {
    /// InitProducerId with a transactional id: the producer id and epoch to use.
    pub async fn init_producer_id(
        &self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), TxnError> {
        let s = &self.shared;
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest("empty transactional id".into()));
        }
        if timeout_ms <= 0 || timeout_ms > s.cfg.max_timeout_ms {
            return Err(TxnError::InvalidTransactionTimeout(timeout_ms));
        }
        let Some(mut slot) = s.slot(transactional_id, true).await? else {
            return Err(TxnError::CoordinatorNotAvailable);
        };
        let now = s.clock.now_ms();
        let result = async {
            let current = match &slot.meta {
                Some(meta) => meta.clone(),
                None => TxnMetadata::new(transactional_id, s.allocate().await?, timeout_ms, now),
            };
            let exhausted = TxnMetadata::is_epoch_exhausted(current.producer_epoch);
            let mut spare = spare_id(s, exhausted).await;
            let step = machine::init_producer_id(
                &current,
                timeout_ms,
                expected,
                s.cfg.server_tv2(),
                now,
                &mut || take_spare(&mut spare),
            )?;
            match step {
                InitStep::Persist(next) => {
                    s.persist(&next, true).await?;
                    s.publish(&next);
                    let answer = (next.producer_id, next.producer_epoch);
                    slot.meta = Some(next);
                    Ok(answer)
                }
                InitStep::FenceAndAbort(prepare) => {
                    tracing::info!(
                        transactional_id,
                        epoch = prepare.producer_epoch,
                        "a new producer instance fences the open transaction; aborting it"
                    );
                    self.end(&mut slot, prepare).await?;
                    Err(TxnError::ConcurrentTransactions)
                }
            }
        }
        .await;
        if slot.meta.is_none() {
            s.remove(transactional_id, &mut slot);
        }
        result
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn, and the implicit additions of transactions v2.
    pub async fn add_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: BTreeSet<TxnPartition>,
        groups: BTreeSet<String>,
        tv2: bool,
    ) -> Result<(), TxnError> {
        let s = &self.shared;
        let mut slot = self.known(transactional_id, producer_id).await?;
        let Some(current) = slot.meta.clone() else {
            return Err(TxnError::InvalidProducerIdMapping(producer_id));
        };
        let now = s.clock.now_ms();
        let Some(next) =
            machine::add_to_txn(&current, producer_id, epoch, &partitions, &groups, tv2, now)?
        else {
            return Ok(());
        };
        let added: Vec<TxnPartition> = next
            .partitions
            .difference(&current.partitions)
            .cloned()
            .collect();
        let (pid, epoch) = (next.producer_id, next.producer_epoch);
        let lookup = s.partitions.clone();
        let verified = s
            .persist_then(&next, move |_| verify(&*lookup, added, pid, epoch))
            .await?;
        if verified.is_none() {
            tracing::error!("letting a producer into its partitions failed");
        }
        s.publish(&next);
        slot.meta = Some(next);
        Ok(())
    }

    /// AddPartitionsToTxn v4+ with `verify_only`: per partition, whether it is part of the
    /// open transaction. `Err`: the whole transaction is refused.
    pub async fn verify(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[TxnPartition],
    ) -> Result<Vec<Result<(), TxnError>>, TxnError> {
        let slot = self.known(transactional_id, producer_id).await?;
        let Some(current) = &slot.meta else {
            return Err(TxnError::InvalidProducerIdMapping(producer_id));
        };
        machine::check_producer(current, producer_id, epoch)?;
        Ok(partitions
            .iter()
            .map(|p| machine::verify(current, producer_id, epoch, p))
            .collect())
    }

    /// Why a transactional batch of `producer_id` was refused by `partition` (it is not part
    /// of the producer's open transaction there): the error Kafka's verification gives.
    pub async fn produce_error(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partition: &TxnPartition,
    ) -> TxnError {
        let slot = match self.known(transactional_id, producer_id).await {
            Ok(slot) => slot,
            Err(e) => return e,
        };
        let Some(current) = &slot.meta else {
            return TxnError::InvalidProducerIdMapping(producer_id);
        };
        match machine::verify(current, producer_id, epoch, partition) {
            Err(e) => e,
            Ok(()) => TxnError::InvalidTxnState(
                "the batch does not continue the producer's transaction on this partition".into(),
            ),
        }
    }

    /// TxnOffsetCommit: the group's offsets may be committed in the producer's transaction
    /// (transactions v2 adds the group; before, AddOffsetsToTxn must have).
    pub async fn check_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group: &str,
        tv2: bool,
    ) -> Result<(), TxnError> {
        if tv2 {
            let groups = BTreeSet::from([group.to_string()]);
            return self
                .add_to_txn(
                    transactional_id,
                    producer_id,
                    epoch,
                    BTreeSet::new(),
                    groups,
                    true,
                )
                .await;
        }
        let slot = self.known(transactional_id, producer_id).await?;
        let Some(current) = &slot.meta else {
            return Err(TxnError::InvalidProducerIdMapping(producer_id));
        };
        machine::check_producer(current, producer_id, epoch)?;
        match current.state {
            TxnState::Ongoing if current.groups.contains(group) => Ok(()),
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Err(TxnError::ConcurrentTransactions)
            }
            _ => Err(TxnError::TransactionAbortable),
        }
    }

    /// EndTxn: commits or aborts the open transaction. Returns the producer id and epoch the
    /// producer continues with (transactions v2 bumps the epoch).
    pub async fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        tv2: bool,
    ) -> Result<(i64, i16), TxnError> {
        let s = &self.shared;
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest("empty transactional id".into()));
        }
        let mut slot = self.known(transactional_id, producer_id).await?;
        let Some(current) = slot.meta.clone() else {
            return Err(TxnError::InvalidProducerIdMapping(producer_id));
        };
        let now = s.clock.now_ms();
        let exhausted = tv2 && TxnMetadata::is_epoch_exhausted(current.producer_epoch);
        let mut spare = spare_id(s, exhausted).await;
        let step = machine::end_txn(&current, producer_id, epoch, commit, tv2, now, &mut || {
            take_spare(&mut spare)
        })?;
        match step {
            EndStep::Done { producer_id, epoch } => Ok((producer_id, epoch)),
            EndStep::End(prepare) => {
                let next = machine::complete(&prepare, now);
                self.end(&mut slot, prepare).await?;
                Ok((next.producer_id, next.producer_epoch))
            }
        }
    }

    /// DescribeTransactions.
    pub async fn describe(&self, transactional_id: &str) -> Result<TxnDescription, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest("empty transactional id".into()));
        }
        let slot = self.shared.slot(transactional_id, false).await?;
        let Some(meta) = slot.as_ref().and_then(|s| s.meta.as_ref()) else {
            return Err(TxnError::TransactionalIdNotFound);
        };
        if meta.state == TxnState::Dead {
            return Err(TxnError::TransactionalIdNotFound);
        }
        Ok(TxnDescription {
            transactional_id: meta.transactional_id.clone(),
            state: meta.state,
            producer_id: meta.producer_id,
            producer_epoch: meta.producer_epoch,
            timeout_ms: meta.timeout_ms,
            start_ms: meta.txn_start_ms,
            partitions: meta.partitions.iter().cloned().collect(),
            groups: meta.groups.iter().cloned().collect(),
        })
    }

    /// ListTransactions.
    pub fn list(&self, filter: &ListFilter) -> Vec<TxnListing> {
        let now = self.shared.clock.now_ms();
        self.shared
            .listings()
            .into_iter()
            .filter(|l| filter.states.is_empty() || filter.states.contains(&l.state))
            .filter(|l| {
                filter.producer_ids.is_empty() || filter.producer_ids.contains(&l.producer_id)
            })
            .filter(|l| {
                filter.min_duration_ms < 0
                    || (l.state.is_open()
                        && l.start_ms >= 0
                        && now - l.start_ms > filter.min_duration_ms)
            })
            .filter(|l| {
                filter
                    .pattern
                    .as_ref()
                    .is_none_or(|p| p.is_match(&l.transactional_id))
            })
            .collect()
    }

    /// Transactions ended since the start.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// How many transactional ids are in each state now.
    pub fn states(&self) -> Vec<(TxnState, usize)> {
        let mut counts: BTreeMap<&'static str, (TxnState, usize)> = BTreeMap::new();
        for l in self.shared.listings() {
            counts.entry(l.state.as_str()).or_insert((l.state, 0)).1 += 1;
        }
        counts.into_values().collect()
    }

    /// Forgets every transactional id, with its open transaction, and empties the transaction
    /// log, as on a broker that never had any (the test-control plane's reset). Requests under
    /// way finish first; those that arrive meanwhile get COORDINATOR_NOT_AVAILABLE. Open
    /// transactions are dropped without markers: the reset deletes their partitions next.
    /// Returns how many transactional ids were forgotten.
    pub async fn reset(&self) -> Result<usize, TxnError> {
        let s = &self.shared;
        let drained: Vec<_> = {
            let mut slots = lock(&s.slots);
            s.resetting.store(true, Ordering::Release);
            slots.drain().map(|(_, slot)| slot).collect()
        };
        let mut forgotten = 0;
        for slot in drained {
            let mut slot = slot.lock_owned().await;
            if slot.meta.take().is_some() {
                forgotten += 1;
            }
            slot.gone = true;
        }
        lock(&s.listings).clear();
        let cleared = s.store.clear().await;
        s.resetting.store(false, Ordering::Release);
        cleared.map(|()| forgotten)
    }

    /// Stops the coordinator: new requests get COORDINATOR_NOT_AVAILABLE, requests under way
    /// finish, the timers stop and the log writer drains.
    pub async fn shutdown(&self) {
        let s = &self.shared;
        s.closing.store(true, Ordering::Release);
        let _ = s.stop.send(true);
        let slots: Vec<_> = lock(&s.slots).values().cloned().collect();
        for slot in slots {
            drop(slot.lock().await);
        }
        s.store.shutdown().await;
    }

    /// The slot of a known transactional id; INVALID_PRODUCER_ID_MAPPING for an unknown one.
    async fn known(&self, transactional_id: &str, producer_id: i64) -> Result<SlotGuard, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest("empty transactional id".into()));
        }
        match self.shared.slot(transactional_id, false).await? {
            Some(slot) if slot.meta.is_some() => Ok(slot),
            _ => Err(TxnError::InvalidProducerIdMapping(producer_id)),
        }
    }
}
