//! Hostile and malformed input on the raw wire. For each case the broker must answer with the
//! Kafka error a real broker gives, or close that one connection, and keep serving everyone else.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, ProduceRequest,
    RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::broker::{ProcessBroker, TestBroker};
use crate::support::raw::*;

mod fetch;
mod records;
mod strings;
mod topics;

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    timeout(IO_TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect to broker")
}

/// A `weir serve` child process: hostile frames that reach the request decoder go here, so a
/// broker that aborts (e.g. on a huge allocation) fails the test instead of killing the test
/// binary and every other test with it.
struct Isolated {
    broker: ProcessBroker,
    _dir: tempfile::TempDir,
}

impl Isolated {
    async fn start() -> Isolated {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let broker = tokio::task::spawn_blocking(move || ProcessBroker::spawn(&path, &[]))
            .await
            .expect("spawn thread");
        Isolated { broker, _dir: dir }
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.broker.addr
    }

    /// The process is still running and still answers a new connection.
    async fn assert_alive_and_serving(&mut self, after: &str) {
        // The hostile connection is closed already: a new one answered now shows the process
        // survived it. If none is, the exit status tells why.
        let serving = tokio::spawn(assert_broker_serves(self.addr())).await;
        if let Err(failed) = serving {
            let child = &mut self.broker.child;
            let exited = timeout(CLOSE_TIMEOUT, async {
                loop {
                    match child.try_wait().expect("try_wait") {
                        Some(status) => return status,
                        None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                    }
                }
            })
            .await;
            match exited {
                Ok(status) => panic!("weir serve died after {after}: {status}"),
                // Alive but not serving: the failure itself says how.
                Err(_) => std::panic::resume_unwind(failed.into_panic()),
            }
        }
        if let Some(status) = self.broker.child.try_wait().expect("try_wait") {
            panic!("weir serve died after {after}: {status}");
        }
    }
}

