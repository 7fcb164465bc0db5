use kafka_protocol::messages::api_versions_response::{FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use super::str_bytes;
use crate::broker::Broker;
use crate::protocol::supported_api_versions;

/// Kafka's feature for transactions v2 (KIP-890).
const TRANSACTION_VERSION: &str = "transaction.version";
/// The highest `transaction.version` weir serves.
const MAX_TRANSACTION_VERSION: i16 = 2;

/// Our version ranges, and (v3+) the features: `transaction.version` supported up to 2 and
/// finalized at the `transaction.version` setting. The Java client 4.x follows transactions v2
/// exactly when it sees the finalized level 2.
///
/// Every client gets the same answer. Feature fields are tagged fields, written only when they
/// differ from their defaults (a default-valued one breaks librdkafka 2.0.x); with a level
/// finalized they do, which Debian's kcat (librdkafka 2.0.2) and every other client tested
/// parse. With level 0 nothing is finalized and the epoch stays at its default (-1). The
/// finalized-features epoch is the level itself, so a client that saw one level notices a
/// raised one after a restart.
///
/// The consumer group protocol's APIs are left out when `group.coordinator.rebalance.protocols`
/// does not list `consumer`, as Kafka does (some clients switch protocol as soon as they see
/// ConsumerGroupHeartbeat).
pub fn handle(broker: &Broker, _version: i16, _request: ApiVersionsRequest) -> ApiVersionsResponse {
    let consumer = broker.config().group_consumer.enabled;
    let keys = supported_api_versions()
        .into_iter()
        .filter(|k| consumer || !is_consumer_protocol_api(k.api_key))
        .collect();
    let level = broker.config().txn.transaction_version;
    let mut response = ApiVersionsResponse::default()
        .with_api_keys(keys)
        .with_supported_features(vec![SupportedFeatureKey::default()
            .with_name(str_bytes(TRANSACTION_VERSION))
            .with_min_version(0)
            .with_max_version(MAX_TRANSACTION_VERSION)]);
    if level > 0 {
        response = response
            .with_finalized_features_epoch(i64::from(level))
            .with_finalized_features(vec![FinalizedFeatureKey::default()
                .with_name(str_bytes(TRANSACTION_VERSION))
                .with_min_version_level(level)
                .with_max_version_level(level)]);
    }
    response
}

/// ConsumerGroupHeartbeat and ConsumerGroupDescribe.
pub fn is_consumer_protocol_api(key: i16) -> bool {
    key == ApiKey::ConsumerGroupHeartbeat as i16 || key == ApiKey::ConsumerGroupDescribe as i16
}
