//! Every transactional API with unknown ids, wrong producer ids and epochs, wrong states,
//! out-of-range timeouts and unknown partitions, at old and new versions: Kafka's error codes,
//! the connection kept, and a transaction of another producer, open throughout, unaffected.

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, DescribeProducersRequest,
    DescribeTransactionsRequest, EndTxnRequest, FindCoordinatorRequest, GroupId,
    InitProducerIdRequest, ListTransactionsRequest, ProduceRequest, ProducerId, TransactionalId,
    TxnOffsetCommitRequest, WriteTxnMarkersRequest,
};
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};

use super::{read_values, stable_and_end};
use crate::support::broker::TestBroker;
use crate::support::clients::blocking;
use crate::support::raw::{produce_request, s, sample_records, topic_name, RawClient};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_GROUP_ID: i16 = 24;
const INVALID_REQUEST: i16 = 42;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
const CONCURRENT_TRANSACTIONS: i16 = 51;
const OPERATION_NOT_ATTEMPTED: i16 = 55;
const PRODUCER_FENCED: i16 = 90;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
const TRANSACTION_ABORTABLE: i16 = 120;
const INVALID_REGULAR_EXPRESSION: i16 = 128;

pub(crate) fn tid(id: &str) -> TransactionalId {
    TransactionalId(s(id))
}

pub(crate) async fn init(
    c: &mut RawClient,
    version: i16,
    id: &str,
    timeout: i32,
    pe: (i64, i16),
) -> (i16, i64, i16) {
    let r = c
        .call(
            version,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(tid(id)))
                .with_transaction_timeout_ms(timeout)
                .with_producer_id(ProducerId(pe.0))
                .with_producer_epoch(pe.1),
        )
        .await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// AddPartitionsToTxn v0-v3: one code per partition, in order.
pub(crate) async fn add(
    c: &mut RawClient,
    version: i16,
    id: &str,
    pid: i64,
    epoch: i16,
    parts: &[(&str, i32)],
) -> Vec<i16> {
    let topics = parts
        .iter()
        .map(|(t, p)| {
            AddPartitionsToTxnTopic::default()
                .with_name(topic_name(t))
                .with_partitions(vec![*p])
        })
        .collect();
    let r = c
        .call(
            version,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(tid(id))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(topics),
        )
        .await;
    r.results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| {
            t.results_by_partition
                .iter()
                .map(|p| p.partition_error_code)
        })
        .collect()
}

pub(crate) async fn end(
    c: &mut RawClient,
    version: i16,
    id: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> (i16, i64, i16) {
    let r = c
        .call(
            version,
            &EndTxnRequest::default()
                .with_transactional_id(tid(id))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(commit),
        )
        .await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

pub(crate) async fn add_offsets(
    c: &mut RawClient,
    id: &str,
    pid: i64,
    epoch: i16,
    group: &str,
) -> i16 {
    c.call(
        3,
        &AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid(id))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s(group))),
    )
    .await
    .error_code
}

pub(crate) async fn txn_commit(
    c: &mut RawClient,
    version: i16,
    id: &str,
    pid: i64,
    epoch: i16,
    group: &str,
    topic: &str,
) -> i16 {
    let r = c
        .call(
            version,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(tid(id))
                .with_group_id(GroupId(s(group)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name(topic))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(1)])]),
        )
        .await;
    r.topics[0].partitions[0].error_code
}