fn header(api_key: i16, version: i16, correlation_id: i32) -> RequestHeader {
    RequestHeader::default()
        .with_request_api_key(api_key)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)))
}

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn negative_frame_length_closes_connection() {
    let broker = TestBroker::start().await;
    let mut stream = connect(broker.addr()).await;
    send_raw(&mut stream, &(-1i32).to_be_bytes()).await;
    expect_closed(&mut stream, "frame length -1").await;

    let mut stream = connect(broker.addr()).await;
    send_raw(&mut stream, &i32::MIN.to_be_bytes()).await;
    expect_closed(&mut stream, "frame length i32::MIN").await;

    assert_broker_serves(broker.addr()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_frame_length_closes_connection() {
    let broker = TestBroker::start().await;
    let mut stream = connect(broker.addr()).await;
    send_raw(&mut stream, &0i32.to_be_bytes()).await;
    expect_closed(&mut stream, "frame length 0").await;
    assert_broker_serves(broker.addr()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn frame_longer_than_socket_request_max_bytes_closes_connection_before_body() {
    let broker = TestBroker::start_with(&[("socket.request.max.bytes", "1048576")]).await;

    // 1 GiB announced, no body sent: the broker must refuse from the length alone.
    let mut stream = connect(broker.addr()).await;
    send_raw(&mut stream, &(1i32 << 30).to_be_bytes()).await;
    expect_closed(&mut stream, "frame length 2^30 over a 1 MiB limit").await;

    // Just over the limit, also refused.
    let mut stream = connect(broker.addr()).await;
    send_raw(&mut stream, &(1_048_577i32).to_be_bytes()).await;
    expect_closed(&mut stream, "frame length 1 MiB + 1 over a 1 MiB limit").await;

    assert_broker_serves(broker.addr()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_closing_in_the_middle_of_a_frame_leaves_broker_serving() {
    let broker = TestBroker::start().await;
    for sent in [2usize, 4, 30] {
        let mut stream = connect(broker.addr()).await;
        let mut partial = BytesMut::new();
        partial.put_i32(100);
        partial.extend_from_slice(&[7u8; 26]);
        send_raw(&mut stream, &partial[..sent]).await;
        drop(stream);
    }
    // A request with a null client id (allowed by the protocol) is served as usual.
    let mut stream = connect(broker.addr()).await;
    let request = ApiVersionsRequest::default();
    let mut body = BytesMut::new();
    request.encode(&mut body, 0).unwrap();
    let null_client = header(ApiKey::ApiVersions as i16, 0, 31).with_client_id(None);
    send_raw(&mut stream, &frame(&null_client, 1, &body)).await;
    let response = read_frame(&mut stream)
        .await
        .expect("answer to a null client id");
    let versions = decode_response::<ApiVersionsRequest>(response, 0, 31);
    assert_eq!(versions.error_code, code::NONE);
    assert_broker_serves(broker.addr()).await;
}

// ---------------------------------------------------------------------------------------------
// Unknown keys and versions
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn unknown_api_key_closes_connection_or_answers_with_error() {
    let mut broker = Isolated::start().await;
    let mut stream = connect(broker.addr()).await;
    let bytes = frame(&header(999, 0, 77), 1, &[0, 0, 0, 0]);
    send_raw(&mut stream, &bytes).await;
    if let Some(response) = read_frame(&mut stream).await {
        // Kafka closes the connection; an error response is acceptable if it answers this
        // request and is not a success.
        assert_eq!(
            correlation_id_of(&response),
            77,
            "answer to another request"
        );
        let body = &response[4..];
        assert!(
            body.windows(2).any(|w| w != [0, 0]),
            "unknown api key answered with an all-zero (success-looking) body"
        );
    }
    broker.assert_alive_and_serving("api key 999").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_versions_at_unsupported_version_answers_unsupported_version_with_v0_body() {
    let broker = TestBroker::start().await;
    let mut stream = connect(broker.addr()).await;
    // What a client newer than the broker sends: header v2, a v3-shaped body, version 127.
    let mut body = BytesMut::new();
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("future-client"))
        .with_client_software_version(StrBytes::from_static_str("99.0"))
        .encode(&mut body, 3)
        .unwrap();
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::ApiVersions as i16, 127, 4242), 2, &body),
    )
    .await;

    let mut response = read_frame(&mut stream)
        .await
        .expect("ApiVersions at an unsupported version must be answered, not closed");
    let header = ResponseHeader::decode(&mut response, 0).unwrap();
    assert_eq!(header.correlation_id, 4242);
    let body = ApiVersionsResponse::decode(&mut response, 0).expect("v0-shaped body");
    assert_eq!(body.error_code, code::UNSUPPORTED_VERSION);
    assert!(
        !body.api_keys.is_empty(),
        "the fallback must list the supported ranges"
    );
    let api_versions = body
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)
        .expect("ApiVersions is listed");
    assert!(api_versions.min_version == 0 && api_versions.max_version >= 3);
    assert!(
        response.is_empty(),
        "{} trailing bytes after the v0 body",
        response.len()
    );

    assert_broker_serves(broker.addr()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn known_api_at_unsupported_version_closes_connection_or_answers_unsupported_version() {
    let mut broker = Isolated::start().await;
    let mut stream = connect(broker.addr()).await;
    let mut body = BytesMut::new();
    produce_request("whatever", vec![(0, valid_batch(1, 10).freeze())])
        .encode(&mut body, 9)
        .unwrap();
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::Produce as i16, 99, 5), 2, &body),
    )
    .await;
    if let Some(response) = read_frame(&mut stream).await {
        assert_eq!(correlation_id_of(&response), 5, "answer to another request");
        assert!(
            response[4..]
                .windows(2)
                .any(|w| w == code::UNSUPPORTED_VERSION.to_be_bytes()),
            "Produce v99 answered without UNSUPPORTED_VERSION: {:?}",
            &response[..]
        );
    }
    broker.assert_alive_and_serving("Produce v99").await;
}

// ---------------------------------------------------------------------------------------------
// Malformed bodies
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn truncated_request_body_closes_connection() {
    let mut broker = Isolated::start().await;
    let mut stream = connect(broker.addr()).await;
    let mut body = BytesMut::new();
    MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(topic_name("a-topic-with-a-long-enough-name")))]))
        .encode(&mut body, 9)
        .unwrap();
    let cut = &body[..body.len() / 2];
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::Metadata as i16, 9, 1), 2, cut),
    )
    .await;
    expect_closed(&mut stream, "Metadata v9 with its body cut in half").await;
    broker
        .assert_alive_and_serving("a truncated Metadata v9")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_after_valid_header_closes_connection() {
    let mut broker = Isolated::start().await;
    let garbage: Vec<u8> = [0xde, 0xad, 0xbe, 0xef].repeat(16);
    for (api_key, version, header_version) in [
        (ApiKey::Produce as i16, 9, 2),
        (ApiKey::Fetch as i16, 4, 1),
        (ApiKey::Metadata as i16, 9, 2),
    ] {
        let mut stream = connect(broker.addr()).await;
        send_raw(
            &mut stream,
            &frame(&header(api_key, version, 1), header_version, &garbage),
        )
        .await;
        let what = format!("api {api_key} v{version} with a garbage body");
        expect_closed(&mut stream, &what).await;
        broker.assert_alive_and_serving(&what).await;
    }
}

