use std::sync::Arc;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId,
};

use super::{str_bytes, topic_name};
use crate::broker::Broker;
use crate::error::code_of;

/// One state per transactional id asked for: unknown (or expired) ids get
/// TRANSACTIONAL_ID_NOT_FOUND, an empty one INVALID_REQUEST.
pub async fn handle(
    broker: &Arc<Broker>,
    request: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let mut states = Vec::with_capacity(request.transactional_ids.len());
    for id in request.transactional_ids {
        let out = TransactionState::default()
            .with_transactional_id(id.clone())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
            .with_transaction_start_time_ms(-1)
            .with_transaction_state(str_bytes(""));
        states.push(match broker.txns.describe(id.as_str()).await {
            Ok(d) => {
                let mut topics: Vec<TopicData> = Vec::new();
                for p in d.partitions {
                    match topics.last_mut() {
                        Some(t) if t.topic.as_str() == p.topic => t.partitions.push(p.partition),
                        _ => topics.push(
                            TopicData::default()
                                .with_topic(topic_name(&p.topic))
                                .with_partitions(vec![p.partition]),
                        ),
                    }
                }
                out.with_transaction_state(str_bytes(d.state.as_str()))
                    .with_transaction_timeout_ms(d.timeout_ms)
                    .with_transaction_start_time_ms(d.start_ms)
                    .with_producer_id(ProducerId(d.producer_id))
                    .with_producer_epoch(d.producer_epoch)
                    .with_topics(topics)
            }
            Err(e) => out.with_error_code(code_of(e)),
        });
    }
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
