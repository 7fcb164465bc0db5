use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use crate::broker::Broker;
use crate::protocol::supported_api_versions;

/// Our version ranges. Feature fields stay at their defaults so they are not written as tagged
/// fields: old librdkafka (2.0.x) cannot parse default-valued ones. The consumer group protocol's
/// APIs are left out when `group.coordinator.rebalance.protocols` does not list `consumer`, as
/// Kafka does (some clients switch protocol as soon as they see ConsumerGroupHeartbeat).
pub fn handle(broker: &Broker, _version: i16, _request: ApiVersionsRequest) -> ApiVersionsResponse {
    let consumer = broker.config().group_consumer.enabled;
    let keys = supported_api_versions()
        .into_iter()
        .filter(|k| consumer || !is_consumer_protocol_api(k.api_key))
        .collect();
    ApiVersionsResponse::default().with_api_keys(keys)
}

/// ConsumerGroupHeartbeat and ConsumerGroupDescribe.
pub fn is_consumer_protocol_api(key: i16) -> bool {
    key == ApiKey::ConsumerGroupHeartbeat as i16 || key == ApiKey::ConsumerGroupDescribe as i16
}
