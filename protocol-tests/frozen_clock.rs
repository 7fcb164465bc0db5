//! A broker on a manual clock that is never advanced: no Kafka timer fires however much real
//! time passes (no group session expires, no segment rolls by age), and each fires as soon as
//! the clock is advanced past it. Timestamps the broker stamps are the clock's.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DescribeGroupsRequest, GroupId, JoinGroupRequest, ProduceRequest, SyncGroupRequest,
};
use tokio::time::{sleep, Instant};
use weir::clock::ManualClock;

use crate::support::raw::{produce_request, s, valid_batch, RawClient};

const MEMBER_ID_REQUIRED: i16 = 79;
/// A ConsumerProtocol subscription (or assignment) v0 with no topics and null user data.
const NO_TOPICS: &[u8] = &[0, 0, 0, 0, 0, 0, 255, 255, 255, 255];
/// A short session, so the real time the test lets pass is many sessions long.
const SESSION_MS: u64 = 200;
/// Real time the tests let pass on the stopped clock: five sessions (or segment ages). Long
/// enough that a timer reading the system time would have fired several times over; short to
/// keep the suite fast.
const REAL_TIME_PASSING: Duration = Duration::from_millis(5 * SESSION_MS);
/// Bounds every wait on a condition (only reached when a test fails).
const WAIT: Duration = Duration::from_secs(10);

async fn frozen_broker(clock: &ManualClock) -> weir::BrokerHandle {
    weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .clock(clock.clock())
        .set("group.initial.rebalance.delay.ms", "0")
        .set("group.min.session.timeout.ms", "100")
        .start()
        .await
        .expect("broker starts")
}

async fn describe(raw: &mut RawClient, group: &str) -> DescribedGroup {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let mut response = raw.call(5, &request).await;
    assert_eq!(response.groups.len(), 1, "{response:?}");
    response.groups.remove(0)
}

/// Joins `group` as its only member (MEMBER_ID_REQUIRED first, as JoinGroup v4+ does) and
/// syncs; returns the member id.
async fn join_and_sync(raw: &mut RawClient, group: &str) -> String {
    let join = |member_id: &str| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(SESSION_MS as i32)
            .with_rebalance_timeout_ms(SESSION_MS as i32)
            .with_member_id(s(member_id))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(NO_TOPICS))])
    };
    let first = raw.call(7, &join("")).await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "{first:?}");
    let member_id = first.member_id.to_string();
    let joined = raw.call(7, &join(&member_id)).await;
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(joined.leader.as_str(), member_id);
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(joined.generation_id)
        .with_member_id(s(&member_id))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(s(&member_id))
            .with_assignment(Bytes::from_static(NO_TOPICS))]);
    let synced = raw.call(5, &sync).await;
    assert_eq!(synced.error_code, 0, "{synced:?}");
    member_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_clock_never_expires_a_session_until_it_is_advanced() {
    const GROUP: &str = "frozen-session";
    let clock = ManualClock::new();
    let broker = frozen_broker(&clock).await;
    let mut member = RawClient::open(broker.addr(), "frozen-member").await;
    let member_id = join_and_sync(&mut member, GROUP).await;
    // The member falls silent: no heartbeat, no leave, its connection dropped.
    drop(member);

    let mut admin = RawClient::open(broker.addr(), "frozen-admin").await;
    // The point here is real time passing: five sessions of it, and the clock never moved.
    sleep(REAL_TIME_PASSING).await;
    let group = describe(&mut admin, GROUP).await;
    assert_eq!(group.group_state.as_str(), "Stable", "{group:?}");
    assert_eq!(group.members.len(), 1, "{group:?}");
    assert_eq!(group.members[0].member_id.as_str(), member_id);

    clock.advance(Duration::from_millis(SESSION_MS));
    let deadline = Instant::now() + WAIT;
    loop {
        let group = describe(&mut admin, GROUP).await;
        if group.members.is_empty() {
            assert_eq!(group.group_state.as_str(), "Empty", "{group:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the session did not expire after the clock passed it: {group:?}"
        );
        sleep(Duration::from_millis(20)).await;
    }
    broker.shutdown().await;
}

/// The `.log` files of partition 0 of `topic`.
fn segment_files(data: &Path, topic: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(data.join(format!("{topic}-0")))
        .expect("partition folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".log"))
        .collect();
    files.sort();
    files
}

/// Produces one batch to partition 0: (base offset, LogAppendTime).
async fn produce_one(raw: &mut RawClient, topic: &str) -> (i64, i64) {
    let request: ProduceRequest = produce_request(topic, vec![(0, valid_batch(1, 10).freeze())]);
    let response = raw.call(9, &request).await;
    let p = &response.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "{p:?}");
    (p.base_offset, p.log_append_time_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_clock_never_rolls_a_segment_by_age_until_it_is_advanced() {
    const TOPIC: &str = "frozen-segments";
    const SEGMENT_MS: u64 = 50;
    let clock = ManualClock::new();
    let broker = frozen_broker(&clock).await;
    let mut raw = RawClient::connect(broker.addr()).await;
    let segment_ms = SEGMENT_MS.to_string();
    raw.create_topic(
        TOPIC,
        1,
        &[
            ("segment.ms", &segment_ms),
            ("message.timestamp.type", "LogAppendTime"),
        ],
    )
    .await;

    let start = clock.now_ms();
    assert_eq!(produce_one(&mut raw, TOPIC).await, (0, start));
    // The point here is real time passing: twenty segment ages of it, and the clock never moved.
    sleep(REAL_TIME_PASSING).await;
    assert_eq!(produce_one(&mut raw, TOPIC).await, (1, start));
    assert_eq!(segment_files(broker.data_dir(), TOPIC).len(), 1);

    clock.advance(Duration::from_millis(SEGMENT_MS + 1));
    assert_eq!(
        produce_one(&mut raw, TOPIC).await,
        (2, start + SEGMENT_MS as i64 + 1)
    );
    assert_eq!(
        segment_files(broker.data_dir(), TOPIC),
        vec![format!("{:020}.log", 0), format!("{:020}.log", 2)]
    );
    broker.shutdown().await;
}
