//! One tokio task per group. It owns the group's state machine, arms its timers (sessions,
//! join rounds, sync waits, offset expiry), makes each step's records durable through the
//! store writer and only then sends the replies. A slow group never blocks another. The
//! requests it runs are defined in ops.rs.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::error;

use super::error::GroupError;
use super::group::Effects;
use super::handle::Shared;
use super::member::Ticket;
use super::ops::{Deferred, Job, Parked, ParkedReply, Step};
use super::record::Record;
use super::slot::Slot;

/// A message to a group's task.
pub(super) enum Command {
    /// A request (see ops.rs).
    Op(Box<dyn Job>),
    Shutdown(oneshot::Sender<()>),
}

impl Command {
    /// Answers the request with `e` without running it.
    pub(super) fn fail(self, e: GroupError) {
        match self {
            Command::Op(job) => job.refuse(e),
            Command::Shutdown(tx) => drop(tx.send(())),
        }
    }
}

/// The task of one group.
pub(super) struct GroupActor {
    group: Slot,
    rx: mpsc::UnboundedReceiver<Command>,
    shared: Arc<Shared>,
    task_id: u64,
    next_ticket: Ticket,
    parked: HashMap<Ticket, ParkedReply>,
}

impl GroupActor {
    pub fn new(
        group: Slot,
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
            parked: HashMap::new(),
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
            let mut out = Effects::default();
            let deferred = match command {
                None => {
                    self.group.tick(now, &mut out);
                    None
                }
                Some(Command::Shutdown(done)) => {
                    self.fail_parked(GroupError::CoordinatorNotAvailable);
                    self.shared.unregister(self.group.id(), self.task_id);
                    let _ = done.send(());
                    return;
                }
                Some(Command::Op(job)) => {
                    let mut step = Step::new(now, &mut out, &mut self.next_ticket);
                    job.run(&mut self.group, &mut step, &mut self.parked)
                }
            };
            self.finish(out, deferred, now).await;
            self.shared.publish(&self.group);
            if self.group.is_gone() {
                self.exit();
                return;
            }
        }
    }

    /// Persists the step's records, then sends its replies.
    async fn finish(&mut self, mut out: Effects, deferred: Option<Deferred>, now: i64) {
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
                .classic
                .undo_offsets(std::mem::take(&mut out.undo_offsets));
            self.group
                .classic
                .undo_pending(std::mem::take(&mut out.undo_pending));
            // Replies that depend on the membership write fail with it, and the group
            // rebalances as Kafka does when storing an assignment fails.
            if membership_changed {
                for (_, r) in out.joins.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *r = Err(e.clone());
                }
                for (_, r) in out.syncs.iter_mut().filter(|(_, r)| r.is_ok()) {
                    *r = Err(e.clone());
                }
                let mut recovery = Effects::default();
                self.group.classic.on_store_failure(now, &mut recovery);
                out.joins.append(&mut recovery.joins);
                out.syncs.append(&mut recovery.syncs);
            }
        }
        self.send_replies(out);
        if let Some(send) = deferred {
            send(failure.as_ref());
        }
    }

    fn send_replies(&mut self, out: Effects) {
        let joins = out.joins.into_iter().map(|(t, r)| (t, Parked::Join(r)));
        let syncs = out.syncs.into_iter().map(|(t, r)| (t, Parked::Sync(r)));
        for (ticket, answer) in joins.chain(syncs) {
            if let Some(reply) = self.parked.remove(&ticket) {
                reply(answer);
            }
        }
    }

    fn fail_parked(&mut self, e: GroupError) {
        for (_, reply) in self.parked.drain() {
            reply(Parked::Failed(e.clone()));
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
