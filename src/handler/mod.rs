//! Request handlers, one file per API. This is the only place that dispatches on the API.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_transactions;
mod describe_user_scram_credentials;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sync_group;
mod txn_error;
mod txn_offset_commit;
mod write_txn_markers;

use std::net::SocketAddr;
use std::sync::Arc;

use kafka_protocol::messages::{RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;
use crate::protocol::{self, ProtocolError, Request, ResponseBuffer};
use crate::security::Principal;

/// Who sent a request: the connection's authenticated principal (`User:ANONYMOUS` on
/// plaintext listeners and TLS without a client certificate), the listener it came in on and
/// the client's address. The server sets it up; handlers never look at TLS or SASL themselves.
#[derive(Debug, Clone)]
pub struct Requester {
    pub principal: Principal,
    /// The listener name (`PLAINTEXT`, `SASL_SSL`, ...).
    pub listener: Arc<str>,
    pub peer: SocketAddr,
}

impl Requester {
    /// The client's address as Kafka shows it: `/ip`.
    pub fn host(&self) -> String {
        format!("/{}", self.peer.ip())
    }
}

/// Handles one request and appends its response frame to `out` (nothing for acks=0 produce).
pub async fn respond(
    broker: &Arc<Broker>,
    requester: &Requester,
    request: Request,
    out: &mut ResponseBuffer,
) -> Result<(), ProtocolError> {
    let (api_key, version) = (request.api_key, request.version);
    let correlation_id = request.header.correlation_id;
    match handle(broker, requester, request).await? {
        Some(response) => {
            protocol::encode_response(out, api_key, version, correlation_id, &response)
        }
        None => Ok(()),
    }
}

/// Handles one request: its response, or `None` when there is none to send (acks=0 produce).
pub async fn handle(
    broker: &Arc<Broker>,
    requester: &Requester,
    request: Request,
) -> Result<Option<ResponseKind>, ProtocolError> {
    let Request {
        header,
        api_key,
        version,
        body,
    } = request;
    let response = match body {
        RequestKind::ApiVersions(r) => {
            ResponseKind::ApiVersions(api_versions::handle(broker, version, r))
        }
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(metadata::handle(broker, requester, version, r).await)
        }
        RequestKind::Produce(r) => match produce::handle(broker, version, r).await {
            Some(response) => ResponseKind::Produce(response),
            None => return Ok(None),
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
            ResponseKind::InitProducerId(init_producer_id::handle(broker, version, r).await)
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(broker, r))
        }
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(find_coordinator::handle(broker, requester, version, r))
        }
        RequestKind::JoinGroup(r) => {
            let client_id = opt_string(&header.client_id).unwrap_or_default();
            ResponseKind::JoinGroup(
                join_group::handle(broker, version, requester, client_id, r).await,
            )
        }
        RequestKind::ConsumerGroupHeartbeat(r) => {
            let client_id = opt_string(&header.client_id).unwrap_or_default();
            ResponseKind::ConsumerGroupHeartbeat(
                consumer_group_heartbeat::handle(broker, version, requester, client_id, r).await,
            )
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            ResponseKind::ConsumerGroupDescribe(consumer_group_describe::handle(broker, r).await)
        }
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group::handle(broker, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat::handle(broker, r).await),
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(leave_group::handle(broker, version, r).await)
        }
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(offset_commit::handle(broker, r).await)
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(offset_fetch::handle(broker, version, r).await)
        }
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(describe_groups::handle(broker, r).await)
        }
        RequestKind::ListGroups(r) => {
            ResponseKind::ListGroups(list_groups::handle(broker, version, r))
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(delete_groups::handle(broker, r).await)
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(offset_delete::handle(broker, r).await)
        }
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(create_partitions::handle(broker, r).await)
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(describe_configs::handle(broker, version, r))
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            incremental_alter_configs::handle(broker, r).await,
        ),
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(alter_configs::handle(broker, r).await)
        }
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(delete_records::handle(broker, r).await)
        }
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(describe_cluster::handle(broker, requester, version, r))
        }
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(describe_log_dirs::handle(broker, r).await)
        }
        RequestKind::AddPartitionsToTxn(r) => ResponseKind::AddPartitionsToTxn(
            add_partitions_to_txn::handle(broker, version, r).await,
        ),
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(add_offsets_to_txn::handle(broker, version, r).await)
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(end_txn::handle(broker, version, r).await),
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(txn_offset_commit::handle(broker, version, r).await)
        }
        RequestKind::WriteTxnMarkers(r) => {
            ResponseKind::WriteTxnMarkers(write_txn_markers::handle(broker, r).await)
        }
        RequestKind::DescribeProducers(r) => {
            ResponseKind::DescribeProducers(describe_producers::handle(broker, r).await)
        }
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(describe_transactions::handle(broker, r).await)
        }
        RequestKind::ListTransactions(r) => {
            ResponseKind::ListTransactions(list_transactions::handle(broker, version, r).await)
        }
        RequestKind::DescribeUserScramCredentials(r) => ResponseKind::DescribeUserScramCredentials(
            describe_user_scram_credentials::handle(broker, r),
        ),
        RequestKind::AlterUserScramCredentials(r) => ResponseKind::AlterUserScramCredentials(
            alter_user_scram_credentials::handle(broker, r).await,
        ),
        _ => {
            // The versions table only admits the APIs above; anything else is a table bug.
            return Err(ProtocolError::UnsupportedVersion {
                api: api_key,
                version,
            });
        }
    };
    Ok(Some(response))
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

fn opt_string(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

/// The only leader epoch weir has: one broker, leader since the partition was created.
const LEADER_EPOCH: i32 = 0;
