use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use weir::control::Rule;

#[tokio::test(flavor = "multi_thread")]
async fn the_producer_retries_through_not_leader() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .control()
        .start()
        .await
        .unwrap();
    let control = broker.control().unwrap();
    control
        .add_fault(
            Rule::on(ApiKey::Produce)
                .topic("payments")
                .error(ResponseError::NotLeaderOrFollower.code())
                .times(2),
        )
        .unwrap();

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.addr().to_string())
        .set("retry.backoff.ms", "50")
        .create()
        .unwrap();
    let record = FutureRecord::<(), _>::to("payments").payload("p-1");
    producer
        .send(record, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(control.faults()[0].fired, 2);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_of_retention_passes_in_a_call() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .manual_clock()
        .set("log.retention.ms", "86400000")
        .start()
        .await
        .unwrap();
    let control = broker.control().unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.addr().to_string())
        .create()
        .unwrap();
    let record = FutureRecord::<(), _>::to("events").payload("e-1");
    producer
        .send(record, Duration::from_secs(30))
        .await
        .unwrap();

    // A day and one retention check (5 min) later, the record is gone.
    control.advance(Duration::from_secs(86_400 + 300)).unwrap();
    let topic = broker.broker().topics.get("events").unwrap();
    let partition = topic.partition(0).unwrap();
    let emptied = async {
        while partition.watermarks().log_start < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), emptied)
        .await
        .expect("retention ran");
    broker.shutdown().await;
}
