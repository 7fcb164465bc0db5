//! The group admin APIs through raw requests and rdkafka: DescribeGroups/ListGroups show the
//! members and their assignments; DeleteGroups removes an empty group and refuses a live one;
//! OffsetDelete refuses a topic the group consumes; JoinGroup v4+ asks a new member to rejoin
//! with the id it hands out (MEMBER_ID_REQUIRED).

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DeleteGroupsRequest, GroupId, HeartbeatRequest, JoinGroupRequest, ListGroupsRequest,
    OffsetCommitRequest, OffsetDeleteRequest, SyncGroupRequest, TopicName,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use super::member::{lock, member_config, RdMember};
use super::raw::{connect_raw, decode_assignment, describe_group};
use super::{committed, create_topic, group_broker, produce, wait_until, wait_until_async, WAIT};
use crate::support::raw::{s, RawClient};

const NON_EMPTY_GROUP: i16 = 68;
const MEMBER_ID_REQUIRED: i16 = 79;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

fn gid(value: &str) -> GroupId {
    GroupId(s(value))
}

async fn list_groups(raw: &mut RawClient, states: &[&str]) -> Vec<(String, String, String)> {
    let request =
        ListGroupsRequest::default().with_states_filter(states.iter().map(|x| s(x)).collect());
    let response = raw.call(4, &request).await;
    assert_eq!(response.error_code, 0);
    response
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect()
}

async fn delete_group(raw: &mut RawClient, group: &str) -> i16 {
    let response = raw
        .call(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![gid(group)]),
        )
        .await;
    assert_eq!(response.results.len(), 1);
    response.results[0].error_code
}

async fn offset_delete(
    raw: &mut RawClient,
    group: &str,
    topic: &str,
    partitions: i32,
) -> (i16, Vec<i16>) {
    let request = OffsetDeleteRequest::default()
        .with_group_id(gid(group))
        .with_topics(vec![OffsetDeleteRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(
                (0..partitions)
                    .map(|p| OffsetDeleteRequestPartition::default().with_partition_index(p))
                    .collect(),
            )]);
    let response = raw.call(0, &request).await;
    let codes = response
        .topics
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| p.error_code)
        .collect();
    (response.error_code, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_admin_apis_show_members_and_refuse_to_delete_a_live_group() {
    const GROUP: &str = "admin-group";
    let broker = group_broker(&[]).await;
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "watched", 6, WAIT).await;
    create_topic(&bootstrap, "other", 1, WAIT).await;
    let mut raw = connect_raw(broker.addr()).await;

    // A standalone commit (generation -1, no member id) on a topic the group will not consume.
    let commit = OffsetCommitRequest::default()
        .with_group_id(gid(GROUP))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("other")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(5)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(s("standalone")))])]);
    let response = raw.call(8, &commit).await;
    assert_eq!(
        response.topics[0].partitions[0].error_code, 0,
        "{response:?}"
    );

    let x = RdMember::start("X", member_config(&bootstrap, GROUP, &[]), "watched");
    let y = RdMember::start("Y", member_config(&bootstrap, GROUP, &[]), "watched");
    wait_until("two members with three partitions each", WAIT, || {
        (x.owned().len() == 3 && y.owned().len() == 3).then_some(())
    })
    .await;
    let produced = produce(&bootstrap, "watched", 6, 1, "a").await;
    wait_until("the records to be consumed and committed", WAIT, || {
        let n = lock(&x.seen).records.len() + lock(&y.seen).records.len();
        (n == produced.len()).then_some(())
    })
    .await;
    let owned: BTreeSet<BTreeSet<i32>> = [x.owned(), y.owned()].into_iter().collect();

    // DescribeGroups: the members with their assignments, decoded from ConsumerProtocol bytes.
    let described = wait_until_async("a Stable description", WAIT, || async {
        let d = describe_group(broker.addr(), GROUP).await;
        (d.group_state.as_str() == "Stable").then_some(d)
    })
    .await;
    assert_eq!(described.error_code, 0);
    assert_eq!(described.protocol_type.as_str(), "consumer");
    assert_eq!(described.protocol_data.as_str(), "range");
    assert_eq!(described.members.len(), 2, "{described:?}");
    let mut assigned = BTreeSet::new();
    for m in &described.members {
        assert_eq!(m.client_id.as_str(), "rdkafka");
        assert!(!m.client_host.is_empty());
        let topics = decode_assignment(&m.member_assignment);
        assert_eq!(topics.len(), 1, "{topics:?}");
        assert_eq!(topics[0].0, "watched");
        assigned.insert(topics[0].1.iter().copied().collect::<BTreeSet<i32>>());
    }
    assert_eq!(
        assigned, owned,
        "DescribeGroups assignments differ from what the members own"
    );

    // rdkafka's group list (ListGroups + DescribeGroups) agrees.
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("client");
    let list = client
        .fetch_group_list(Some(GROUP), WAIT)
        .expect("group list");
    let info = list
        .groups()
        .iter()
        .find(|g| g.name() == GROUP)
        .expect("listed group");
    assert_eq!(
        (info.state(), info.protocol_type(), info.protocol()),
        ("Stable", "consumer", "range")
    );
    let listed: BTreeSet<BTreeSet<i32>> = info
        .members()
        .iter()
        .map(|m| {
            decode_assignment(m.assignment().expect("assignment"))[0]
                .1
                .iter()
                .copied()
                .collect()
        })
        .collect();
    assert_eq!(listed, owned);

    // ListGroups with a state filter.
    let stable = list_groups(&mut raw, &["Stable"]).await;
    assert!(
        stable.contains(&(GROUP.into(), "consumer".into(), "Stable".into())),
        "{stable:?}"
    );
    assert!(list_groups(&mut raw, &["Empty"])
        .await
        .iter()
        .all(|g| g.0 != GROUP));

    // A live group cannot be deleted, nor the offsets of a topic it consumes.
    assert_eq!(delete_group(&mut raw, GROUP).await, NON_EMPTY_GROUP);
    let (top, codes) = offset_delete(&mut raw, GROUP, "watched", 6).await;
    assert_eq!(top, 0);
    assert_eq!(codes, vec![GROUP_SUBSCRIBED_TO_TOPIC; 6]);
    assert!(committed(&bootstrap, GROUP, "watched", 6, WAIT)
        .values()
        .all(|(o, _)| *o == 1));
    // ...but those of a topic it does not consume can.
    assert_eq!(
        committed(&bootstrap, GROUP, "other", 1, WAIT)[&0],
        (5, "standalone".to_string())
    );
    assert_eq!(
        offset_delete(&mut raw, GROUP, "other", 1).await,
        (0, vec![0])
    );
    assert_eq!(committed(&bootstrap, GROUP, "other", 1, WAIT)[&0].0, -1);

    // Once both members left, the empty group is deleted with its offsets.
    drop((x, y));
    let empty = describe_group(broker.addr(), GROUP).await;
    assert_eq!(empty.group_state.as_str(), "Empty", "{empty:?}");
    assert!(empty.members.is_empty());
    assert_eq!(delete_group(&mut raw, GROUP).await, 0);
    assert!(list_groups(&mut raw, &[])
        .await
        .iter()
        .all(|g| g.0 != GROUP));
    assert_eq!(
        describe_group(broker.addr(), GROUP)
            .await
            .group_state
            .as_str(),
        "Dead"
    );
    assert!(committed(&bootstrap, GROUP, "watched", 6, WAIT)
        .values()
        .all(|(o, _)| *o == -1));
}

