use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use crate::protocol::supported_api_versions;

/// Our version ranges. Feature fields stay at their defaults so they are not written as tagged
/// fields: old librdkafka (2.0.x) cannot parse default-valued ones.
pub fn handle(_version: i16, _request: ApiVersionsRequest) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(supported_api_versions())
}