/// An array count of ~2^32 in a tiny frame must be refused without reserving memory for it.
#[tokio::test(flavor = "multi_thread")]
async fn huge_array_count_in_small_frame_does_not_take_broker_down() {
    let mut broker = Isolated::start().await;

    // Flexible: compact array length as unsigned varint 0xFFFF_FFFF.
    let mut stream = connect(broker.addr()).await;
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::Metadata as i16, 9, 1), 2, &body),
    )
    .await;
    expect_closed(&mut stream, "Metadata v9 claiming 2^32 topics").await;
    broker
        .assert_alive_and_serving("Metadata v9 claiming 2^32 topics")
        .await;

    // Non-flexible: int32 array length i32::MAX.
    let mut stream = connect(broker.addr()).await;
    let body = i32::MAX.to_be_bytes();
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::Metadata as i16, 1, 2), 1, &body),
    )
    .await;
    expect_closed(&mut stream, "Metadata v1 claiming 2^31 topics").await;
    broker
        .assert_alive_and_serving("Metadata v1 claiming 2^31 topics")
        .await;

    // Produce with 2^31 topics.
    let mut stream = connect(broker.addr()).await;
    let mut body = BytesMut::new();
    body.put_i16(-1); // transactional id: null
    body.put_i16(-1); // acks
    body.put_i32(1000); // timeout
    body.put_i32(i32::MAX); // topic count
    send_raw(
        &mut stream,
        &frame(&header(ApiKey::Produce as i16, 3, 3), 1, &body),
    )
    .await;
    expect_closed(&mut stream, "Produce v3 claiming 2^31 topics").await;
    broker
        .assert_alive_and_serving("hostile array counts")
        .await;
}

// ---------------------------------------------------------------------------------------------
// Bad record batches in Produce
// ---------------------------------------------------------------------------------------------

