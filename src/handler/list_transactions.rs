use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};

use super::str_bytes;
use crate::broker::Broker;
use crate::txn::{ListFilter, TxnState};

/// Transactional ids filtered by state, producer id, (v1+) how long their transaction has run
/// and (v2+) a regular expression their id must match whole. State names Kafka does not know
/// are listed back in `unknown_state_filters` and, as in Kafka, filter nothing; a pattern that
/// does not compile is INVALID_REGULAR_EXPRESSION.
pub async fn handle(
    broker: &Arc<Broker>,
    version: i16,
    request: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let mut filter = ListFilter {
        min_duration_ms: if version >= 1 {
            request.duration_filter
        } else {
            -1
        },
        producer_ids: request.producer_id_filters.iter().map(|p| p.0).collect(),
        ..ListFilter::default()
    };
    let mut unknown = Vec::new();
    for name in request.state_filters {
        match TxnState::parse(name.as_str()) {
            Some(state) => filter.states.push(state),
            None => unknown.push(name),
        }
    }
    if version >= 2 {
        if let Some(pattern) = request.transactional_id_pattern.filter(|p| !p.is_empty()) {
            match regex::Regex::new(&format!("^(?:{})$", pattern.as_str())) {
                Ok(re) => filter.pattern = Some(re),
                Err(_) => {
                    return ListTransactionsResponse::default()
                        .with_error_code(ResponseError::InvalidRegularExpression.code())
                }
            }
        }
    }
    let states = broker
        .txns
        .list(&filter)
        .into_iter()
        .map(|l| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(str_bytes(l.transactional_id)))
                .with_producer_id(ProducerId(l.producer_id))
                .with_transaction_state(str_bytes(l.state.as_str()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown)
        .with_transaction_states(states)
}
