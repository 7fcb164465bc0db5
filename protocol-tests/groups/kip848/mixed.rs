//! Classic and consumer groups side by side, as Kafka 4.x handles them: ListGroups with its type
//! filter, DescribeGroups and ConsumerGroupDescribe for both kinds, DeleteGroups, member epochs
//! on OffsetCommit, a classic member refused by a live consumer group and the reverse, and an
//! empty classic group (offsets only) taken over by consumer-protocol members that resume at its
//! offsets.

use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, DeleteGroupsRequest, GroupId,
    JoinGroupRequest, ListGroupsRequest, OffsetCommitRequest, TopicName,
};

use super::member::{Kind, Member};
use super::{settings, wait_for_split, wait_processed, WAIT};
use crate::groups::raw::{connect_raw, decode_assignment, describe_group};
use crate::groups::{create_topic, produce};
use crate::support::broker::TestBroker;
use crate::support::raw::{s, RawClient};

const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const STALE_MEMBER_EPOCH: i16 = 113;

fn gid(v: &str) -> GroupId {
    GroupId(s(v))
}

async fn list(raw: &mut RawClient, types: &[&str]) -> Vec<(String, String, String)> {
    let request =
        ListGroupsRequest::default().with_types_filter(types.iter().map(|t| s(t)).collect());
    let response = raw.call(5, &request).await;
    response
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.group_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect()
}

