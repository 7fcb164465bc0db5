//! One tokio task per group. It owns the group's state machine, arms its timers (sessions,
//! join rounds, sync waits, offset expiry), makes each step's records durable through the
//! store writer and only then sends the replies. A slow group never blocks another.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::error;

use super::api::{
    CommitRequest, FetchedOffset, GroupDescription, HeartbeatRequest, JoinRequest, JoinResponse,
    LeaveMember, LeaveResult, PartitionResult, SyncRequest, SyncResponse,
};
use super::error::GroupError;
use super::group::{Group, Outbox};
use super::handle::Shared;
use super::member::{new_member_id, Ticket};
use super::record::Record;

type Reply<T> = oneshot::Sender<T>;

/// A request addressed to one group.
pub(crate) enum Command {
    Join(JoinRequest, Reply<Result<JoinResponse, GroupError>>),
    Sync(SyncRequest, Reply<Result<SyncResponse, GroupError>>),
    Heartbeat(HeartbeatRequest, Reply<Result<(), GroupError>>),
    Leave(
        Vec<LeaveMember>,
        Reply<Result<Vec<LeaveResult>, GroupError>>,
    ),
    Commit(CommitRequest, Reply<Vec<PartitionResult>>),
    Fetch(
        Option<Vec<(String, Vec<i32>)>>,
        bool,
        Reply<Result<Vec<FetchedOffset>, GroupError>>,
    ),
    Describe(Reply<Result<GroupDescription, GroupError>>),
    Delete(Reply<Result<(), GroupError>>),
    DeleteOffsets(
        Vec<(String, Vec<i32>)>,
        Reply<Result<Vec<PartitionResult>, GroupError>>,
    ),
    Shutdown(Reply<()>),
}

impl Command {
    /// Answers the request with `e` without running it.
    pub(crate) fn fail(self, e: GroupError) {
        match self {
            Command::Join(_, tx) => drop(tx.send(Err(e))),
            Command::Sync(_, tx) => drop(tx.send(Err(e))),
            Command::Heartbeat(_, tx) => drop(tx.send(Err(e))),
            Command::Leave(_, tx) => drop(tx.send(Err(e))),
            Command::Commit(req, tx) => drop(tx.send(all_failed(
                req.partitions.iter().map(|p| (&p.topic, p.partition)),
                &e,
            ))),
            Command::Fetch(_, _, tx) => drop(tx.send(Err(e))),
            Command::Describe(tx) => drop(tx.send(Err(e))),
            Command::Delete(tx) => drop(tx.send(Err(e))),
            Command::DeleteOffsets(_, tx) => drop(tx.send(Err(e))),
            Command::Shutdown(tx) => drop(tx.send(())),
        }
    }
}

pub(crate) fn all_failed<'a>(
    parts: impl Iterator<Item = (&'a String, i32)>,
    e: &GroupError,
) -> Vec<PartitionResult> {
    parts
        .map(|(topic, partition)| PartitionResult {
            topic: topic.clone(),
            partition,
            result: Err(e.clone()),
        })
        .collect()
}

/// A reply computed in this step, sent once the step's records are durable.
enum Deferred {
    Nothing,
    Heartbeat(Reply<Result<(), GroupError>>, Result<(), GroupError>),
    Leave(
        Reply<Result<Vec<LeaveResult>, GroupError>>,
        Result<Vec<LeaveResult>, GroupError>,
    ),
    Commit(Reply<Vec<PartitionResult>>, Vec<PartitionResult>),
    Fetch(
        Reply<Result<Vec<FetchedOffset>, GroupError>>,
        Vec<FetchedOffset>,
    ),
    Describe(
        Reply<Result<GroupDescription, GroupError>>,
        GroupDescription,
    ),
    Delete(Reply<Result<(), GroupError>>, Result<(), GroupError>),
    DeleteOffsets(
        Reply<Result<Vec<PartitionResult>, GroupError>>,
        Result<Vec<PartitionResult>, GroupError>,
    ),
}

impl Deferred {
    /// Sends the reply; if the step's write failed, what depended on it fails too.
    fn send(self, failure: Option<&GroupError>) {
        let fail_ok = |results: &mut Vec<PartitionResult>| {
            if let Some(e) = failure {
                for r in results.iter_mut().filter(|r| r.result.is_ok()) {
                    r.result = Err(e.clone());
                }
            }
        };
        match self {
            Deferred::Nothing => {}
            Deferred::Heartbeat(tx, r) => drop(tx.send(r)),
            Deferred::Leave(tx, r) => drop(tx.send(r)),
            Deferred::Commit(tx, mut r) => {
                fail_ok(&mut r);
                drop(tx.send(r))
            }
            Deferred::Fetch(tx, r) => drop(tx.send(Ok(r))),
            Deferred::Describe(tx, r) => drop(tx.send(Ok(r))),
            Deferred::Delete(tx, r) => drop(tx.send(match (failure, r) {
                (Some(e), Ok(())) => Err(e.clone()),
                (_, r) => r,
            })),
            Deferred::DeleteOffsets(tx, mut r) => {
                if let Ok(results) = &mut r {
                    fail_ok(results);
                }
                drop(tx.send(r))
            }
        }
    }
}

/// The task of one group.
pub(crate) struct GroupActor {
    group: Group,
    rx: mpsc::UnboundedReceiver<Command>,
    shared: Arc<Shared>,
    task_id: u64,
    next_ticket: Ticket,
    joins: HashMap<Ticket, Reply<Result<JoinResponse, GroupError>>>,
    syncs: HashMap<Ticket, Reply<Result<SyncResponse, GroupError>>>,
}

