//! Offsets committed in a transaction (TxnOffsetCommit) stay pending, across a broker restart,
//! until the transaction ends: an OffsetFetch that requires stable offsets gets
//! UNSTABLE_OFFSET_COMMIT meanwhile, and the offsets appear on commit, never on abort.

use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, EndTxnRequest, GroupId, InitProducerIdRequest, OffsetFetchRequest,
    ProducerId, TransactionalId, TxnOffsetCommitRequest,
};

use crate::support::broker::TestBroker;
use crate::support::raw::{s, topic_name, RawClient};

const UNSTABLE_OFFSET_COMMIT: i16 = 88;

/// A transaction that commits `offset` for partition t-0 of group "g"; returns (pid, epoch).
async fn txn_with_offset(c: &mut RawClient, id: &str, offset: i64) -> (i64, i16) {
    let init = c
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s(id))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id, init.producer_epoch);
    let added = c
        .call(
            3,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s(id)))
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_group_id(GroupId(s("g"))),
        )
        .await;
    assert_eq!(added.error_code, 0);
    let committed = c
        .call(
            3,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s(id)))
                .with_group_id(GroupId(s("g")))
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name("t"))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset)])]),
        )
        .await;
    assert_eq!(committed.topics[0].partitions[0].error_code, 0);
    (pid.0, epoch)
}

async fn end(c: &mut RawClient, id: &str, (pid, epoch): (i64, i16), commit: bool) {
    let r = c
        .call(
            3,
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s(id)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(commit),
        )
        .await;
    assert_eq!(r.error_code, 0);
}

/// (error code, offset) of t-0 for group "g" (OffsetFetch v7).
async fn fetched(c: &mut RawClient, require_stable: bool) -> (i16, i64) {
    let r = c
        .call(
            7,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_require_stable(require_stable)
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(topic_name("t"))
                    .with_partition_indexes(vec![0])])),
        )
        .await;
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_of_an_open_transaction_are_unstable_until_it_commits_even_across_a_restart() {
    let broker = TestBroker::start().await;
    let mut c = RawClient::connect(broker.addr()).await;
    c.create_topic("t", 1, &[]).await;
    let first = txn_with_offset(&mut c, "tx", 5).await;
    assert_eq!(fetched(&mut c, true).await, (UNSTABLE_OFFSET_COMMIT, -1));
    assert_eq!(fetched(&mut c, false).await, (0, -1), "not committed yet");

    let broker = broker.restart(&[]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(fetched(&mut c, true).await, (UNSTABLE_OFFSET_COMMIT, -1));
    end(&mut c, "tx", first, true).await;
    assert_eq!(fetched(&mut c, true).await, (0, 5));

    let second = txn_with_offset(&mut c, "tx", 9).await;
    assert_eq!(fetched(&mut c, true).await, (UNSTABLE_OFFSET_COMMIT, -1));
    assert_eq!(fetched(&mut c, false).await, (0, 5));
    end(&mut c, "tx", second, false).await;
    assert_eq!(
        fetched(&mut c, true).await,
        (0, 5),
        "an aborted offset never shows"
    );
}

const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const MEMBER_ID_REQUIRED: i16 = 79;

/// TxnOffsetCommit of t-0 for group "g" with the consumer's member, generation and instance.
async fn commit_as(
    c: &mut RawClient,
    version: i16,
    (id, pid, epoch): (&str, i64, i16),
    (member, generation, instance): (&str, i32, Option<&str>),
) -> i16 {
    let r = c
        .call(
            version,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s(id)))
                .with_group_id(GroupId(s("g")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_member_id(s(member))
                .with_generation_id(generation)
                .with_group_instance_id(instance.map(s))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name("t"))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(7)])]),
        )
        .await;
    r.topics[0].partitions[0].error_code
}

#[tokio::test(flavor = "multi_thread")]
async fn transactional_offset_commits_are_fenced_by_member_generation_and_producer() {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
    use kafka_protocol::messages::{JoinGroupRequest, SyncGroupRequest};

    let broker = TestBroker::start_with(&[("group.initial.rebalance.delay.ms", "0")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    c.create_topic("t", 1, &[]).await;
    // One member of group "g", generation 1, synced.
    let join = |member: &str| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(s(member))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(bytes::Bytes::from_static(&[
                    0, 0, 0, 0, 0, 0, 255, 255, 255, 255,
                ]))])
    };
    let first = c.call(7, &join("")).await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    let member = first.member_id.to_string();
    let joined = c.call(7, &join(&member)).await;
    assert_eq!((joined.error_code, joined.generation_id), (0, 1));
    let synced = c
        .call(
            5,
            &SyncGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_generation_id(1)
                .with_member_id(s(&member))
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")))
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(s(&member))
                    .with_assignment(bytes::Bytes::new())]),
        )
        .await;
    assert_eq!(synced.error_code, 0);

    let (pid, epoch) = txn_with_offset(&mut c, "tx", 5).await;
    let me = ("tx", pid, epoch);
    // From v3 the member, its generation and its instance id are checked, as Kafka's classic
    // group checks a transactional commit.
    assert_eq!(
        commit_as(&mut c, 3, me, (&member, 2, None)).await,
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_as(&mut c, 3, me, ("ghost", 1, None)).await,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        commit_as(&mut c, 3, me, (&member, 1, Some("static-1"))).await,
        UNKNOWN_MEMBER_ID,
        "no static member has that instance id"
    );
    assert_eq!(commit_as(&mut c, 3, me, (&member, 1, None)).await, 0);
    // Without member and generation (v2, or v3 with none given) the commit is accepted.
    assert_eq!(commit_as(&mut c, 2, me, ("", -1, None)).await, 0);
    assert_eq!(commit_as(&mut c, 3, me, ("", -1, None)).await, 0);
    // The producer is checked first, whatever the member.
    assert_eq!(
        commit_as(&mut c, 3, ("nobody", pid, epoch), (&member, 1, None)).await,
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(
        commit_as(&mut c, 3, ("tx", pid + 1, epoch), (&member, 1, None)).await,
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(
        commit_as(&mut c, 3, ("tx", pid, epoch + 1), (&member, 1, None)).await,
        INVALID_PRODUCER_EPOCH
    );
    // None of the refused commits changed what the transaction commits.
    end(&mut c, "tx", (pid, epoch), true).await;
    assert_eq!(fetched(&mut c, true).await, (0, 7));
}
