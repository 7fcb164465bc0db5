//! The transactional APIs under ACLs, with a raw client as `User:ANONYMOUS` (not a super user):
//! WRITE on the transactional id and the topics for AddPartitionsToTxn, READ on the group for
//! AddOffsetsToTxn and TxnOffsetCommit, CLUSTER_ACTION for WriteTxnMarkers, DESCRIBE for
//! DescribeTransactions and ListTransactions, READ for DescribeProducers.

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest, ProducerId,
    WriteTxnMarkersRequest,
};
use weir::metadata::TopicSpec;
use weir::security::acl::{Acl, AclFilter, Operation, PatternType, Permission, ResourceType};

use crate::support::broker::TestBroker;
use crate::support::raw::{topic_name, RawClient};
use crate::txn::bad_input::{add, add_offsets, end, init, tid, txn_commit};

const OPERATION_NOT_ATTEMPTED: i16 = 55;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

fn allow(resource_type: ResourceType, name: &str, operation: Operation) -> Acl {
    Acl {
        resource_type,
        name: name.into(),
        pattern: PatternType::Literal,
        principal: "User:ANONYMOUS".into(),
        host: "*".into(),
        operation,
        permission: Permission::Allow,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_apis_check_ids_topics_groups_and_the_cluster() {
    let broker = TestBroker::start_with(&[("authorizer.class.name", "standard")]).await;
    let b = broker.handle.broker().clone();
    let setup = tokio::task::spawn_blocking(move || {
        for name in ["t", "u"] {
            b.topics
                .create(TopicSpec {
                    name: name.into(),
                    partitions: 1,
                    configs: Default::default(),
                })
                .expect("create topic");
        }
        b.acls
            .create(vec![
                allow(ResourceType::TransactionalId, "tx", Operation::Write),
                allow(ResourceType::TransactionalId, "gone", Operation::Write),
                allow(ResourceType::Topic, "t", Operation::Write),
            ])
            .expect("ACLs");
    });
    setup.await.expect("setup");
    let mut c = RawClient::connect(broker.addr()).await;

    let (code, pid, epoch) = init(&mut c, 3, "tx", 60_000, (-1, -1)).await;
    assert_eq!(code, 0);
    assert_eq!(init(&mut c, 3, "gone", 60_000, (-1, -1)).await.0, 0);
    assert_eq!(
        init(&mut c, 3, "other", 60_000, (-1, -1)).await.0,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );

    // A topic without WRITE fails the whole transaction; the allowed one is not attempted.
    assert_eq!(
        add(&mut c, 3, "tx", pid, epoch, &[("t", 0), ("u", 0)]).await,
        vec![OPERATION_NOT_ATTEMPTED, TOPIC_AUTHORIZATION_FAILED]
    );
    assert_eq!(
        add(&mut c, 3, "other", pid, epoch, &[("t", 0)]).await,
        vec![TRANSACTIONAL_ID_AUTHORIZATION_FAILED]
    );
    assert_eq!(add(&mut c, 3, "tx", pid, epoch, &[("t", 0)]).await, vec![0]);
    assert_eq!(
        add_offsets(&mut c, "tx", pid, epoch, "g").await,
        GROUP_AUTHORIZATION_FAILED
    );
    assert_eq!(
        txn_commit(&mut c, 3, "tx", pid, epoch, "g", "t").await,
        GROUP_AUTHORIZATION_FAILED
    );
    assert_eq!(
        end(&mut c, 3, "other", pid, epoch, true).await.0,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );

    let markers = c
        .call(
            1,
            &WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_transaction_result(false)
                .with_topics(vec![WritableTxnMarkerTopic::default()
                    .with_name(topic_name("t"))
                    .with_partition_indexes(vec![0])])]),
        )
        .await;
    assert_eq!(
        markers.markers[0].topics[0].partitions[0].error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );

    let producers = c
        .call(
            0,
            &DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                .with_name(topic_name("u"))
                .with_partition_indexes(vec![0])]),
        )
        .await;
    assert_eq!(
        producers.topics[0].partitions[0].error_code, TOPIC_AUTHORIZATION_FAILED,
        "DescribeProducers needs READ"
    );

    // Without DESCRIBE (WRITE implies it) an id is refused by DescribeTransactions and left
    // out by ListTransactions.
    let b = broker.handle.broker().clone();
    tokio::task::spawn_blocking(move || {
        let mut gone = AclFilter::any();
        gone.name = Some("gone".into());
        b.acls.delete(&[gone]).expect("delete ACL");
    })
    .await
    .expect("delete");
    let described = c
        .call(
            0,
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![tid("tx"), tid("gone")]),
        )
        .await;
    let codes: Vec<i16> = described
        .transaction_states
        .iter()
        .map(|s| s.error_code)
        .collect();
    assert_eq!(codes, [0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    let listed = c.call(1, &ListTransactionsRequest::default()).await;
    let ids: Vec<String> = listed
        .transaction_states
        .iter()
        .map(|s| s.transactional_id.to_string())
        .collect();
    assert_eq!(ids, ["tx"]);
}
