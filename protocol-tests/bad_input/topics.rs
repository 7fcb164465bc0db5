//! Topic administration that asks too much or fails part way. Kafka refuses more than 10,000
//! partitions per request with POLICY_VIOLATION; weir also refuses, whole and up front, what
//! its open-file limit or free inodes cannot hold. A failed creation leaves no folder, and a
//! deletion, once answered, is final, whatever the topic is called.

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
    ProduceRequest,
};

use crate::support::broker::{ProcessBroker, TestBroker};
use crate::support::raw::*;

const POLICY_VIOLATION: i16 = 44;

fn topic(name: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

async fn create(client: &mut RawClient, topics: Vec<CreatableTopic>) -> Vec<(String, i16)> {
    let version = client.version::<CreateTopicsRequest>(5);
    let request = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(10_000);
    let response = client.call(version, &request).await;
    response
        .topics
        .iter()
        .map(|t| (t.name.to_string(), t.error_code))
        .collect()
}

/// Partition folders of `name` in `data`.
fn folders(data: &std::path::Path, name: &str) -> usize {
    std::fs::read_dir(data)
        .expect("list data folder")
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(name)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count()
}

async fn topic_names(client: &mut RawClient) -> Vec<String> {
    let version = client.version::<MetadataRequest>(9);
    let response = client
        .call(version, &MetadataRequest::default().with_topics(None))
        .await;
    response
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_10000_partitions_per_request_is_policy_violation_and_creates_nothing() {
    let broker = TestBroker::start().await;
    let mut client = RawClient::connect(broker.addr()).await;
    // Together over the limit: the whole request is refused, as Kafka's controller does.
    let answers = create(&mut client, vec![topic("a", 6_000), topic("b", 5_000)]).await;
    assert_eq!(
        answers,
        vec![
            ("a".to_string(), POLICY_VIOLATION),
            ("b".to_string(), POLICY_VIOLATION)
        ]
    );
    let answers = create(&mut client, vec![topic("huge", i32::MAX)]).await;
    assert_eq!(answers, vec![("huge".to_string(), POLICY_VIOLATION)]);
    assert!(topic_names(&mut client).await.is_empty());
    for name in ["a", "b", "huge"] {
        assert_eq!(folders(broker.dir.path(), name), 0, "{name}");
    }

    // Adding more than 10,000 partitions at once is refused too.
    client.create_topic("grow", 1, &[]).await;
    let version = client.version::<CreatePartitionsRequest>(3);
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name("grow"))
            .with_count(10_002)])
        .with_timeout_ms(10_000);
    let response = client.call(version, &request).await;
    assert_eq!(
        response.results[0].error_code, POLICY_VIOLATION,
        "{response:?}"
    );
    assert_eq!(folders(broker.dir.path(), "grow"), 1);
    // Within the limit, creation works.
    let answers = create(&mut client, vec![topic("fine", 100)]).await;
    assert_eq!(answers, vec![("fine".to_string(), 0)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_creation_beyond_the_open_file_limit_is_refused_whole_and_leaves_no_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_path_buf();
    let broker = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || ProcessBroker::spawn_with_open_files(&data, &[], 256))
            .await
            .expect("spawn thread")
    };
    let mut client = RawClient::connect(broker.addr).await;
    let answers = create(&mut client, vec![topic("wide", 1_000)]).await;
    assert_eq!(answers, vec![("wide".to_string(), POLICY_VIOLATION)]);
    assert_eq!(
        folders(&data, "wide"),
        0,
        "folders left by the refused creation"
    );
    assert!(topic_names(&mut client).await.is_empty());
    // What fits is created and works.
    let answers = create(&mut client, vec![topic("narrow", 20)]).await;
    assert_eq!(answers, vec![("narrow".to_string(), 0)]);
    let version = client.version::<ProduceRequest>(9);
    let produced = client
        .produce(version, "narrow", vec![(19, valid_batch(2, 10).freeze())])
        .await;
    assert_eq!((produced[0].1, produced[0].2), (code::NONE, 0));
    broker.kill_hard();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_a_249_character_name_is_deleted_for_good() {
    let broker = TestBroker::start().await;
    let mut client = RawClient::connect(broker.addr()).await;
    let name = "x".repeat(249);
    client.create_topic(&name, 12, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    let parts: Vec<_> = (0..12).map(|p| (p, valid_batch(1, 10).freeze())).collect();
    let produced = client.produce(version, &name, parts).await;
    assert!(produced.iter().all(|p| p.1 == code::NONE), "{produced:?}");
    let version = client.version::<DeleteTopicsRequest>(4);
    let response = client
        .call(
            version,
            &DeleteTopicsRequest::default()
                .with_topic_names(vec![topic_name(&name)])
                .with_timeout_ms(10_000),
        )
        .await;
    assert_eq!(response.responses[0].error_code, code::NONE, "{response:?}");
    drop(client);
    let broker = broker.restart(&[]).await;
    let mut client = RawClient::connect(broker.addr()).await;
    assert!(topic_names(&mut client).await.is_empty());
    assert_eq!(folders(broker.dir.path(), &name), 0);
    client.create_topic(&name, 12, &[]).await;
    assert_eq!(client.latest_offset(&name, 0).await, 0);
}
