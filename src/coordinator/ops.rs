//! Every request a group's task runs, each defined in one place: an [`Op`] says how the request
//! runs on the group, what it answers when it cannot run, and how its answer changes when the
//! step's records could not be made durable. Adding a request is one `impl Op` here plus its
//! method on the handle.

use std::collections::HashMap;

use tokio::sync::oneshot;

use super::api::{
    CommitRequest, FetchedOffset, GroupDescription, HeartbeatRequest, JoinRequest, JoinResponse,
    LeaveMember, LeaveResult, PartitionResult, SyncRequest, SyncResponse, TxnCommitRequest,
};
use super::consumer::api::{
    ConsumerGroupDescription, ConsumerHeartbeat, ConsumerHeartbeatResponse,
};
use super::error::GroupError;
use super::group::Effects;
use super::member::{new_member_id, Ticket};
use super::slot::Slot;

/// A request addressed to one group, run by its task.
pub(super) trait Op: Send + Sized + 'static {
    type Reply: Send + 'static;

    /// Runs the request at `step.now`.
    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply>;

    /// The answer when the request cannot reach its group.
    fn refused(self, e: GroupError) -> Self::Reply;

    /// The answer when the step's records could not be made durable. Most answers do not
    /// depend on them.
    fn unwritten(reply: Self::Reply, _e: &GroupError) -> Self::Reply {
        reply
    }

    /// The answer in a reply to a parked request, if it is this op's kind.
    fn unpark(_reply: Parked) -> Option<Self::Reply> {
        None
    }
}

/// What running an op gave.
pub(super) enum Answer<R> {
    /// Sent once the step's records are durable.
    Now(R),
    /// Parked under a ticket; the state machine answers it later through [`Effects`].
    Parked(Ticket),
}

/// An answer to a parked request.
pub(super) enum Parked {
    Join(Result<JoinResponse, GroupError>),
    Sync(Result<SyncResponse, GroupError>),
    /// The task stops or the group goes away before the answer.
    Failed(GroupError),
}

/// Sends the answer to one parked request.
pub(super) type ParkedReply = Box<dyn FnOnce(Parked) + Send>;

/// An answer computed in a step, sent once the step's records are durable (or not).
pub(super) type Deferred = Box<dyn FnOnce(Option<&GroupError>) + Send>;

/// What an op sees of its task while it runs.
pub(super) struct Step<'a> {
    pub now: i64,
    pub out: &'a mut Effects,
    next_ticket: &'a mut Ticket,
}

impl<'a> Step<'a> {
    pub fn new(now: i64, out: &'a mut Effects, next_ticket: &'a mut Ticket) -> Step<'a> {
        Step {
            now,
            out,
            next_ticket,
        }
    }

    pub fn ticket(&mut self) -> Ticket {
        *self.next_ticket += 1;
        *self.next_ticket
    }
}

/// A request and where its answer goes, with the types erased so one queue carries all kinds.
pub(super) trait Job: Send {
    /// Runs the request; a parked answer is registered in `parked`.
    fn run(
        self: Box<Self>,
        slot: &mut Slot,
        step: &mut Step<'_>,
        parked: &mut HashMap<Ticket, ParkedReply>,
    ) -> Option<Deferred>;

    /// Answers without running.
    fn refuse(self: Box<Self>, e: GroupError);
}

/// An [`Op`] with its reply channel.
pub(super) struct Call<O: Op> {
    op: O,
    tx: oneshot::Sender<O::Reply>,
}

impl<O: Op> Call<O> {
    pub fn boxed(op: O, tx: oneshot::Sender<O::Reply>) -> Box<dyn Job> {
        Box::new(Call { op, tx })
    }
}

impl<O: Op> Job for Call<O> {
    fn run(
        self: Box<Self>,
        slot: &mut Slot,
        step: &mut Step<'_>,
        parked: &mut HashMap<Ticket, ParkedReply>,
    ) -> Option<Deferred> {
        let Call { op, tx } = *self;
        match op.run(slot, step) {
            Answer::Now(reply) => Some(Box::new(move |failure: Option<&GroupError>| {
                let reply = match failure {
                    Some(e) => O::unwritten(reply, e),
                    None => reply,
                };
                let _ = tx.send(reply);
            })),
            Answer::Parked(ticket) => {
                parked.insert(
                    ticket,
                    Box::new(move |answer| {
                        if let Some(reply) = O::unpark(answer) {
                            let _ = tx.send(reply);
                        }
                    }),
                );
                None
            }
        }
    }

    fn refuse(self: Box<Self>, e: GroupError) {
        let Call { op, tx } = *self;
        let _ = tx.send(op.refused(e));
    }
}

/// Every partition of a request answered with `e`.
pub(super) fn all_failed<'a>(
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

/// Partitions that were accepted fail with the write that should have made them durable.
fn fail_accepted(results: &mut [PartitionResult], e: &GroupError) {
    for r in results.iter_mut().filter(|r| r.result.is_ok()) {
        r.result = Err(e.clone());
    }
}

