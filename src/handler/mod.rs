//! Request handlers, one file per API. This is the only place that dispatches on the API.

mod api_versions;
mod create_topics;
mod delete_topics;
mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod offset_for_leader_epoch;
mod produce;

use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::{RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::protocol::{self, ProtocolError, Request};

/// Handles one request and appends its response frame to `out` (nothing for acks=0 produce).
pub async fn respond(
    broker: &Arc<Broker>,
    request: Request,
    out: &mut BytesMut,
) -> Result<(), ProtocolError> {
    let Request {
        header,
        api_key,
        version,
        body,
    } = request;
    let response = match body {
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_versions::handle(version, r)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(broker, version, r).await),
        RequestKind::Produce(r) => match produce::handle(broker, version, r).await {
            Some(response) => ResponseKind::Produce(response),
            None => return Ok(()),
        },
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(broker, version, r).await),
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(list_offsets::handle(broker, version, r).await)
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(create_topics::handle(broker, version, r).await)
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(delete_topics::handle(broker, version, r).await)
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id::handle(broker, r).await)
        }
        RequestKind::OffsetForLeaderEpoch(r) => ResponseKind::OffsetForLeaderEpoch(
            offset_for_leader_epoch::handle(broker, r),
        ),
        _ => {
            // The versions table only admits the APIs above; anything else is a table bug.
            return Err(ProtocolError::UnsupportedVersion { api: api_key, version });
        }
    };
    protocol::encode_response(out, api_key, version, header.correlation_id, &response)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// The only leader epoch weir has: one broker, leader since the partition was created.
const LEADER_EPOCH: i32 = 0;
