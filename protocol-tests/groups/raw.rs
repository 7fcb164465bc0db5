//! Raw Kafka requests (through the shared [`RawClient`]) for the group APIs that clients do not
//! expose (DescribeGroups member assignments, DeleteGroups and OffsetDelete error codes, JoinGroup
//! without a member id), and a decoder for ConsumerProtocol assignments.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Buf;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{DescribeGroupsRequest, GroupId, HeartbeatRequest};
use kafka_protocol::protocol::StrBytes;

use crate::support::raw::RawClient;

/// How long one request may take (a JoinGroup may be parked for a join round).
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A raw connection for the group APIs: nothing sent first, client id `weir-groups-raw`.
pub async fn connect_raw(addr: SocketAddr) -> RawClient {
    RawClient::open(addr, "weir-groups-raw")
        .await
        .with_io_timeout(IO_TIMEOUT)
}

/// A ConsumerProtocol assignment decoded by hand: int16 version, then an array of
/// (topic string, array of int32 partitions) (user data after that is ignored).
pub fn decode_assignment(bytes: &[u8]) -> Vec<(String, Vec<i32>)> {
    let mut buf = bytes;
    assert!(buf.len() >= 6, "assignment too short: {bytes:?}");
    let version = buf.get_i16();
    assert!((0..=3).contains(&version), "assignment version {version}");
    let topics = buf.get_i32();
    let mut out = Vec::new();
    for _ in 0..topics {
        let len = usize::try_from(buf.get_i16()).expect("topic name is not null");
        let topic = String::from_utf8(buf[..len].to_vec()).expect("utf-8 topic");
        buf.advance(len);
        let count = buf.get_i32();
        let partitions = (0..count).map(|_| buf.get_i32()).collect();
        out.push((topic, partitions));
    }
    out
}

/// DescribeGroups v5 of one group.
pub async fn describe_group(addr: SocketAddr, group: &str) -> DescribedGroup {
    let mut raw = connect_raw(addr).await;
    let request = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    let mut response = raw.call(5, &request).await;
    assert_eq!(response.groups.len(), 1, "{response:?}");
    response.groups.remove(0)
}

/// Each member's (instance id or member id, decoded assignment) from a DescribeGroups entry.
pub fn member_assignments(group: &DescribedGroup) -> BTreeMap<String, Vec<(String, Vec<i32>)>> {
    group
        .members
        .iter()
        .map(|m| {
            let name = m
                .group_instance_id
                .as_ref()
                .unwrap_or(&m.member_id)
                .to_string();
            (name, decode_assignment(&m.member_assignment))
        })
        .collect()
}

/// The group's generation, found by heartbeating as `member_id` with each candidate: a
/// Stable group answers 0 only for its current generation (ILLEGAL_GENERATION otherwise,
/// REBALANCE_IN_PROGRESS while rebalancing).
pub async fn probe_generation(
    addr: SocketAddr,
    group: &str,
    member_id: &str,
    instance: Option<&str>,
) -> Option<i32> {
    let mut raw = connect_raw(addr).await;
    for generation in 1..=50 {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member_id.to_string()))
            .with_group_instance_id(instance.map(|i| StrBytes::from_string(i.to_string())));
        let response = raw.call(4, &request).await;
        match response.error_code {
            0 => return Some(generation),
            ILLEGAL_GENERATION => continue,
            other => panic!("heartbeat as {member_id} in {group}: error {other}"),
        }
    }
    None
}

pub const ILLEGAL_GENERATION: i16 = 22;
