use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::txn_error::{txn_code, Knows};
use crate::broker::Broker;

/// The group's offsets become part of the transaction (Kafka adds the group's offsets-topic
/// partition; weir's groups live in the group coordinator, so the group itself is added).
pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let knows = Knows {
        producer_fenced: version >= 2,
        transaction_abortable: version >= 4,
    };
    let group = request.group_id.to_string();
    if group.is_empty() {
        return AddOffsetsToTxnResponse::default()
            .with_error_code(ResponseError::InvalidGroupId.code());
    }
    let added = broker
        .txns
        .add_to_txn(
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            BTreeSet::new(),
            BTreeSet::from([group]),
            false,
        )
        .await;
    let code = added.map_or_else(|e| txn_code(e, knows), |()| 0);
    AddOffsetsToTxnResponse::default().with_error_code(code)
}
