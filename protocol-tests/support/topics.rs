//! Topics created the way a client would: through rdkafka's AdminClient.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

/// An rdkafka admin client for `bootstrap`.
pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("create admin client")
}

/// Creates `name` with `partitions` partitions (replication factor 1) and asserts success;
/// fails when the answer takes longer than `wait`.
pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, wait: Duration) {
    let results = tokio::time::timeout(
        wait,
        admin(bootstrap).create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ),
    )
    .await
    .expect("CreateTopics timed out")
    .expect("CreateTopics request");
    assert_eq!(results, vec![Ok(name.to_string())], "create topic {name}");
}
