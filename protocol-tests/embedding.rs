//! weir embedded in a Rust test: the builder API with rdkafka and ephemeral data folders. (That
//! 100 brokers started and stopped leak nothing is `protocol-tests/embedding_leaks.rs`.)

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::time::timeout;

use crate::support::raw::RawClient;
use crate::support::wait::wait_for;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_serves_rdkafka_produce_and_consume() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .set("num.partitions", "1")
        .start()
        .await
        .expect("broker starts");
    let bootstrap = broker.addr().to_string();
    let data_dir = broker.data_dir().to_path_buf();
    assert!(data_dir.is_dir(), "ephemeral folder exists while running");

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("message.timeout.ms", "20000")
        .create()
        .expect("create producer");
    for i in 0..10 {
        let value = format!("value-{i}");
        producer
            .send(FutureRecord::to("embedded").key("k").payload(&value), WAIT)
            .await
            .unwrap_or_else(|(e, _)| panic!("produce {value}: {e}"));
    }

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "embedded-assign-only")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("embedded", 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    for i in 0..10 {
        let m = timeout(WAIT, consumer.recv())
            .await
            .expect("record within 20 s")
            .expect("record");
        assert_eq!(m.offset(), i);
        assert_eq!(m.payload(), Some(format!("value-{i}").as_bytes()));
    }
    drop(consumer);
    drop(producer);

    broker.shutdown().await;
    assert!(!data_dir.exists(), "shutdown removes the ephemeral folder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_ephemeral_broker_stops_it_and_removes_its_folder() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .ephemeral()
        .start()
        .await
        .expect("broker starts");
    let (addr, dir) = (broker.addr(), broker.data_dir().to_path_buf());
    let mut client = RawClient::connect(addr).await;
    client.create_topic("dropped", 1, &[]).await;
    drop(client);
    drop(broker);
    wait_for("the dropped broker frees its port and folder", WAIT, || {
        !dir.exists() && std::net::TcpListener::bind(addr).is_ok()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_broker_keeps_its_partitions_in_shared_memory() {
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .in_memory()
        .start()
        .await
        .expect("broker starts");
    let dir = broker.data_dir().to_path_buf();
    assert!(
        dir.starts_with("/dev/shm"),
        "in-memory data lives on /dev/shm, not {}",
        dir.display()
    );
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("in-memory", 2, &[]).await;
    assert!(dir.join("in-memory-0").is_dir() && dir.join("in-memory-1").is_dir());
    drop(client);
    broker.shutdown().await;
    assert!(!dir.exists(), "shutdown removes the in-memory folder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_brokers_keep_their_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = weir::Broker::builder()
        .listen("127.0.0.1:0")
        .data_dir(dir.path())
        .start()
        .await
        .expect("broker starts");
    assert_eq!(broker.data_dir(), dir.path());
    broker.shutdown().await;
    assert!(
        dir.path().join("meta.properties").exists(),
        "data stays where it was put"
    );
}
