//! Reset and transactions: a broker reset in the middle of a transaction (records written,
//! offsets pending in it) forgets the transactional id as a new broker would never have known
//! it, and the application's next producer with that id starts afresh.

use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::TransactionalId;
use kafka_protocol::messages::{DescribeTransactionsRequest, GroupId, OffsetFetchRequest};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::common::control_broker;
use crate::support::clients::blocking;
use crate::support::raw::{s, topic_name, RawClient};
use crate::support::topics::create_topic;
use crate::txn::{read_values, sorted, transaction, txn_producer, WAIT};

const TOPIC: &str = "reset-txn";
const GROUP: &str = "reset-pipeline";
const ID: &str = "reset-app";
const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

/// (error code, state, producer epoch) of `ID` from DescribeTransactions.
async fn describe(c: &mut RawClient) -> (i16, String, i16) {
    let r = c
        .call(
            0,
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![TransactionalId(s(ID))]),
        )
        .await;
    let t = &r.transaction_states[0];
    (
        t.error_code,
        t.transaction_state.to_string(),
        t.producer_epoch,
    )
}

/// (error code, offset) of partition 0 for `GROUP`, requiring stable offsets (OffsetFetch v7).
async fn stable_offset(c: &mut RawClient) -> (i16, i64) {
    let r = c
        .call(
            7,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s(GROUP)))
                .with_require_stable(true)
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(topic_name(TOPIC))
                    .with_partition_indexes(vec![0])])),
        )
        .await;
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_forgets_transactional_ids_open_transactions_and_pending_offsets() {
    let (broker, control) = control_broker(&[]).await;
    let bootstrap = broker.addr().to_string();
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    let b = bootstrap.clone();
    // One committed transaction, then one left open with records and offsets in it.
    let old = blocking(move || {
        let p = txn_producer(&b, ID, &[]);
        transaction(&p, TOPIC, &values("before", 3), true);
        transaction(&p, TOPIC, &values("aborted", 2), false);
        p.begin_transaction().expect("begin");
        for v in values("open", 4) {
            p.send_result(FutureRecord::<(), _>::to(TOPIC).payload(&v))
                .map_err(|(e, _)| e)
                .expect("enqueue");
        }
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", GROUP)
            .create()
            .expect("consumer");
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(TOPIC, 0, Offset::Offset(3))
            .expect("offset");
        let metadata = consumer.group_metadata().expect("group metadata");
        p.send_offsets_to_transaction(&offsets, &metadata, WAIT)
            .expect("send_offsets_to_transaction");
        p.flush(WAIT).expect("flush");
        p
    })
    .await;
    let mut c = RawClient::connect(broker.addr()).await;
    assert_eq!(describe(&mut c).await.1, "Ongoing");
    assert_eq!(stable_offset(&mut c).await, (88, -1), "offsets pending");

    let report = control.reset().await.expect("reset");
    assert_eq!(report.transactions, 1, "{report:?}");
    assert_eq!(report.topics_deleted, 1, "{report:?}");
    assert_eq!(describe(&mut c).await.0, TRANSACTIONAL_ID_NOT_FOUND);
    let listed = c
        .call(
            1,
            &kafka_protocol::messages::ListTransactionsRequest::default(),
        )
        .await;
    assert!(listed.transaction_states.is_empty(), "{listed:?}");

    // As on a new broker: the topic is made again, the id starts at epoch 0 with nothing to
    // abort, the group has no offsets, pending or not.
    create_topic(&bootstrap, TOPIC, 1, WAIT).await;
    assert_eq!(stable_offset(&mut c).await, (0, -1));
    let b = bootstrap.clone();
    let old_commit = blocking(move || {
        let fresh = txn_producer(&b, ID, &[]);
        transaction(&fresh, TOPIC, &values("after", 5), true);
        old.commit_transaction(WAIT).err()
    })
    .await;
    assert!(
        old_commit.is_some(),
        "the transaction open before the reset cannot commit after it"
    );
    let (code, state, epoch) = describe(&mut c).await;
    assert_eq!(
        (code, state.as_str(), epoch),
        (0, "CompleteCommit", 0),
        "a fresh producer id at epoch 0, as on a new broker"
    );
    let b = bootstrap.clone();
    let committed = blocking(move || read_values(&b, TOPIC, 1, true)).await;
    assert_eq!(sorted(committed), values("after", 5));
    broker.shutdown().await;
}