async fn commit(
    raw: &mut RawClient,
    group: &str,
    member: &str,
    epoch: i32,
    topic: &str,
    offset: i64,
) -> i16 {
    let request = OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member))
        .with_generation_id_or_member_epoch(epoch)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(
                (0..6)
                    .map(|p| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(p)
                            .with_committed_offset(offset)
                    })
                    .collect(),
            )]);
    let response = raw.call(9, &request).await;
    response.topics[0].partitions[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_and_consumer_groups_side_by_side() {
    let broker = TestBroker::start_with(&settings()).await;
    let bootstrap = broker.bootstrap();
    let topic = "mixed-t";
    create_topic(&bootstrap, topic, 6, WAIT).await;
    let mut raw = connect_raw(broker.addr()).await;

    // An empty classic group holding offsets (a standalone commit at 2 on every partition).
    assert_eq!(commit(&mut raw, "upgraded", "", -1, topic, 2).await, 0);
    assert_eq!(
        list(&mut raw, &["classic"]).await,
        vec![("upgraded".into(), "classic".into(), "Empty".into())]
    );
    let produced = produce(&bootstrap, topic, 6, 4, "r").await;

    // Consumer-protocol members take it over and resume at its offsets.
    let mut a = Member::start(Kind::Java, "A", &bootstrap, "upgraded", &["--topic", topic]);
    wait_for_split(&[&a], topic, &[6]).await;
    wait_processed(&[&a], topic, 12).await;
    let resumed: Vec<(i32, i64)> = produced.iter().copied().filter(|(_, o)| *o >= 2).collect();
    super::assert_exactly_once(&a.records(), topic, &resumed);
    assert_eq!(
        list(&mut raw, &["consumer"]).await,
        vec![("upgraded".into(), "consumer".into(), "Stable".into())]
    );
    assert!(list(&mut raw, &["classic"]).await.is_empty());

    // ConsumerGroupDescribe: epochs, the member, its assignment and target.
    let described = raw
        .call(
            1,
            &ConsumerGroupDescribeRequest::default()
                .with_group_ids(vec![gid("upgraded"), gid("nope")]),
        )
        .await;
    let g = &described.groups[0];
    assert_eq!(
        (
            g.error_code,
            g.group_state.as_str(),
            g.assignor_name.as_str()
        ),
        (0, "Stable", "uniform")
    );
    assert!(g.group_epoch >= 1 && g.assignment_epoch == g.group_epoch);
    let m = &g.members[0];
    assert_eq!(m.member_epoch, g.group_epoch);
    assert_eq!(
        m.subscribed_topic_names
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>(),
        vec![topic]
    );
    let parts = |a: &kafka_protocol::messages::consumer_group_describe_response::Assignment| {
        a.topic_partitions
            .iter()
            .map(|t| (t.topic_name.to_string(), t.partitions.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(parts(&m.assignment), vec![(topic.to_string(), 6)]);
    assert_eq!(parts(&m.target_assignment), vec![(topic.to_string(), 6)]);
    assert_eq!(described.groups[1].error_code, GROUP_ID_NOT_FOUND);

    // DescribeGroups shows the consumer group in the classic shape.
    let d = describe_group(broker.addr(), "upgraded").await;
    assert_eq!(
        (
            d.group_state.as_str(),
            d.protocol_type.as_str(),
            d.protocol_data.as_str()
        ),
        ("Stable", "consumer", "uniform")
    );
    assert_eq!(
        decode_assignment(&d.members[0].member_assignment),
        vec![(topic.to_string(), (0..6).collect())]
    );

    // A commit with a stale member epoch is refused; the member's own commits are not.
    let member_id = m.member_id.to_string();
    assert_eq!(
        commit(
            &mut raw,
            "upgraded",
            &member_id,
            m.member_epoch - 1,
            topic,
            0
        )
        .await,
        STALE_MEMBER_EPOCH
    );

    // A classic member cannot join the live consumer group...
    let join = JoinGroupRequest::default()
        .with_group_id(gid("upgraded"))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default().with_name(s("range"))
        ]);
    assert_eq!(
        raw.call(5, &join).await.error_code,
        INCONSISTENT_GROUP_PROTOCOL
    );
    // ... nor can it be deleted while it has members.
    let delete = DeleteGroupsRequest::default().with_groups_names(vec![gid("upgraded")]);
    assert_eq!(
        raw.call(2, &delete).await.results[0].error_code,
        NON_EMPTY_GROUP
    );

    // A classic group with a member: a consumer-protocol member is told it is not a consumer
    // group.
    let classic_join = join.clone().with_group_id(gid("classic"));
    let joined = raw.call(3, &classic_join).await;
    assert_eq!(joined.error_code, 0);
    let hb = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("classic"))
        .with_member_id(s("m-1"))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(10_000)
        .with_subscribed_topic_names(Some(vec![TopicName(s(topic))]))
        .with_topic_partitions(Some(Vec::<TopicPartitions>::new()));
    let refused = raw.call(1, &hb).await;
    assert_eq!(refused.error_code, GROUP_ID_NOT_FOUND);
    assert!(refused
        .error_message
        .is_some_and(|m| m.contains("not a consumer group")));
    let kinds = list(&mut raw, &[]).await;
    assert!(
        kinds.contains(&(
            "classic".into(),
            "classic".into(),
            "CompletingRebalance".into()
        )),
        "{kinds:?}"
    );

    // Once its members are gone the consumer group can be deleted, offsets and all.
    // (The Java consumer's close() returns once its leave heartbeat is answered.)
    a.stop(WAIT);
    assert_eq!(raw.call(2, &delete).await.results[0].error_code, 0);
    assert!(!list(&mut raw, &[])
        .await
        .iter()
        .any(|(g, _, _)| g == "upgraded"));
    // And an empty consumer group becomes a classic group again for a classic member.
    let mut b = Member::start(
        Kind::Confluent,
        "B",
        &bootstrap,
        "flip",
        &["--topic", topic],
    );
    wait_for_split(&[&b], topic, &[6]).await;
    b.stop(WAIT);
    let flip = join.with_group_id(gid("flip"));
    assert_eq!(raw.call(3, &flip).await.error_code, 0);
    assert!(list(&mut raw, &["classic"])
        .await
        .iter()
        .any(|(g, _, _)| g == "flip"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_group_describe_shows_consumer_group_members_epochs_targets_and_lag() {
    let broker = TestBroker::start_with(&settings()).await;
    let bootstrap = broker.bootstrap();
    let topic = "described-t";
    create_topic(&bootstrap, topic, 6, WAIT).await;
    let a = Member::start(
        Kind::Java,
        "A",
        &bootstrap,
        "described",
        &["--topic", topic],
    );
    let b = Member::start(
        Kind::Confluent,
        "B",
        &bootstrap,
        "described",
        &["--topic", topic],
    );
    wait_for_split(&[&a, &b], topic, &[3, 3]).await;
    let produced = produce(&bootstrap, topic, 6, 2, "d").await;
    wait_processed(&[&a, &b], topic, produced.len()).await;

    let run = crate::cli::weir(
        &bootstrap,
        &["group", "describe", "described", "--output", "json"],
        None,
    )
    .await;
    let json = run.json();
    let g = &json[0];
    assert_eq!(g["state"], "Stable", "{json}");
    assert_eq!(g["protocol_type"], "consumer");
    let epoch = g["consumer"]["group_epoch"].as_i64().expect("group epoch");
    assert_eq!(g["consumer"]["assignment_epoch"].as_i64(), Some(epoch));
    assert_eq!(g["consumer"]["assignor"], "uniform");
    let members = g["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    for m in members {
        assert_eq!(m["member_epoch"].as_i64(), Some(epoch));
        assert_eq!(m["assignment"][topic].as_array().map(Vec::len), Some(3));
        assert_eq!(m["assignment"], m["target_assignment"]);
    }
    let offsets = g["offsets"].as_array().expect("offsets");
    assert_eq!(offsets.len(), 6);
    assert!(
        offsets
            .iter()
            .all(|o| o["lag"] == 0 && o["current_offset"] == 2 && o["member_id"].is_string()),
        "{offsets:?}"
    );

    let text = crate::cli::weir(&bootstrap, &["group", "describe", "described"], None).await;
    assert!(text.ok().contains("Assignor: uniform"), "{}", text.ok());
}

async fn advertised(broker: &TestBroker) -> Vec<(i16, i16, i16)> {
    let mut raw = connect_raw(broker.addr()).await;
    let response = raw
        .call(3, &kafka_protocol::messages::ApiVersionsRequest::default())
        .await;
    assert_eq!(response.error_code, 0);
    // The only feature is transaction.version (its fields are written because they are not
    // at their defaults, which old librdkafka needs: see txn::features).
    let features: Vec<&str> = response
        .supported_features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(features, vec!["transaction.version"]);
    response
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .filter(|(k, _, _)| *k == 68 || *k == 69)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_is_advertised_unless_rebalance_protocols_leave_it_out() {
    let broker = TestBroker::start_with(&settings()).await;
    assert_eq!(advertised(&broker).await, vec![(68, 0, 1), (69, 0, 1)]);

    let classic_only =
        TestBroker::start_with(&[("group.coordinator.rebalance.protocols", "classic")]).await;
    assert!(advertised(&classic_only).await.is_empty());
    let mut raw = connect_raw(classic_only.addr()).await;
    let hb = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(gid("g"))
        .with_member_id(s("m"))
        .with_rebalance_timeout_ms(10_000)
        .with_subscribed_topic_names(Some(vec![TopicName(s("t"))]))
        .with_topic_partitions(Some(Vec::<TopicPartitions>::new()));
    const UNSUPPORTED_VERSION: i16 = 35;
    assert_eq!(raw.call(1, &hb).await.error_code, UNSUPPORTED_VERSION);
}
