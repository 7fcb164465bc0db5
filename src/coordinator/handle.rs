//! The public handle: starts the coordinator from its store, routes each request to its
//! group's task (created on first use) and gathers multi-group answers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};

use super::actor::{Command, GroupActor};
use super::api::{
    CommitRequest, FetchedOffset, GroupDescription, GroupListing, HeartbeatRequest, JoinRequest,
    JoinResponse, LeaveMember, LeaveResult, PartitionResult, SyncRequest, SyncResponse,
    TxnCommitRequest,
};
use super::config::GroupConfig;
use super::consumer::api::{
    ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResponse,
};
use super::error::GroupError;
use super::group::Effects;
use super::ops::{self, Call, Op};
use super::slot::Slot;
use super::store::Store;
use super::writer::StoreWriter;
use crate::clock::Clock;

/// The group coordinator. Cheap to clone; every clone talks to the same groups.
#[derive(Clone)]
pub struct GroupCoordinator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCoordinator").finish_non_exhaustive()
    }
}

/// State shared by the handle and the group tasks.
pub(super) struct Shared {
    pub cfg: GroupConfig,
    pub clock: Clock,
    pub store: StoreWriter,
    registry: Mutex<Registry>,
    listings: Mutex<HashMap<String, GroupListing>>,
}

#[derive(Default)]
struct Registry {
    /// group id -> (task id, the task's queue)
    tasks: HashMap<String, (u64, mpsc::UnboundedSender<Command>)>,
    next_task_id: u64,
    closing: bool,
    /// A reset is under way: requests get COORDINATOR_NOT_AVAILABLE until it is done.
    resetting: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Sends `command` to its group's task, starting one for a group not in memory.
    pub(super) fn dispatch(self: &Arc<Self>, group_id: &str, mut command: Command) {
        loop {
            let (task_id, tx) = {
                let mut reg = lock(&self.registry);
                if reg.closing || reg.resetting {
                    return command.fail(GroupError::CoordinatorNotAvailable);
                }
                match reg.tasks.get(group_id) {
                    Some((id, tx)) => (*id, tx.clone()),
                    None => {
                        let group = Slot::absent(group_id, self.cfg.clone(), self.clock.now_ms());
                        self.spawn_locked(&mut reg, group)
                    }
                }
            };
            match tx.send(command) {
                Ok(()) => return,
                Err(mpsc::error::SendError(c)) => {
                    // The task is exiting (or died): forget it and retry with a new one.
                    command = c;
                    self.unregister(group_id, task_id);
                }
            }
        }
    }

    fn spawn_locked(
        self: &Arc<Self>,
        reg: &mut Registry,
        group: Slot,
    ) -> (u64, mpsc::UnboundedSender<Command>) {
        let (tx, rx) = mpsc::unbounded_channel();
        reg.next_task_id += 1;
        let id = reg.next_task_id;
        reg.tasks.insert(group.id().to_string(), (id, tx.clone()));
        tokio::spawn(GroupActor::new(group, rx, self.clone(), id).run());
        (id, tx)
    }

    /// Removes the group's task from the registry if it is still `task_id`.
    pub(super) fn unregister(&self, group_id: &str, task_id: u64) {
        let mut reg = lock(&self.registry);
        if reg
            .tasks
            .get(group_id)
            .is_some_and(|(id, _)| *id == task_id)
        {
            reg.tasks.remove(group_id);
            lock(&self.listings).remove(group_id);
        }
    }

    /// Records the group's ListGroups entry.
    pub(super) fn publish(&self, group: &Slot) {
        let mut listings = lock(&self.listings);
        match group.listing() {
            Some(l) => {
                if listings.get(group.id()) != Some(&l) {
                    listings.insert(l.group_id.clone(), l);
                }
            }
            None => {
                listings.remove(group.id());
            }
        }
    }
}

impl GroupCoordinator {
    /// Opens (or creates) the group log in `dir`, replays it and starts a task for every
    /// group found, with its members' session timers starting now. Every timer and timestamp
    /// reads `clock`.
    pub async fn start(
        dir: PathBuf,
        config: GroupConfig,
        clock: Clock,
    ) -> Result<GroupCoordinator, GroupError> {
        let min = config.store_compaction_min_bytes;
        let (store, loaded) = tokio::task::spawn_blocking(move || Store::open(&dir, min))
            .await
            .map_err(|e| GroupError::from(std::io::Error::other(e)))??;
        let store = StoreWriter::spawn(store)?;
        let shared = Arc::new(Shared {
            cfg: config,
            clock,
            store,
            registry: Mutex::new(Registry::default()),
            listings: Mutex::new(HashMap::new()),
        });
        let now = shared.clock.now_ms();
        {
            let mut reg = lock(&shared.registry);
            for (id, image) in loaded {
                let mut group = Slot::restore(&id, shared.cfg.clone(), image, now);
                let mut out = Effects::default();
                group.classic.on_loaded(now, &mut out);
                shared.publish(&group);
                shared.spawn_locked(&mut reg, group);
            }
        }
        Ok(GroupCoordinator { shared })
    }