/// A batch of `count` records, transactional or not, for producer `pid` at `epoch`.
pub(super) fn batch(pid: i64, epoch: i16, seq: i32, count: usize, transactional: bool) -> Bytes {
    let records: Vec<_> = sample_records(count, 10)
        .into_iter()
        .map(|mut r| {
            r.producer_id = pid;
            r.producer_epoch = epoch;
            r.sequence = seq + r.offset as i32;
            r.transactional = transactional;
            r
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

/// Produces `records` to partition `partition` of `topic`, with a transactional id or not.
pub(super) async fn produce(
    c: &mut RawClient,
    version: i16,
    id: Option<&str>,
    (topic, partition): (&str, i32),
    records: Bytes,
) -> i16 {
    let request: ProduceRequest =
        produce_request(topic, vec![(partition, records)]).with_transactional_id(id.map(tid));
    let r = c.call(version, &request).await;
    r.responses[0].partition_responses[0].error_code
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transactional_api_answers_bad_requests_with_kafkas_codes() {
    let broker = TestBroker::start_with(&[
        ("num.partitions", "2"),
        ("transaction.max.timeout.ms", "60000"),
    ])
    .await;
    let mut c = RawClient::connect(broker.addr()).await;
    c.create_topic("t", 2, &[]).await;

    // A good transaction stays open throughout; it must commit at the end.
    let (code, good, ge) = init(&mut c, 4, "good", 30_000, (-1, -1)).await;
    assert_eq!(code, NONE);
    assert_eq!(
        add(&mut c, 3, "good", good, ge, &[("t", 1)]).await,
        vec![NONE]
    );
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("good"),
            ("t", 1),
            batch(good, ge, 0, 3, true)
        )
        .await,
        NONE
    );

    // InitProducerId.
    assert_eq!(
        init(&mut c, 4, "", 1_000, (-1, -1)).await.0,
        INVALID_REQUEST
    );
    for timeout in [0, -5, 60_001] {
        assert_eq!(
            init(&mut c, 4, "x", timeout, (-1, -1)).await.0,
            INVALID_TRANSACTION_TIMEOUT,
            "{timeout}"
        );
    }
    assert_eq!(
        init(&mut c, 4, "x", 1_000, (5, -1)).await.0,
        INVALID_REQUEST
    );
    let (code, pid, epoch) = init(&mut c, 4, "x", 10_000, (-1, -1)).await;
    assert_eq!((code, epoch), (NONE, 0));
    // KIP-360: resuming with another producer id is fenced (older versions: epoch error).
    assert_eq!(
        init(&mut c, 4, "x", 10_000, (pid + 1000, 0)).await.0,
        PRODUCER_FENCED
    );
    assert_eq!(
        init(&mut c, 3, "x", 10_000, (pid + 1000, 0)).await.0,
        INVALID_PRODUCER_EPOCH
    );
    let (code, same, bumped) = init(&mut c, 4, "x", 10_000, (pid, epoch)).await;
    assert_eq!((code, same, bumped), (NONE, pid, 1));

    // AddPartitionsToTxn.
    assert_eq!(
        add(&mut c, 3, "nobody", pid, 1, &[("t", 0)]).await,
        vec![INVALID_PRODUCER_ID_MAPPING]
    );
    assert_eq!(
        add(&mut c, 3, "x", pid + 1, 1, &[("t", 0)]).await,
        vec![INVALID_PRODUCER_ID_MAPPING]
    );
    assert_eq!(
        add(&mut c, 3, "x", pid, 0, &[("t", 0)]).await,
        vec![PRODUCER_FENCED]
    );
    assert_eq!(
        add(&mut c, 1, "x", pid, 0, &[("t", 0)]).await,
        vec![INVALID_PRODUCER_EPOCH]
    );
    assert_eq!(
        add(&mut c, 3, "x", pid, 1, &[("t", 0), ("nope", 0), ("t", 9)]).await,
        vec![
            OPERATION_NOT_ATTEMPTED,
            UNKNOWN_TOPIC_OR_PARTITION,
            UNKNOWN_TOPIC_OR_PARTITION
        ]
    );
    assert_eq!(
        add(&mut c, 3, "", pid, 1, &[("t", 0)]).await,
        vec![INVALID_REQUEST]
    );

    // Produce: a transactional batch to a partition not in the transaction.
    assert_eq!(
        produce(&mut c, 9, Some("x"), ("t", 0), batch(pid, 1, 0, 2, true)).await,
        INVALID_TXN_STATE
    );
    assert_eq!(
        produce(&mut c, 11, Some("x"), ("t", 0), batch(pid, 1, 0, 2, true)).await,
        TRANSACTION_ABORTABLE
    );
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("nobody"),
            ("t", 0),
            batch(pid, 1, 0, 2, true)
        )
        .await,
        INVALID_PRODUCER_ID_MAPPING
    );
    // Transactional records without a transactional id: refused before anything else, as
    // Kafka refuses them (with or without an authorizer).
    assert_eq!(
        produce(&mut c, 9, None, ("t", 0), batch(pid, 1, 0, 2, true)).await,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
    assert_eq!(add(&mut c, 3, "x", pid, 1, &[("t", 0)]).await, vec![NONE]);
    assert_eq!(
        produce(&mut c, 9, Some("x"), ("t", 0), batch(pid, 1, 0, 2, true)).await,
        NONE
    );
    // While its transaction is open, the producer's plain batches are refused.
    assert_eq!(
        produce(&mut c, 9, None, ("t", 0), batch(pid, 1, 2, 1, false)).await,
        INVALID_TXN_STATE
    );

    // AddOffsetsToTxn and TxnOffsetCommit.
    assert_eq!(
        add_offsets(&mut c, "nobody", pid, 1, "g").await,
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(add_offsets(&mut c, "x", pid, 1, "").await, INVALID_GROUP_ID);
    assert_eq!(add_offsets(&mut c, "x", pid, 0, "g").await, PRODUCER_FENCED);
    assert_eq!(
        txn_commit(&mut c, 3, "x", pid, 1, "g", "t").await,
        INVALID_TXN_STATE,
        "group not added"
    );
    assert_eq!(
        txn_commit(&mut c, 4, "x", pid, 1, "g", "t").await,
        TRANSACTION_ABORTABLE
    );
    assert_eq!(add_offsets(&mut c, "x", pid, 1, "g").await, NONE);
    assert_eq!(
        txn_commit(&mut c, 3, "x", pid, 0, "g", "t").await,
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(
        txn_commit(&mut c, 3, "x", pid, 1, "g", "nope").await,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        txn_commit(&mut c, 3, "x", pid, 1, "", "t").await,
        INVALID_GROUP_ID
    );
    assert_eq!(txn_commit(&mut c, 3, "x", pid, 1, "g", "t").await, NONE);

    // AddPartitionsToTxn v4+: verification of several transactions at once.
    let verify = |id: &str, pid: i64, partition: i32| {
        AddPartitionsToTxnTransaction::default()
            .with_transactional_id(tid(id))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(1)
            .with_verify_only(true)
            .with_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(topic_name("t"))
                .with_partitions(vec![partition])])
    };
    for (version, missing) in [(5, TRANSACTION_ABORTABLE), (4, INVALID_TXN_STATE)] {
        let r = c
            .call(
                version,
                &AddPartitionsToTxnRequest::default().with_transactions(vec![
                    verify("x", pid, 0),
                    verify("x", pid, 1),
                    verify("nobody", pid, 0),
                ]),
            )
            .await;
        let codes: Vec<i16> = r
            .results_by_transaction
            .iter()
            .map(|t| t.topic_results[0].results_by_partition[0].partition_error_code)
            .collect();
        assert_eq!(
            codes,
            vec![NONE, missing, INVALID_PRODUCER_ID_MAPPING],
            "v{version}"
        );
    }

    // EndTxn.
    assert_eq!(
        end(&mut c, 3, "nobody", pid, 1, true).await.0,
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(end(&mut c, 3, "x", pid, 0, true).await.0, PRODUCER_FENCED);
    assert_eq!(
        end(&mut c, 1, "x", pid, 0, true).await.0,
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(end(&mut c, 3, "", pid, 1, true).await.0, INVALID_REQUEST);
    assert_eq!(end(&mut c, 3, "x", pid, 1, false).await.0, NONE);
    // Ended: a commit now is a state error, a retried abort succeeds.
    assert_eq!(end(&mut c, 3, "x", pid, 1, true).await.0, INVALID_TXN_STATE);
    assert_eq!(end(&mut c, 3, "x", pid, 1, false).await.0, NONE);
    // Transactions v2: a commit with nothing open is a state error; an abort bumps the epoch.
    let (code, ..) = end(&mut c, 5, "x", pid, 1, true).await;
    assert_eq!(code, INVALID_TXN_STATE);
    assert_eq!(end(&mut c, 5, "x", pid, 1, false).await, (NONE, pid, 2));

    // Describe, list, find the coordinator.
    let r = c
        .call(
            0,
            &DescribeTransactionsRequest::default().with_transactional_ids(vec![
                tid("nobody"),
                tid(""),
                tid("good"),
            ]),
        )
        .await;
    let codes: Vec<i16> = r.transaction_states.iter().map(|t| t.error_code).collect();
    assert_eq!(
        codes,
        vec![TRANSACTIONAL_ID_NOT_FOUND, INVALID_REQUEST, NONE]
    );
    assert_eq!(
        r.transaction_states[2].transaction_state.as_str(),
        "Ongoing"
    );
    let r = c
        .call(
            2,
            &ListTransactionsRequest::default().with_transactional_id_pattern(Some(s("(unclosed"))),
        )
        .await;
    assert_eq!(r.error_code, INVALID_REGULAR_EXPRESSION);
    let r = c
        .call(
            1,
            &ListTransactionsRequest::default()
                .with_state_filters(vec![s("Ongoing"), s("Nonsense")])
                .with_duration_filter(-1),
        )
        .await;
    assert_eq!(r.unknown_state_filters, vec![s("Nonsense")]);
    assert_eq!(r.transaction_states.len(), 1);
    assert_eq!(r.transaction_states[0].transactional_id.as_str(), "good");
    for (key_type, key) in [(1, ""), (2, "share")] {
        let r = c
            .call(
                4,
                &FindCoordinatorRequest::default()
                    .with_key_type(key_type)
                    .with_coordinator_keys(vec![s(key)]),
            )
            .await;
        assert_eq!(
            r.coordinators[0].error_code, INVALID_REQUEST,
            "key type {key_type}"
        );
    }

    // DescribeProducers and WriteTxnMarkers on partitions that do not exist, and a marker from
    // an epoch older than the partition's.
    let r = c
        .call(
            0,
            &DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                .with_name(topic_name("nope"))
                .with_partition_indexes(vec![0])]),
        )
        .await;
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    let marker = |topic: &str, epoch: i16| {
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_transaction_result(false)
            .with_coordinator_epoch(0)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(topic_name(topic))
                .with_partition_indexes(vec![0])])])
    };
    let code = |r: kafka_protocol::messages::WriteTxnMarkersResponse| {
        r.markers[0].topics[0].partitions[0].error_code
    };
    assert_eq!(
        code(c.call(1, &marker("nope", 2)).await),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        code(c.call(1, &marker("t", 0)).await),
        INVALID_PRODUCER_EPOCH
    );

    // Concurrent transactions: a second instance of the good producer while it is open is
    // told to retry, and its retry fences the first.
    let (code, ..) = init(&mut c, 4, "good", 30_000, (-1, -1)).await;
    assert_eq!(code, CONCURRENT_TRANSACTIONS);
    let (code, _, newer) = init(&mut c, 4, "good", 30_000, (-1, -1)).await;
    assert_eq!(code, NONE);
    assert!(newer > ge);
    assert_eq!(
        end(&mut c, 3, "good", good, ge, true).await.0,
        PRODUCER_FENCED
    );

    // The connection is still up, and another transaction on the same partitions commits.
    let (code, other, oe) = init(&mut c, 4, "other", 30_000, (-1, -1)).await;
    assert_eq!(code, NONE);
    assert_eq!(
        add(&mut c, 3, "other", other, oe, &[("t", 1)]).await,
        vec![NONE]
    );
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("other"),
            ("t", 1),
            batch(other, oe, 0, 4, true)
        )
        .await,
        NONE
    );
    assert_eq!(end(&mut c, 3, "other", other, oe, true).await.0, NONE);
    for p in 0..2 {
        let (stable, end) = stable_and_end(broker.addr(), "t", p).await;
        assert_eq!(stable, end, "partition {p}");
    }
    let b = broker.bootstrap();
    let seen = blocking(move || read_values(&b, "t", 2, true)).await;
    assert_eq!(
        seen.len(),
        4,
        "only the committed transaction is visible: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn producer_ids_epochs_and_states_that_do_not_match_are_refused_everywhere() {
    let broker = TestBroker::start_with(&[("transaction.max.timeout.ms", "60000")]).await;
    let mut c = RawClient::connect(broker.addr()).await;
    c.create_topic("t", 2, &[]).await;
    // Another producer's transaction, open throughout, commits at the end.
    let (_, other, oe) = init(&mut c, 4, "bystander", 30_000, (-1, -1)).await;
    assert_eq!(
        add(&mut c, 3, "bystander", other, oe, &[("t", 1)]).await,
        vec![NONE]
    );
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("bystander"),
            ("t", 1),
            batch(other, oe, 0, 2, true)
        )
        .await,
        NONE
    );

    // Out-of-range timeouts at the oldest version too.
    for timeout in [0, 60_001, i32::MAX] {
        assert_eq!(
            init(&mut c, 0, "y", timeout, (-1, -1)).await.0,
            INVALID_TRANSACTION_TIMEOUT,
            "{timeout}"
        );
    }
    let (code, pid, first) = init(&mut c, 4, "y", 10_000, (-1, -1)).await;
    assert_eq!(code, NONE);
    let (code, _, epoch) = init(&mut c, 4, "y", 10_000, (pid, first)).await;
    assert_eq!((code, epoch), (NONE, first + 1));
    // KIP-360: resuming from an epoch that is neither the current one nor a retry of it.
    assert_eq!(
        init(&mut c, 4, "y", 10_000, (pid, epoch + 3)).await.0,
        PRODUCER_FENCED
    );

    // Nothing open: a commit is a state error (transactions v1).
    assert_eq!(
        end(&mut c, 3, "y", pid, epoch, true).await.0,
        INVALID_TXN_STATE
    );
    // A newer epoch than the coordinator's is fenced like an older one.
    assert_eq!(
        add(&mut c, 3, "y", pid, epoch + 1, &[("t", 0)]).await,
        vec![PRODUCER_FENCED]
    );
    assert_eq!(
        add(&mut c, 0, "y", pid, epoch + 1, &[("t", 0)]).await,
        vec![INVALID_PRODUCER_EPOCH]
    );
    assert_eq!(
        add_offsets(&mut c, "y", pid, epoch + 1, "g").await,
        PRODUCER_FENCED
    );
    assert_eq!(
        add(&mut c, 3, "y", pid, epoch, &[("t", 0)]).await,
        vec![NONE]
    );
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("y"),
            ("t", 0),
            batch(pid, epoch, 0, 3, true)
        )
        .await,
        NONE
    );
    // A batch from the open transaction's producer at another epoch.
    assert_eq!(
        produce(
            &mut c,
            9,
            Some("y"),
            ("t", 0),
            batch(pid, epoch - 1, 3, 1, true)
        )
        .await,
        INVALID_PRODUCER_EPOCH
    );
    // EndTxn: a known id with another producer id, a newer epoch, the right one.
    assert_eq!(
        end(&mut c, 3, "y", other, epoch, true).await.0,
        INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(
        end(&mut c, 3, "y", pid, epoch + 1, true).await.0,
        PRODUCER_FENCED
    );
    assert_eq!(
        end(&mut c, 0, "y", pid, epoch - 1, true).await.0,
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(end(&mut c, 3, "y", pid, epoch, true).await.0, NONE);
    // Committed: an abort of the same transaction is a state error, a retried commit is not.
    assert_eq!(
        end(&mut c, 3, "y", pid, epoch, false).await.0,
        INVALID_TXN_STATE
    );
    assert_eq!(end(&mut c, 3, "y", pid, epoch, true).await.0, NONE);

    assert_eq!(end(&mut c, 3, "bystander", other, oe, true).await.0, NONE);
    for p in 0..2 {
        let (stable, end) = stable_and_end(broker.addr(), "t", p).await;
        assert_eq!(stable, end, "partition {p}");
    }
    let b = broker.bootstrap();
    let seen = blocking(move || read_values(&b, "t", 2, true)).await;
    assert_eq!(seen.len(), 5, "both committed transactions: {seen:?}");
}
