//! DescribeCluster v0-v2: the cluster id and its one broker, which is also the controller.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::access::Access;
use super::{str_bytes, Requester};
use crate::broker::Broker;
use crate::security::acl::{Operation, ResourceType, CLUSTER_NAME};

/// Endpoint types (v1+): weir serves the broker endpoint only.
const ENDPOINT_BROKER: i8 = 1;

/// Served to anyone, as in Kafka; the cluster's authorized operations (when asked for) need
/// DESCRIBE on the cluster, and are 0 without it.
pub fn handle(
    broker: &Arc<Broker>,
    requester: &Requester,
    access: &Access<'_>,
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
        let operations = if access.cluster(Operation::Describe) {
            access.operations(ResourceType::Cluster, CLUSTER_NAME)
        } else {
            0
        };
        response = response.with_cluster_authorized_operations(operations);
    }
    response
}