impl GroupActor {
    pub fn new(
        group: Group,
        rx: mpsc::UnboundedReceiver<Command>,
        shared: Arc<Shared>,
        task_id: u64,
    ) -> GroupActor {
        GroupActor {
            group,
            rx,
            shared,
            task_id,
            next_ticket: 0,
            joins: HashMap::new(),
            syncs: HashMap::new(),
        }
    }

    pub async fn run(mut self) {
        loop {
            let timer = self
                .group
                .next_deadline()
                .map(|d| self.shared.clock.sleep_until(d));
            let timer = async move {
                match timer {
                    Some(timer) => timer.await,
                    None => std::future::pending().await,
                }
            };
            let command = tokio::select! {
                // Timers first: a request that arrives after a deadline has passed sees what
                // the deadline did (deterministic when a test advances a manual clock).
                biased;
                () = timer => None,
                command = self.rx.recv() => match command {
                    Some(c) => Some(c),
                    None => return,
                },
            };
            let now = self.shared.clock.now_ms();
            let mut out = Outbox::default();
            let deferred = match command {
                None => {
                    self.group.tick(now, &mut out);
                    Deferred::Nothing
                }
                Some(Command::Shutdown(done)) => {
                    self.fail_parked(GroupError::CoordinatorNotAvailable);
                    self.shared.unregister(self.group.id(), self.task_id);
                    let _ = done.send(());
                    return;
                }
                Some(command) => self.handle(command, now, &mut out),
            };
            self.finish(out, deferred, now).await;
            self.shared.publish(&self.group);
            if self.group.is_gone() {
                self.exit();
                return;
            }
        }
    }

    fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn handle(&mut self, command: Command, now: i64, out: &mut Outbox) -> Deferred {
        match command {
            Command::Join(req, tx) => {
                let ticket = self.ticket();
                self.joins.insert(ticket, tx);
                let fresh = if req.member_id.is_empty() {
                    new_member_id(req.group_instance_id.as_deref().unwrap_or(&req.client_id))
                } else {
                    String::new()
                };
                self.group.join(req, ticket, fresh, now, out);
                Deferred::Nothing
            }
            Command::Sync(req, tx) => {
                let ticket = self.ticket();
                self.syncs.insert(ticket, tx);
                self.group.sync(req, ticket, now, out);
                Deferred::Nothing
            }
            Command::Heartbeat(req, tx) => Deferred::Heartbeat(tx, self.group.heartbeat(&req, now)),
            Command::Leave(members, tx) => Deferred::Leave(tx, self.group.leave(members, now, out)),
            Command::Commit(req, tx) => {
                Deferred::Commit(tx, self.group.commit_offsets(req, now, out))
            }
            Command::Fetch(topics, require_stable, tx) => {
                Deferred::Fetch(tx, self.group.fetch_offsets(topics, require_stable))
            }
            Command::Describe(tx) => Deferred::Describe(tx, self.group.describe()),
            Command::Delete(tx) => Deferred::Delete(tx, self.group.delete_group(now, out)),
            Command::DeleteOffsets(topics, tx) => {
                Deferred::DeleteOffsets(tx, self.group.delete_offsets(topics, out))
            }
            Command::Shutdown(done) => {
                let _ = done.send(());
                Deferred::Nothing
            }
        }
    }

    /// Persists the step's records, then sends its replies.
    async fn finish(&mut self, mut out: Outbox, deferred: Deferred, now: i64) {
        let mut failure = None;
        let membership_changed = out
            .records
            .iter()
            .any(|r| matches!(r, Record::Group { .. }));
        if !out.records.is_empty() {
            let records = std::mem::take(&mut out.records);
            if let Err(e) = self.shared.store.append(records).await {
                error!(group = %self.group.id(), error = %e, "persisting the group failed");
                failure = Some(e);
            }
        }
        if let Some(e) = &failure {
            self.group
                .undo_offsets(std::mem::take(&mut out.undo_offsets));
            // Replies that depend on the membership write fail with it, and the group
            // rebalances as Kafka does when storing an assignment fails.
            if membership_changed {
                for (_, r) in out.joins.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *r = Err(e.clone());
                }
                for (_, r) in out.syncs.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *r = Err(e.clone());
                }
                let mut recovery = Outbox::default();
                self.group.on_store_failure(now, &mut recovery);
                out.joins.append(&mut recovery.joins);
                out.syncs.append(&mut recovery.syncs);
            }
        }
        self.send_replies(out);
        deferred.send(failure.as_ref());
    }

    fn send_replies(&mut self, out: Outbox) {
        for (ticket, r) in out.joins {
            if let Some(tx) = self.joins.remove(&ticket) {
                let _ = tx.send(r);
            }
        }
        for (ticket, r) in out.syncs {
            if let Some(tx) = self.syncs.remove(&ticket) {
                let _ = tx.send(r);
            }
        }
    }

    fn fail_parked(&mut self, e: GroupError) {
        for (_, tx) in self.joins.drain() {
            let _ = tx.send(Err(e.clone()));
        }
        for (_, tx) in self.syncs.drain() {
            let _ = tx.send(Err(e.clone()));
        }
    }

    /// The group no longer exists: leave the registry and hand requests that raced in to a
    /// fresh task (which sees a group that does not exist).
    fn exit(mut self) {
        self.fail_parked(GroupError::CoordinatorNotAvailable);
        let id = self.group.id().to_string();
        self.shared.unregister(&id, self.task_id);
        self.rx.close();
        while let Ok(command) = self.rx.try_recv() {
            self.shared.dispatch(&id, command);
        }
    }
}