impl Op for JoinRequest {
    type Reply = Result<JoinResponse, GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        let ticket = step.ticket();
        let fresh = if self.member_id.is_empty() {
            new_member_id(self.group_instance_id.as_deref().unwrap_or(&self.client_id))
        } else {
            String::new()
        };
        if let Err(e) = slot.before_classic_join(step.out) {
            return Answer::Now(Err(e));
        }
        slot.classic.join(self, ticket, fresh, step.now, step.out);
        Answer::Parked(ticket)
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unpark(reply: Parked) -> Option<Self::Reply> {
        match reply {
            Parked::Join(r) => Some(r),
            Parked::Failed(e) => Some(Err(e)),
            Parked::Sync(_) => None,
        }
    }
}

impl Op for SyncRequest {
    type Reply = Result<SyncResponse, GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        let ticket = step.ticket();
        slot.classic.sync(self, ticket, step.now, step.out);
        Answer::Parked(ticket)
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unpark(reply: Parked) -> Option<Self::Reply> {
        match reply {
            Parked::Sync(r) => Some(r),
            Parked::Failed(e) => Some(Err(e)),
            Parked::Join(_) => None,
        }
    }
}

impl Op for HeartbeatRequest {
    type Reply = Result<(), GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.classic.heartbeat(&self, step.now))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }
}

/// LeaveGroup: the members leaving.
pub(super) struct Leave(pub Vec<LeaveMember>);

impl Op for Leave {
    type Reply = Result<Vec<LeaveResult>, GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.classic.leave(self.0, step.now, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }
}

impl Op for CommitRequest {
    type Reply = Vec<PartitionResult>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.commit(self, step.now, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        all_failed(self.partitions.iter().map(|p| (&p.topic, p.partition)), &e)
    }

    fn unwritten(mut reply: Self::Reply, e: &GroupError) -> Self::Reply {
        fail_accepted(&mut reply, e);
        reply
    }
}

impl Op for TxnCommitRequest {
    type Reply = Vec<PartitionResult>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.commit_txn(self, step.now, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        all_failed(self.partitions.iter().map(|p| (&p.topic, p.partition)), &e)
    }

    fn unwritten(mut reply: Self::Reply, e: &GroupError) -> Self::Reply {
        fail_accepted(&mut reply, e);
        reply
    }
}

/// A transaction ended: its producer's pending offsets on the group are applied (commit) or
/// dropped (abort).
pub(super) struct CompleteTxn {
    pub producer_id: i64,
    pub commit: bool,
}

impl Op for CompleteTxn {
    type Reply = Result<(), GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        slot.complete_txn(self.producer_id, self.commit, step.out);
        Answer::Now(Ok(()))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unwritten(reply: Self::Reply, e: &GroupError) -> Self::Reply {
        reply.and(Err(e.clone()))
    }
}

/// OffsetFetch: the partitions wanted (all when `None`).
pub(super) struct FetchOffsets {
    pub topics: Option<Vec<(String, Vec<i32>)>>,
    /// OffsetFetch v9+: the member asking and its epoch, checked in consumer groups.
    pub member: Option<(String, i32)>,
    pub require_stable: bool,
}

impl Op for FetchOffsets {
    type Reply = Result<Vec<FetchedOffset>, GroupError>;

    fn run(self, slot: &mut Slot, _step: &mut Step<'_>) -> Answer<Self::Reply> {
        let member = self.member.as_ref().map(|(m, e)| (m.as_str(), *e));
        Answer::Now(slot.fetch(self.topics, member, self.require_stable))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }
}

/// DescribeGroups for one group.
pub(super) struct Describe;

impl Op for Describe {
    type Reply = Result<GroupDescription, GroupError>;

    fn run(self, slot: &mut Slot, _step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(Ok(slot.describe()))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }
}

/// DeleteGroups for one group.
pub(super) struct Delete;

impl Op for Delete {
    type Reply = Result<(), GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.delete(step.now, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unwritten(reply: Self::Reply, e: &GroupError) -> Self::Reply {
        reply.and(Err(e.clone()))
    }
}

/// OffsetDelete: the partitions whose offsets go.
pub(super) struct DeleteOffsets(pub Vec<(String, Vec<i32>)>);

impl Op for DeleteOffsets {
    type Reply = Result<Vec<PartitionResult>, GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.delete_offsets(self.0, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unwritten(mut reply: Self::Reply, e: &GroupError) -> Self::Reply {
        if let Ok(results) = &mut reply {
            fail_accepted(results, e);
        }
        reply
    }
}

impl Op for ConsumerHeartbeat {
    type Reply = Result<ConsumerHeartbeatResponse, GroupError>;

    fn run(self, slot: &mut Slot, step: &mut Step<'_>) -> Answer<Self::Reply> {
        // v0 members joining without an id get one from the broker, as Kafka gives a UUID.
        let fresh = uuid::Uuid::new_v4().to_string();
        Answer::Now(slot.consumer_heartbeat(self, fresh, step.now, step.out))
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }

    fn unwritten(reply: Self::Reply, e: &GroupError) -> Self::Reply {
        reply.and(Err(e.clone()))
    }
}

/// ConsumerGroupDescribe for one group.
pub(super) struct ConsumerDescribe;

impl Op for ConsumerDescribe {
    type Reply = Result<ConsumerGroupDescription, GroupError>;

    fn run(self, slot: &mut Slot, _step: &mut Step<'_>) -> Answer<Self::Reply> {
        Answer::Now(slot.consumer_describe())
    }

    fn refused(self, e: GroupError) -> Self::Reply {
        Err(e)
    }
}
