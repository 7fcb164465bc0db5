//! kcat (Debian's build, librdkafka 2.0.2) against weir: metadata listing, keyed produce and
//! consume, and every compression codec.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::broker::TestBroker;
use crate::support::clients::{assert_batches_compressed, blocking, kcat, stdout_lines};

/// A record as kcat printed it with the format `%k=%s %p %o %h\n`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Consumed {
    partition: i32,
    offset: i64,
    key: String,
    value: String,
    headers: String,
}

/// Produces `lines` (`key:value` each) with `kcat -P -K:` plus `extra` arguments.
async fn produce(bootstrap: &str, topic: &str, lines: &[String], extra: &[&str]) {
    let mut args: Vec<String> = ["-P", "-b", bootstrap, "-t", topic, "-K:"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let input = lines.join("\n") + "\n";
    blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kcat(&args, Some(input.as_bytes()));
    })
    .await;
}

/// Reads every partition of `topic` from the beginning to its end with `kcat -C -e`.
async fn consume_all(bootstrap: &str, topic: &str) -> Vec<Consumed> {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    let output = blocking(move || {
        kcat(
            &[
                "-C",
                "-b",
                &bootstrap,
                "-t",
                &topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k=%s %p %o %h\\n",
            ],
            None,
        )
    })
    .await;
    stdout_lines(&output)
        .iter()
        .map(|line| parse_consumed(line))
        .collect()
}

fn bad_line(line: &str) -> ! {
    panic!("unexpected kcat output line: {line:?}")
}

fn parse_consumed(line: &str) -> Consumed {
    let (key, rest) = line.split_once('=').unwrap_or_else(|| bad_line(line));
    // The value has no spaces in these tests; headers may be empty.
    let mut fields = rest.splitn(4, ' ');
    let mut next = || fields.next().unwrap_or_else(|| bad_line(line)).to_string();
    let value = next();
    let partition = next().parse().unwrap_or_else(|_| bad_line(line));
    let offset = next().parse().unwrap_or_else(|_| bad_line(line));
    let headers = fields.next().unwrap_or("").to_string();
    Consumed {
        partition,
        offset,
        key: key.to_string(),
        value,
        headers,
    }
}

/// Checks what every test here relies on: exactly the produced (key, value) pairs came back, all
/// records of a key are on one partition in the order they were produced, and each partition's
/// offsets run 0, 1, 2, ... without a gap.
fn assert_round_trip(produced: &[(String, String)], consumed: &[Consumed]) {
    let sent: BTreeSet<_> = produced.iter().cloned().collect();
    let got: BTreeSet<_> = consumed
        .iter()
        .map(|c| (c.key.clone(), c.value.clone()))
        .collect();
    assert_eq!(
        consumed.len(),
        produced.len(),
        "record count differs: {consumed:#?}"
    );
    assert_eq!(got, sent, "consumed records differ from produced ones");

    let mut partition_of_key: BTreeMap<&str, i32> = BTreeMap::new();
    for c in consumed {
        let first = *partition_of_key.entry(&c.key).or_insert(c.partition);
        assert_eq!(
            first, c.partition,
            "key {} is on partitions {first} and {}",
            c.key, c.partition
        );
    }

    let mut by_partition: BTreeMap<i32, Vec<&Consumed>> = BTreeMap::new();
    for c in consumed {
        by_partition.entry(c.partition).or_default().push(c);
    }
    for (partition, records) in &mut by_partition {
        records.sort_by_key(|c| c.offset);
        let offsets: Vec<i64> = records.iter().map(|c| c.offset).collect();
        let contiguous: Vec<i64> = (0..records.len() as i64).collect();
        assert_eq!(
            offsets, contiguous,
            "offsets of partition {partition} are not 0..n"
        );
        // Produced order within a key is kept: values carry their send index.
        let mut last_index: BTreeMap<&str, usize> = BTreeMap::new();
        for c in records.iter() {
            let index = produced
                .iter()
                .position(|(k, v)| *k == c.key && *v == c.value)
                .expect("known record");
            if let Some(previous) = last_index.insert(&c.key, index) {
                assert!(
                    previous < index,
                    "key {} out of order on partition {partition}: record #{index} stored after #{previous}",
                    c.key
                );
            }
        }
    }
}

fn keyed_records(count: usize, keys: usize, value_size: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let mut value = format!("value-{i}");
            while value.len() < value_size {
                value.push_str("-weir");
            }
            (format!("user-{}", i % keys), value)
        })
        .collect()
}

