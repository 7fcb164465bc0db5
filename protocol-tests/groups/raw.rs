//! A raw Kafka connection for the group APIs that clients do not expose (DescribeGroups member
//! assignments, DeleteGroups and OffsetDelete error codes, JoinGroup without a member id), and a
//! decoder for ConsumerProtocol assignments.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{
    DescribeGroupsRequest, GroupId, HeartbeatRequest, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long one request may take (a JoinGroup may be parked for a join round).
const IO_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Raw {
    stream: TcpStream,
    correlation_id: i32,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Raw {
        let stream = timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect to broker");
        Raw {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends `request` at `version` and decodes its response.
    pub async fn send<R: Request>(&mut self, request: R, version: i16) -> R::Response {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("weir-groups-raw")));
        let mut frame = BytesMut::new();
        header
            .encode(&mut frame, R::header_version(version))
            .expect("encode request header");
        request.encode(&mut frame, version).expect("encode request");
        let len = i32::try_from(frame.len()).expect("small request");
        let io = async {
            self.stream.write_all(&len.to_be_bytes()).await?;
            self.stream.write_all(&frame).await?;
            let len = self.stream.read_i32().await?;
            let mut body = vec![0; usize::try_from(len).expect("non-negative length")];
            self.stream.read_exact(&mut body).await?;
            std::io::Result::Ok(Bytes::from(body))
        };
        let mut body = timeout(IO_TIMEOUT, io)
            .await
            .unwrap_or_else(|_| panic!("api {} v{version}: no response in time", R::KEY))
            .unwrap_or_else(|e| panic!("api {} v{version}: {e}", R::KEY));
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .expect("decode response header");
        assert_eq!(header.correlation_id, self.correlation_id, "correlation id");
        R::Response::decode(&mut body, version).expect("decode response")
    }
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
    let mut raw = Raw::connect(addr).await;
    let request = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
    let mut response = raw.send(request, 5).await;
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
    let mut raw = Raw::connect(addr).await;
    for generation in 1..=50 {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(member_id.to_string()))
            .with_group_instance_id(instance.map(|i| StrBytes::from_string(i.to_string())));
        let response = raw.send(request, 4).await;
        match response.error_code {
            0 => return Some(generation),
            ILLEGAL_GENERATION => continue,
            other => panic!("heartbeat as {member_id} in {group}: error {other}"),
        }
    }
    None
}

pub const ILLEGAL_GENERATION: i16 = 22;
