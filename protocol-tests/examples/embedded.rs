//! weir embedded in a Rust program: start a broker on a free port in a temporary folder,
//! produce and consume one record with rdkafka, shut down.
//!
//! ```text
//! cargo run --example embedded
//! ```

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Port 0: any free port. `ephemeral()`: a private temporary data folder, removed on
    // shutdown (the log is still file-backed, not held in memory).
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .set("num.partitions", "1")
        .start()
        .await?;
    let bootstrap = broker.addr().to_string();
    println!("weir listening on {bootstrap}");

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    let delivered = producer
        .send(
            FutureRecord::to("greetings")
                .key("k")
                .payload("hello, weir"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;
    println!(
        "produced at partition {} offset {}",
        delivered.partition, delivered.offset
    );

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "embedded-example")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset("greetings", 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv()).await??;
    let payload = message
        .payload_view::<str>()
        .transpose()?
        .unwrap_or_default();
    println!("consumed {payload:?} at offset {}", message.offset());
    assert_eq!(payload, "hello, weir");

    drop(consumer);
    drop(producer);
    broker.shutdown().await;
    Ok(())
}