async fn broker_with_topic(name: &str, partitions: i32) -> (TestBroker, RawClient) {
    let broker = TestBroker::start().await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic(name, partitions, &[]).await;
    (broker, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_bad_crc_is_corrupt_message_and_other_partition_in_same_request_succeeds() {
    let (_broker, mut client) = broker_with_topic("crc", 3).await;
    let version = client.version::<ProduceRequest>(9);

    let mut bad_crc_field = valid_batch(3, 20);
    bad_crc_field[CRC_AT] ^= 0xff;
    let mut bad_payload = valid_batch(3, 20);
    let last = bad_payload.len() - 3;
    bad_payload[last] ^= 0x01; // inside the last record's value; CRC left as it was

    let results = client
        .produce(
            version,
            "crc",
            vec![
                (0, bad_crc_field.freeze()),
                (1, valid_batch(4, 20).freeze()),
                (2, bad_payload.freeze()),
            ],
        )
        .await;
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].1,
        code::CORRUPT_MESSAGE,
        "CRC field flipped: {results:?}"
    );
    assert_eq!(
        results[1].1,
        code::NONE,
        "valid batch next to corrupt ones: {results:?}"
    );
    assert_eq!(
        results[1].2, 0,
        "first batch of a partition starts at offset 0"
    );
    assert_eq!(
        results[2].1,
        code::CORRUPT_MESSAGE,
        "payload flipped: {results:?}"
    );

    assert_eq!(
        client.latest_offset("crc", 0).await,
        0,
        "corrupt batch written"
    );
    assert_eq!(client.latest_offset("crc", 1).await, 4);
    assert_eq!(
        client.latest_offset("crc", 2).await,
        0,
        "corrupt batch written"
    );
    let (error, high_watermark, records) = client.fetch("crc", 0, 0).await;
    assert_eq!((error, high_watermark), (code::NONE, 0));
    assert!(
        records.is_empty(),
        "fetch returned {} bytes from an empty partition",
        records.len()
    );
    let (_, high_watermark, records) = client.fetch("crc", 1, 0).await;
    assert_eq!(high_watermark, 4);
    assert_eq!(batch_attributes(&records).len(), 1, "one stored batch");
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_magic_1_message_set_is_refused_and_writes_nothing() {
    let (_broker, mut client) = broker_with_topic("legacy", 1).await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(version, "legacy", vec![(0, magic_1_message_set())])
        .await;
    assert_ne!(results[0].1, code::NONE, "magic 1 accepted: {results:?}");

    // A magic-2 batch with only its magic byte changed, CRC recomputed.
    let mut relabelled = valid_batch(2, 10);
    relabelled[MAGIC_AT] = 1;
    fix_crc(&mut relabelled);
    let results = client
        .produce(version, "legacy", vec![(0, relabelled.freeze())])
        .await;
    assert_ne!(
        results[0].1,
        code::NONE,
        "batch with magic 1 accepted: {results:?}"
    );

    assert_eq!(
        client.latest_offset("legacy", 0).await,
        0,
        "something was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_batch_length_longer_than_data_is_corrupt_message() {
    let (_broker, mut client) = broker_with_topic("too-long", 1).await;
    let version = client.version::<ProduceRequest>(9);
    let mut batch = valid_batch(3, 10);
    let claimed = (batch.len() - 12 + 100) as i32;
    batch[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&claimed.to_be_bytes());
    let results = client
        .produce(version, "too-long", vec![(0, batch.freeze())])
        .await;
    assert_eq!(results[0].1, code::CORRUPT_MESSAGE, "{results:?}");
    assert_eq!(
        client.latest_offset("too-long", 0).await,
        0,
        "something was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_gzip_batch_of_garbage_is_corrupt_message_and_writes_nothing() {
    let (_broker, mut client) = broker_with_topic("bad-gzip", 1).await;
    let version = client.version::<ProduceRequest>(9);
    // A valid header claiming gzip (codec 1), a payload that is not gzip, and a CRC that
    // matches it: only decompressing the batch can tell.
    let mut batch = valid_batch(3, 10);
    batch.truncate(61);
    batch.extend_from_slice(b"\x1f\x8b this is not a gzip stream at all, just bytes");
    let length = (batch.len() - 12) as i32;
    batch[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&length.to_be_bytes());
    batch[ATTRIBUTES_AT + 1] = (batch[ATTRIBUTES_AT + 1] & !0x07) | 1;
    fix_crc(&mut batch);
    let results = client
        .produce(version, "bad-gzip", vec![(0, batch.freeze())])
        .await;
    assert_eq!(results[0].1, code::CORRUPT_MESSAGE, "{results:?}");
    assert_eq!(
        client.latest_offset("bad-gzip", 0).await,
        0,
        "something was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_batch_length_shorter_than_header_is_corrupt_message() {
    let (_broker, mut client) = broker_with_topic("too-short", 1).await;
    let version = client.version::<ProduceRequest>(9);
    for claimed in [20i32, 0, -5] {
        let mut batch = valid_batch(3, 10);
        batch[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&claimed.to_be_bytes());
        let results = client
            .produce(version, "too-short", vec![(0, batch.freeze())])
            .await;
        assert_eq!(
            results[0].1,
            code::CORRUPT_MESSAGE,
            "batch length {claimed}: {results:?}"
        );
    }
    // Fewer bytes than a batch header at all.
    let batch = valid_batch(1, 10);
    let stub = Bytes::copy_from_slice(&batch[..30]);
    let results = client.produce(version, "too-short", vec![(0, stub)]).await;
    assert_eq!(
        results[0].1,
        code::CORRUPT_MESSAGE,
        "30-byte batch: {results:?}"
    );
    assert_eq!(
        client.latest_offset("too-short", 0).await,
        0,
        "something was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_record_count_not_matching_records_is_refused() {
    let (_broker, mut client) = broker_with_topic("count", 1).await;
    let version = client.version::<ProduceRequest>(9);
    // With lastOffsetDelta left at 2 (caught from the header alone), and with lastOffsetDelta
    // moved to match the claimed count (caught only by walking the records).
    for move_delta in [false, true] {
        for claimed in [5i32, 2, 0] {
            let mut batch = valid_batch(3, 10);
            batch[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&claimed.to_be_bytes());
            if move_delta {
                let delta = (claimed - 1).max(0);
                batch[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4]
                    .copy_from_slice(&delta.to_be_bytes());
            }
            fix_crc(&mut batch);
            let results = client
                .produce(version, "count", vec![(0, batch.freeze())])
                .await;
            assert!(
                [code::CORRUPT_MESSAGE, code::INVALID_RECORD].contains(&results[0].1),
                "3 records claiming to be {claimed} (lastOffsetDelta moved: {move_delta}): {results:?}"
            );
        }
    }
    assert_eq!(
        client.latest_offset("count", 0).await,
        0,
        "something was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_batch_over_message_max_bytes_is_message_too_large() {
    // Broker default message.max.bytes is Kafka's 1048588.
    let (_broker, mut client) = broker_with_topic("big", 1).await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(
            version,
            "big",
            vec![(0, valid_batch(1, 1_200_000).freeze())],
        )
        .await;
    assert_eq!(results[0].1, code::MESSAGE_TOO_LARGE, "{results:?}");
    assert_eq!(
        client.latest_offset("big", 0).await,
        0,
        "something was written"
    );

    // A batch under the limit still goes in.
    let results = client
        .produce(version, "big", vec![(0, valid_batch(1, 900_000).freeze())])
        .await;
    assert_eq!(results[0].1, code::NONE, "{results:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_batch_over_topic_max_message_bytes_is_message_too_large() {
    let broker = TestBroker::start().await;
    let mut client = RawClient::connect(broker.addr()).await;
    client
        .create_topic("small-max", 1, &[("max.message.bytes", "2000")])
        .await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(
            version,
            "small-max",
            vec![(0, valid_batch(1, 3000).freeze())],
        )
        .await;
    assert_eq!(results[0].1, code::MESSAGE_TOO_LARGE, "{results:?}");
    let results = client
        .produce(
            version,
            "small-max",
            vec![(0, valid_batch(1, 500).freeze())],
        )
        .await;
    assert_eq!(results[0].1, code::NONE, "{results:?}");
    assert_eq!(client.latest_offset("small-max", 0).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_to_unknown_partition_is_unknown_topic_or_partition() {
    let (_broker, mut client) = broker_with_topic("three", 3).await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(
            version,
            "three",
            vec![
                (3, valid_batch(1, 10).freeze()),
                (-1, valid_batch(1, 10).freeze()),
                (1, valid_batch(1, 10).freeze()),
            ],
        )
        .await;
    let codes: Vec<(i32, i16)> = results.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        codes,
        vec![
            (-1, code::UNKNOWN_TOPIC_OR_PARTITION),
            (1, code::NONE),
            (3, code::UNKNOWN_TOPIC_OR_PARTITION),
        ],
        "{results:?}"
    );
    assert_eq!(results[1].2, 0, "valid partition's base offset");
    assert_eq!(client.latest_offset("three", 1).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_partition_with_valid_then_corrupt_batch_writes_nothing() {
    let (_broker, mut client) = broker_with_topic("multi", 1).await;
    let version = client.version::<ProduceRequest>(9);

    // Valid + a second batch (corrupt CRC): a partition carries exactly one batch (Kafka:
    // INVALID_RECORD), the valid part is not written either.
    let mut corrupt = valid_batch(2, 10);
    corrupt[CRC_AT + 1] ^= 0x10;
    let mut data = valid_batch(3, 10);
    data.extend_from_slice(&corrupt);
    let results = client
        .produce(version, "multi", vec![(0, data.freeze())])
        .await;
    assert_eq!(results[0].1, code::INVALID_RECORD, "{results:?}");
    assert_eq!(
        client.latest_offset("multi", 0).await,
        0,
        "valid half written"
    );

    // Valid + trailing bytes that are not a batch.
    let mut data = valid_batch(3, 10);
    data.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let results = client
        .produce(version, "multi", vec![(0, data.freeze())])
        .await;
    assert_eq!(results[0].1, code::CORRUPT_MESSAGE, "{results:?}");
    assert_eq!(
        client.latest_offset("multi", 0).await,
        0,
        "valid part written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_acks_0_sends_no_response() {
    let (_broker, mut client) = broker_with_topic("fire-and-forget", 1).await;
    let version = client.version::<ProduceRequest>(9);
    let produce =
        produce_request("fire-and-forget", vec![(0, valid_batch(2, 10).freeze())]).with_acks(0);
    let mut bytes = request_frame(&produce, version, 500);
    bytes.extend_from_slice(&request_frame(&ApiVersionsRequest::default(), 0, 501));
    send_raw(client.stream(), &bytes).await;
    let response = read_frame(client.stream())
        .await
        .expect("ApiVersions answer");
    assert_eq!(
        correlation_id_of(&response),
        501,
        "the first frame back must answer ApiVersions: acks=0 Produce gets no response"
    );
    assert_eq!(
        client.latest_offset("fire-and-forget", 0).await,
        2,
        "acks=0 data not written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_retry_gets_original_offset_and_sequence_gap_is_refused() {
    let (_broker, mut client) = broker_with_topic("idempotent", 1).await;
    let version = client.version::<ProduceRequest>(9);
    let (pid, epoch) = client.init_producer_id().await;
    let first = idempotent_batch(pid, epoch, 0, 3).freeze();

    let results = client
        .produce(version, "idempotent", vec![(0, first.clone())])
        .await;
    assert_eq!(
        (results[0].1, results[0].2),
        (code::NONE, 0),
        "first batch: {results:?}"
    );
    let results = client
        .produce(
            version,
            "idempotent",
            vec![(0, idempotent_batch(pid, epoch, 3, 2).freeze())],
        )
        .await;
    assert_eq!(
        (results[0].1, results[0].2),
        (code::NONE, 3),
        "second batch: {results:?}"
    );

    // A retry of the first batch (same producer, epoch, sequence) is acknowledged with its
    // original offset and not written again.
    let results = client
        .produce(version, "idempotent", vec![(0, first)])
        .await;
    assert_eq!(
        (results[0].1, results[0].2),
        (code::NONE, 0),
        "retried batch: {results:?}"
    );
    assert_eq!(
        client.latest_offset("idempotent", 0).await,
        5,
        "duplicate written"
    );

    // Sequence 9 when 5 is expected.
    let results = client
        .produce(
            version,
            "idempotent",
            vec![(0, idempotent_batch(pid, epoch, 9, 1).freeze())],
        )
        .await;
    assert_eq!(
        results[0].1,
        code::OUT_OF_ORDER_SEQUENCE_NUMBER,
        "gap: {results:?}"
    );
    assert_eq!(
        client.latest_offset("idempotent", 0).await,
        5,
        "out-of-order batch written"
    );

    let results = client
        .produce(
            version,
            "idempotent",
            vec![(0, idempotent_batch(pid, epoch, 5, 1).freeze())],
        )
        .await;
    assert_eq!(
        (results[0].1, results[0].2),
        (code::NONE, 5),
        "next in sequence: {results:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Out-of-range reads and bad names
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn fetch_and_list_offsets_refuse_out_of_range_offsets_and_unknown_partitions() {
    let (_broker, mut client) = broker_with_topic("reads", 2).await;
    let version = client.version::<ProduceRequest>(9);
    let results = client
        .produce(version, "reads", vec![(0, valid_batch(3, 10).freeze())])
        .await;
    assert_eq!(results[0].1, code::NONE);

    for offset in [4, 1000, -5] {
        let (error, _, records) = client.fetch("reads", 0, offset).await;
        assert_eq!(error, code::OFFSET_OUT_OF_RANGE, "fetch at offset {offset}");
        assert!(records.is_empty());
    }
    // At the log end: no error, nothing returned.
    let (error, high_watermark, records) = client.fetch("reads", 0, 3).await;
    assert_eq!((error, high_watermark, records.len()), (code::NONE, 3, 0));

    let (error, _, _) = client.fetch("reads", 2, 0).await;
    assert_eq!(
        error,
        code::UNKNOWN_TOPIC_OR_PARTITION,
        "fetch from partition 2 of 2"
    );
    let (error, _, _) = client.fetch("no-such-topic", 0, 0).await;
    assert_eq!(
        error,
        code::UNKNOWN_TOPIC_OR_PARTITION,
        "fetch from an unknown topic"
    );

    assert_eq!(
        client.list_offsets("reads", 0, -2).await,
        (code::NONE, 0),
        "earliest"
    );
    assert_eq!(
        client.list_offsets("reads", 0, -1).await,
        (code::NONE, 3),
        "latest"
    );
    let (error, _) = client.list_offsets("reads", 5, -1).await;
    assert_eq!(
        error,
        code::UNKNOWN_TOPIC_OR_PARTITION,
        "ListOffsets of partition 5 of 2"
    );
    let (error, _) = client.list_offsets("no-such-topic", 0, -1).await;
    assert_eq!(
        error,
        code::UNKNOWN_TOPIC_OR_PARTITION,
        "ListOffsets of an unknown topic"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_auto_creation_refuses_invalid_topic_names() {
    let broker = TestBroker::start().await;
    let mut client = RawClient::connect(broker.addr()).await;
    let version = client.version::<MetadataRequest>(9);
    let long = "y".repeat(250);
    for name in ["bad name!", "..", long.as_str()] {
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(true)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(name)))
            ]));
        let response = client.call(version, &request).await;
        assert_eq!(response.topics.len(), 1);
        assert_eq!(
            response.topics[0].error_code,
            code::INVALID_TOPIC_EXCEPTION,
            "auto-creating {name:?}"
        );
    }
    let all = client
        .call(version, &MetadataRequest::default().with_topics(None))
        .await;
    let names: Vec<String> = all
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .collect();
    assert!(names.is_empty(), "invalid names were created: {names:?}");
}

// ---------------------------------------------------------------------------------------------
// Pipelining
// ---------------------------------------------------------------------------------------------

/// Kafka sends each response as soon as it is ready; a response must not wait in the broker
/// for a later request on the same connection (a long-poll Fetch, a parked JoinGroup). Clients
/// time their state on it: librdkafka, handed a ListOffsets answer that was held half a second
/// behind its own Fetch until a rebalance had passed, later reset a reassigned partition to the
/// beginning and processed committed records twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_response_is_not_held_behind_a_waiting_fetch_on_the_same_connection() {
    let (broker, mut client) = broker_with_topic("held", 1).await;
    let fetch_version = client.version::<kafka_protocol::messages::FetchRequest>(12);
    let metadata_version = client.version::<MetadataRequest>(9);
    // One write, so the broker has the Fetch in hand while it answers the Metadata request.
    let mut bytes = BytesMut::new();
    bytes.extend_from_slice(&request_frame(
        &MetadataRequest::default().with_topics(None),
        metadata_version,
        7,
    ));
    bytes.extend_from_slice(&request_frame(
        &fetch_request("held", 0, 0, 120_000, 1),
        fetch_version,
        8,
    ));
    send_raw(client.stream(), &bytes).await;

    // The Fetch waits up to two minutes for a record; the Metadata answer must not.
    let first = timeout(Duration::from_secs(5), read_frame(client.stream()))
        .await
        .expect("the Metadata response was held back while the Fetch behind it waited")
        .expect("broker closed the connection");
    assert_eq!(correlation_id_of(&first), 7);
    let metadata = decode_response::<MetadataRequest>(first, metadata_version, 7);
    assert!(!metadata.brokers.is_empty());

    // A record ends the wait; the Fetch is answered second, with it.
    let mut producer = RawClient::connect(broker.addr()).await;
    let produce_version = producer.version::<ProduceRequest>(9);
    let acked = producer
        .produce(
            produce_version,
            "held",
            vec![(0, valid_batch(1, 10).freeze())],
        )
        .await;
    assert_eq!(acked, vec![(0, code::NONE, 0)]);
    let second = read_frame(client.stream())
        .await
        .expect("broker closed the connection");
    assert_eq!(correlation_id_of(&second), 8);
    let fetch = decode_response::<kafka_protocol::messages::FetchRequest>(second, fetch_version, 8);
    let partition = &fetch.responses[0].partitions[0];
    assert_eq!(partition.error_code, code::NONE);
    assert!(
        !partition.records.as_ref().is_none_or(Bytes::is_empty),
        "the Fetch woke without the record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelined_requests_are_answered_in_request_order() {
    let (_broker, mut client) = broker_with_topic("pipe", 1).await;
    let fetch_version = client.version::<kafka_protocol::messages::FetchRequest>(12);
    let metadata_version = client.version::<MetadataRequest>(9);

    // Mix slow requests (a fetch that waits on an empty partition) with instant ones, and use
    // correlation ids that are not increasing, so only request order explains the answer order.
    let mut sent = Vec::new();
    let mut bytes = BytesMut::new();
    for i in 0..20i32 {
        let correlation_id = 10_000 - i * 37 + (i % 3) * 1000;
        let kind = i % 3;
        let frame = match kind {
            0 => request_frame(
                &fetch_request("pipe", 0, 0, 150, 1),
                fetch_version,
                correlation_id,
            ),
            1 => request_frame(&ApiVersionsRequest::default(), 0, correlation_id),
            _ => request_frame(
                &MetadataRequest::default().with_topics(None),
                metadata_version,
                correlation_id,
            ),
        };
        bytes.extend_from_slice(&frame);
        sent.push((correlation_id, kind));
    }
    send_raw(client.stream(), &bytes).await;

    for (correlation_id, kind) in sent {
        let response = read_frame(client.stream())
            .await
            .expect("broker closed a pipelined connection");
        assert_eq!(
            correlation_id_of(&response),
            correlation_id,
            "responses out of request order"
        );
        match kind {
            0 => {
                let fetch = decode_response::<kafka_protocol::messages::FetchRequest>(
                    response,
                    fetch_version,
                    correlation_id,
                );
                assert_eq!(fetch.responses[0].partitions[0].error_code, code::NONE);
            }
            1 => {
                let versions = decode_response::<ApiVersionsRequest>(response, 0, correlation_id);
                assert_eq!(versions.error_code, code::NONE);
            }
            _ => {
                let metadata =
                    decode_response::<MetadataRequest>(response, metadata_version, correlation_id);
                assert!(!metadata.brokers.is_empty());
            }
        }
    }
}