/// ConsumerProtocol subscription v0: int16 version, [topic], user data (null).
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.put_slice(t.as_bytes());
    }
    b.put_i32(-1);
    b.freeze()
}

/// ConsumerProtocol assignment v0: int16 version, [(topic, [partition])], user data (null).
fn assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(topic.len() as i16);
    b.put_slice(topic.as_bytes());
    b.put_i32(partitions.len() as i32);
    for p in partitions {
        b.put_i32(*p);
    }
    b.put_i32(-1);
    b.freeze()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_join_without_member_id_gets_member_id_required_then_joins_with_it() {
    const GROUP: &str = "raw-join";
    let broker = group_broker(&[]).await;
    let mut raw = connect_raw(broker.addr()).await;
    let join = |member_id: &str| {
        JoinGroupRequest::default()
            .with_group_id(gid(GROUP))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_member_id(s(member_id))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(subscription(&["t"]))])
    };
    let first = raw.call(7, &join("")).await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "{first:?}");
    assert_eq!(first.generation_id, -1);
    let member_id = first.member_id.to_string();
    assert!(
        member_id.starts_with("weir-groups-raw-"),
        "member id {member_id:?}"
    );

    let joined = raw.call(7, &join(&member_id)).await;
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.member_id.as_str(), member_id);
    assert_eq!(joined.leader.as_str(), member_id);
    assert_eq!(
        joined.protocol_name.as_ref().map(|p| p.as_str()),
        Some("range")
    );
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.members[0].metadata, subscription(&["t"]));

    let ours = assignment("t", &[0, 1, 2]);
    let sync = SyncGroupRequest::default()
        .with_group_id(gid(GROUP))
        .with_generation_id(1)
        .with_member_id(s(&member_id))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(s(&member_id))
            .with_assignment(ours.clone())]);
    let synced = raw.call(5, &sync).await;
    assert_eq!(synced.error_code, 0, "{synced:?}");
    assert_eq!(synced.assignment, ours);
    let beat = HeartbeatRequest::default()
        .with_group_id(gid(GROUP))
        .with_generation_id(1)
        .with_member_id(s(&member_id));
    assert_eq!(raw.call(4, &beat).await.error_code, 0);

    let described = describe_group(broker.addr(), GROUP).await;
    assert_eq!(described.group_state.as_str(), "Stable");
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].member_id.as_str(), member_id);
    assert_eq!(described.members[0].client_id.as_str(), "weir-groups-raw");
    assert_eq!(
        decode_assignment(&described.members[0].member_assignment),
        vec![("t".to_string(), vec![0, 1, 2])]
    );

    // An unknown member id (not handed out by the broker) is refused.
    let stranger = raw.call(7, &join("someone-else")).await;
    assert_eq!(
        stranger.error_code, 25,
        "UNKNOWN_MEMBER_ID expected: {stranger:?}"
    );
}
