//! kafka-python 3 against weir with its default config (idempotent producer, acks=all), through
//! `protocol-tests/python/kafka_python_client.py`. No consumer group: assign + seek_to_beginning.

use crate::support::broker::TestBroker;
use crate::support::clients::{
    assert_consumed_what_was_acked, blocking, java, parse_acks, parse_received, python, Acked,
    Received,
};

const SCRIPT: &str = "kafka_python_client.py";

async fn produce(bootstrap: &str, topic: &str, count: usize) -> Vec<Acked> {
    let args = [bootstrap.to_string(), topic.to_string(), count.to_string()];
    let output = blocking(move || {
        python(
            SCRIPT,
            &["produce", &args[0], &args[1], &args[2], "--keys", "7"],
        )
    })
    .await;
    let acks = parse_acks(&output);
    assert_eq!(acks.len(), count, "acks: {acks:?}");
    acks
}

async fn consume(bootstrap: &str, topic: &str, expected: usize) -> Vec<Received> {
    let args = [
        bootstrap.to_string(),
        topic.to_string(),
        expected.to_string(),
    ];
    let output = blocking(move || python(SCRIPT, &["consume", &args[0], &args[1], &args[2]])).await;
    parse_received(&output)
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_python_default_producer_records_read_back_by_assigned_consumer() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let acks = produce(&bootstrap, "python-keyed", 100).await;
    let received = consume(&bootstrap, "python-keyed", acks.len()).await;
    assert_consumed_what_was_acked(&acks, &received, "kafka-python");
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_python_consumer_reads_what_the_java_idempotent_producer_wrote() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let b = bootstrap.clone();
    let output = blocking(move || java("ProduceKeyed", &[&b, "java-to-python", "50"])).await;
    let acks = parse_acks(&output);
    assert_eq!(acks.len(), 50, "acks: {acks:?}");
    let received = consume(&bootstrap, "java-to-python", acks.len()).await;
    assert_consumed_what_was_acked(&acks, &received, "java");
}