fn as_lines(records: &[(String, String)]) -> Vec<String> {
    records.iter().map(|(k, v)| format!("{k}:{v}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_metadata_lists_the_broker_and_each_topic_with_its_partitions() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    for topic in ["listed-a", "listed-b"] {
        // Producing auto-creates the topic with num.partitions partitions.
        produce(&bootstrap, topic, &["k:v".to_string()], &[]).await;
    }

    let b = bootstrap.clone();
    let output = blocking(move || kcat(&["-L", "-J", "-b", &b], None)).await;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("kcat -L -J printed invalid JSON ({e}): {output:?}"));

    let brokers = metadata["brokers"].as_array().expect("brokers array");
    assert_eq!(brokers.len(), 1, "one broker expected: {metadata:#}");
    assert_eq!(
        brokers[0]["name"].as_str(),
        Some(bootstrap.as_str()),
        "the broker advertises the address it listens on: {metadata:#}"
    );
    let broker_id = brokers[0]["id"].as_i64().expect("broker id");

    let topics = metadata["topics"].as_array().expect("topics array");
    for name in ["listed-a", "listed-b"] {
        let topic = topics
            .iter()
            .find(|t| t["topic"] == name)
            .unwrap_or_else(|| panic!("topic {name} not listed: {metadata:#}"));
        assert!(
            topic.get("error").is_none(),
            "topic {name} has an error: {topic:#}"
        );
        let partitions = topic["partitions"].as_array().expect("partitions array");
        let ids: BTreeSet<i64> = partitions
            .iter()
            .map(|p| p["partition"].as_i64().expect("partition id"))
            .collect();
        assert_eq!(ids, BTreeSet::from([0, 1, 2]), "partitions of {name}");
        for p in partitions {
            assert_eq!(p["leader"].as_i64(), Some(broker_id), "leader of {p:#}");
            assert!(p.get("error").is_none(), "partition error: {p:#}");
        }
    }

    // Asking for one topic returns just that topic.
    let b = bootstrap.clone();
    let output = blocking(move || kcat(&["-L", "-J", "-b", &b, "-t", "listed-b"], None)).await;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = metadata["topics"]
        .as_array()
        .expect("topics array")
        .iter()
        .filter_map(|t| t["topic"].as_str())
        .collect();
    assert_eq!(names, ["listed-b"], "{metadata:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_keyed_records_come_back_with_each_key_on_one_partition_and_contiguous_offsets() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let records = keyed_records(60, 8, 0);
    produce(
        &bootstrap,
        "keyed",
        &as_lines(&records),
        &["-H", "origin=kcat"],
    )
    .await;

    let consumed = consume_all(&bootstrap, "keyed").await;
    assert_round_trip(&records, &consumed);
    for c in &consumed {
        assert_eq!(c.headers, "origin=kcat", "headers of {c:?}");
    }
    let partitions: BTreeSet<i32> = consumed.iter().map(|c| c.partition).collect();
    assert!(
        partitions.len() > 1,
        "8 keys should spread over the 3 partitions, all are on {partitions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_consumer_sees_records_produced_after_a_restart_appended_after_the_old_ones() {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let first = keyed_records(30, 5, 0);
    produce(&broker.bootstrap(), "durable", &as_lines(&first), &[]).await;

    let broker = broker.restart(&[("num.partitions", "3")]).await;
    let second: Vec<(String, String)> = keyed_records(60, 5, 0).split_off(30);
    produce(&broker.bootstrap(), "durable", &as_lines(&second), &[]).await;

    let consumed = consume_all(&broker.bootstrap(), "durable").await;
    let all: Vec<_> = first.into_iter().chain(second).collect();
    assert_round_trip(&all, &consumed);
}

/// Produces compressible records with `kcat -z codec`, checks that the stored batches really
/// carry that codec, and reads them back.
async fn compressed_round_trip(codec: &str, codec_id: i16) {
    let broker = TestBroker::start_with(&[("num.partitions", "3")]).await;
    let bootstrap = broker.bootstrap();
    let topic = format!("kcat-{codec}");
    let records = keyed_records(200, 6, 300);
    produce(&bootstrap, &topic, &as_lines(&records), &["-z", codec]).await;

    let consumed = consume_all(&bootstrap, &topic).await;
    assert_round_trip(&records, &consumed);

    assert_batches_compressed(broker.addr(), &topic, 3, codec, codec_id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_gzip_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("gzip", 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_snappy_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("snappy", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_lz4_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("lz4", 3).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kcat_zstd_batches_are_stored_compressed_and_read_back() {
    compressed_round_trip("zstd", 4).await;
}