    /// Runs `op` on its group's task; `None` if the task went away without answering.
    async fn call<O: Op>(&self, group_id: &str, op: O) -> Option<O::Reply> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .dispatch(group_id, Command::Op(Call::boxed(op, tx)));
        rx.await.ok()
    }

    /// JoinGroup.
    pub async fn join_group(&self, req: JoinRequest) -> Result<JoinResponse, GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let group_id = req.group_id.clone();
        self.call(&group_id, req)
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// SyncGroup.
    pub async fn sync_group(&self, req: SyncRequest) -> Result<SyncResponse, GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let group_id = req.group_id.clone();
        self.call(&group_id, req)
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// ConsumerGroupHeartbeat (KIP-848).
    pub async fn consumer_heartbeat(
        &self,
        req: ConsumerHeartbeat,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidRequest("GroupId can't be empty.".into()));
        }
        let group_id = req.group_id.clone();
        self.call(&group_id, req)
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// ConsumerGroupDescribe: one entry per id, in order.
    pub async fn consumer_describe_groups(
        &self,
        group_ids: Vec<String>,
    ) -> Vec<(String, Result<ConsumerGroupDescription, GroupError>)> {
        let (cfg, now) = (&self.shared.cfg, self.shared.clock.now_ms());
        self.ask_each(
            group_ids,
            || ops::ConsumerDescribe,
            |id| Slot::absent(id, cfg.clone(), now).consumer_describe(),
        )
        .await
    }

    /// Heartbeat.
    pub async fn heartbeat(&self, req: HeartbeatRequest) -> Result<(), GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let group_id = req.group_id.clone();
        self.call(&group_id, req)
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// LeaveGroup. `Err` is a group-level error; otherwise one result per member, in order.
    pub async fn leave_group(
        &self,
        group_id: &str,
        members: Vec<LeaveMember>,
    ) -> Result<Vec<LeaveResult>, GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.call(group_id, ops::Leave(members))
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// OffsetCommit: one result per partition, in order; accepted offsets are durable when
    /// this returns.
    pub async fn commit_offsets(&self, req: CommitRequest) -> Vec<PartitionResult> {
        let parts: Vec<(String, i32)> = req
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.partition))
            .collect();
        let group_id = req.group_id.clone();
        match self.call(&group_id, req).await {
            Some(results) => results,
            None => ops::all_failed(
                parts.iter().map(|(t, p)| (t, *p)),
                &GroupError::CoordinatorNotAvailable,
            ),
        }
    }

    /// TxnOffsetCommit: one result per partition, in order; accepted offsets are durable and
    /// pending for the producer's transaction when this returns.
    pub async fn commit_txn_offsets(&self, req: TxnCommitRequest) -> Vec<PartitionResult> {
        let parts: Vec<(String, i32)> = req
            .partitions
            .iter()
            .map(|p| (p.topic.clone(), p.partition))
            .collect();
        let group_id = req.group_id.clone();
        if group_id.is_empty() {
            return ops::all_failed(
                parts.iter().map(|(t, p)| (t, *p)),
                &GroupError::InvalidGroupId,
            );
        }
        match self.call(&group_id, req).await {
            Some(results) => results,
            None => ops::all_failed(
                parts.iter().map(|(t, p)| (t, *p)),
                &GroupError::CoordinatorNotAvailable,
            ),
        }
    }

    /// The transaction of `producer_id` ended: its offsets pending on `group_id` are applied
    /// (commit) or dropped (abort), durably when this returns.
    pub async fn complete_txn(
        &self,
        group_id: &str,
        producer_id: i64,
        commit: bool,
    ) -> Result<(), GroupError> {
        self.call(
            group_id,
            ops::CompleteTxn {
                producer_id,
                commit,
            },
        )
        .await
        .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// OffsetFetch for one group: the given partitions, or all committed ones when `topics`
    /// is `None`.
    pub async fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, GroupError> {
        self.fetch_member_offsets(group_id, topics, None, require_stable)
            .await
    }

    /// OffsetFetch v9+ from a group member: in a consumer group, `member` (id, epoch) must be
    /// a member at its current epoch.
    pub async fn fetch_member_offsets(
        &self,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
        member: Option<(String, i32)>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, GroupError> {
        self.call(
            group_id,
            ops::FetchOffsets {
                topics,
                member,
                require_stable,
            },
        )
        .await
        .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// How many group tasks were ever started.
    #[cfg(test)]
    pub(crate) fn tasks_started(&self) -> u64 {
        lock(&self.shared.registry).next_task_id
    }

    /// DescribeGroups: one entry per id, in order.
    pub async fn describe_groups(
        &self,
        group_ids: Vec<String>,
    ) -> Vec<(String, Result<GroupDescription, GroupError>)> {
        let (cfg, now) = (&self.shared.cfg, self.shared.clock.now_ms());
        self.ask_each(
            group_ids,
            || ops::Describe,
            |id| Ok(Slot::absent(id, cfg.clone(), now).describe()),
        )
        .await
    }

    /// ListGroups: every existing group, optionally only those in one of `states` and of one
    /// of `types` ("classic", "consumer"; both case-insensitive; empty = all), sorted by id.
    pub fn list_groups(&self, states: &[String], types: &[String]) -> Vec<GroupListing> {
        let wanted = |filter: &[String], value: &str| {
            filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
        };
        let mut groups: Vec<GroupListing> = lock(&self.shared.listings)
            .values()
            .filter(|l| wanted(states, l.state) && wanted(types, l.group_type))
            .cloned()
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups
    }

    /// DeleteGroups: one result per id, in order.
    pub async fn delete_groups(
        &self,
        group_ids: Vec<String>,
    ) -> Vec<(String, Result<(), GroupError>)> {
        self.ask_each(
            group_ids,
            || ops::Delete,
            |_| Err(GroupError::GroupIdNotFound),
        )
        .await
    }

    /// Sends one op to each group at once, then collects the answers in order. A group
    /// without a task does not exist: `absent` answers for it, so a request listing any number
    /// of unknown ids starts no task.
    async fn ask_each<T, O>(
        &self,
        group_ids: Vec<String>,
        op: impl Fn() -> O,
        absent: impl Fn(&str) -> Result<T, GroupError>,
    ) -> Vec<(String, Result<T, GroupError>)>
    where
        O: Op<Reply = Result<T, GroupError>>,
    {
        enum Answer<T> {
            Now(Result<T, GroupError>),
            Later(oneshot::Receiver<Result<T, GroupError>>),
        }
        let pending: Vec<_> = group_ids
            .into_iter()
            .map(|id| {
                let known = lock(&self.shared.registry).tasks.contains_key(&id);
                if !known {
                    let answer = Answer::Now(absent(&id));
                    return (id, answer);
                }
                let (tx, rx) = oneshot::channel();
                self.shared
                    .dispatch(&id, Command::Op(Call::boxed(op(), tx)));
                (id, Answer::Later(rx))
            })
            .collect();
        let mut out = Vec::with_capacity(pending.len());
        for (id, answer) in pending {
            let result = match answer {
                Answer::Now(result) => result,
                Answer::Later(rx) => rx.await.unwrap_or(Err(GroupError::CoordinatorNotAvailable)),
            };
            out.push((id, result));
        }
        out
    }

    /// OffsetDelete. `Err` is a group-level error; otherwise one result per partition.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        topics: Vec<(String, Vec<i32>)>,
    ) -> Result<Vec<PartitionResult>, GroupError> {
        self.call(group_id, ops::DeleteOffsets(topics))
            .await
            .unwrap_or(Err(GroupError::CoordinatorNotAvailable))
    }

    /// Forgets every group and committed offset, durably, without a restart; returns how many
    /// groups there were. Parked JoinGroup/SyncGroup requests, and requests that arrive
    /// meanwhile, get COORDINATOR_NOT_AVAILABLE (clients retry, as after a coordinator
    /// move); afterwards members find their groups gone (UNKNOWN_MEMBER_ID) and rejoin.
    pub async fn reset(&self) -> Result<usize, GroupError> {
        let tasks: Vec<_> = {
            let mut reg = lock(&self.shared.registry);
            reg.resetting = true;
            reg.tasks.drain().map(|(_, (_, tx))| tx).collect()
        };
        let groups = lock(&self.shared.listings).len();
        let mut acks = Vec::new();
        for tx in tasks {
            let (done, rx) = oneshot::channel();
            if tx.send(Command::Shutdown(done)).is_ok() {
                acks.push(rx);
            }
        }
        for rx in acks {
            let _ = rx.await;
        }
        lock(&self.shared.listings).clear();
        let cleared = self.shared.store.clear().await;
        lock(&self.shared.registry).resetting = false;
        cleared.map(|()| groups)
    }

    /// Stops every group (parked JoinGroup/SyncGroup requests get COORDINATOR_NOT_AVAILABLE)
    /// and the store writer. Everything acknowledged was already durable.
    pub async fn shutdown(&self) {
        let tasks: Vec<_> = {
            let mut reg = lock(&self.shared.registry);
            reg.closing = true;
            reg.tasks.values().map(|(_, tx)| tx.clone()).collect()
        };
        let mut acks = Vec::new();
        for tx in tasks {
            let (done, rx) = oneshot::channel();
            if tx.send(Command::Shutdown(done)).is_ok() {
                acks.push(rx);
            }
        }
        for rx in acks {
            let _ = rx.await;
        }
        self.shared.store.shutdown().await;
    }
}
