//! DescribeCluster v0-v2: the cluster id and its one broker, which is also the controller.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{str_bytes, Requester};
use crate::broker::Broker;

/// Endpoint types (v1+): weir serves the broker endpoint only.
const ENDPOINT_BROKER: i8 = 1;

/// Without an authorizer every cluster operation is allowed: CREATE(5), ALTER(7), DESCRIBE(8),
/// CLUSTER_ACTION(9), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11), IDEMPOTENT_WRITE(12),
/// CREATE_TOKENS(13), DESCRIBE_TOKENS(14), one bit per ACL operation code.
const CLUSTER_OPERATIONS: i32 = (1 << 5)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9)
    | (1 << 10)
    | (1 << 11)
    | (1 << 12)
    | (1 << 13)
    | (1 << 14);

pub fn handle(
    broker: &Arc<Broker>,
    requester: &Requester,
    version: i16,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let response = DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(broker.cluster.cluster_id.clone()));
    if version >= 1 && request.endpoint_type != ENDPOINT_BROKER {
        return response
            .with_error_code(ResponseError::MismatchedEndpointType.code())
            .with_error_message(Some(str_bytes(format!(
                "weir serves broker endpoints (type 1) only, not type {}",
                request.endpoint_type
            ))));
    }
    let (host, port) = broker.advertised(&requester.listener);
    let node = BrokerId(broker.node_id());
    let mut response =
        response
            .with_controller_id(node)
            .with_brokers(vec![DescribeClusterBroker::default()
                .with_broker_id(node)
                .with_host(str_bytes(host))
                .with_port(port)]);
    if request.include_cluster_authorized_operations {
        response = response.with_cluster_authorized_operations(CLUSTER_OPERATIONS);
    }
    response
}
