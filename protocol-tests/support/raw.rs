//! The protocol tests' layer over weir's own Kafka client ([`weir::client`]): the same frames
//! and connections, with every failure a test failure. The hostile-input tests use its free
//! functions to send broken frames over a plain socket; the admin, group and codec checks use
//! [`RawClient`] to send one request at an exact version and see the exact error codes that
//! client libraries turn into exceptions. What is added here: panics instead of errors, a close
//! by the broker seen as `None` (the tests expect it), the Kafka error codes the tests name,
//! record batch fixtures, and one-line helpers for the requests tests send most.
//!
//! Self-contained (only external crates): `embedding_leaks.rs` includes it with `#[path]`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, FetchRequest, InitProducerIdRequest, ListOffsetsRequest,
    MetadataRequest, ProduceRequest, ProducerId, RequestHeader,
};
use kafka_protocol::protocol::Request;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use weir::client::{is_disconnect, wire, ClientError, Connection};

pub(crate) use weir::client::{s, topic_name};

/// How long any single network step may take before the test fails.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the broker has to close a connection it should refuse.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Response frames longer than this fail the test.
const MAX_RESPONSE: usize = 64 << 20;

/// Kafka error codes used by these tests.
pub(crate) mod code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const INVALID_RECORD: i16 = 87;
}

// Byte positions inside a magic-2 record batch.
pub(crate) const BATCH_LENGTH_AT: usize = 8;
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;
pub(crate) const ATTRIBUTES_AT: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_AT: usize = 23;
pub(crate) const PRODUCER_ID_AT: usize = 43;
pub(crate) const BASE_SEQUENCE_AT: usize = 53;
pub(crate) const RECORD_COUNT_AT: usize = 57;
pub(crate) const BATCH_HEADER_LEN: usize = 61;

/// The client id [`request_frame`] and [`RawClient::connect`] send.
pub(crate) const CLIENT_ID: &str = "weir-bad-input";

/// A whole request frame (length prefix included) for a known request type.
pub(crate) fn request_frame<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
) -> BytesMut {
    let header = wire::request_header::<R>(version, correlation_id, Some(CLIENT_ID));
    wire::request_frame(&header, request, version).expect("encode request")
}

/// As [`request_frame`], with another client id.
pub(crate) fn request_frame_as<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> BytesMut {
    let header = wire::request_header::<R>(version, correlation_id, Some(client_id));
    wire::request_frame(&header, request, version).expect("encode request")
}

/// A frame from an explicit header (any api key / version) and arbitrary body bytes.
pub(crate) fn frame(header: &RequestHeader, header_version: i16, body: &[u8]) -> BytesMut {
    wire::frame(header, header_version, body).expect("encode request header")
}

/// Writes bytes, tolerating the broker having already closed the connection.
pub(crate) async fn send_raw<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) {
    match timeout(IO_TIMEOUT, stream.write_all(bytes)).await {
        Err(_) => panic!("writing {} bytes timed out", bytes.len()),
        Ok(Ok(())) => {}
        Ok(Err(e)) if is_disconnect(e.kind()) => {}
        Ok(Err(e)) => panic!("write failed: {e}"),
    }
}

/// Reads one response frame (without its length prefix); `None` when the broker closed the
/// connection (EOF or reset) before a whole frame arrived.
pub(crate) async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Bytes> {
    let read = wire::read_frame(stream, MAX_RESPONSE);
    match timeout(IO_TIMEOUT, read).await {
        Err(_) => panic!("no response (and no close) within {IO_TIMEOUT:?}"),
        Ok(Ok(frame)) => frame,
        Ok(Err(e)) if is_disconnect(e.kind()) => None,
        Ok(Err(e)) => panic!("reading a response failed: {e}"),
    }
}

/// The broker must close the connection promptly without sending anything.
pub(crate) async fn expect_closed<S: AsyncRead + Unpin>(stream: &mut S, what: &str) {
    let mut buf = [0u8; 256];
    match timeout(CLOSE_TIMEOUT, stream.read(&mut buf)).await {
        Err(_) => panic!("{what}: connection still open {CLOSE_TIMEOUT:?} later"),
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => panic!(
            "{what}: expected the connection to be closed, got {n} bytes: {:?}",
            &buf[..n]
        ),
        Ok(Err(e)) if is_disconnect(e.kind()) => {}
        Ok(Err(e)) => panic!("{what}: read failed: {e}"),
    }
}

/// The first four bytes of any response frame: its correlation id.
pub(crate) fn correlation_id_of(frame: &Bytes) -> i32 {
    wire::correlation_id_of(frame).expect("response frame shorter than a correlation id")
}

/// Decodes a response frame for request type `R` at `version`, checking the correlation id
/// and that nothing is left over.
pub(crate) fn decode_response<R: Request>(
    frame: Bytes,
    version: i16,
    correlation_id: i32,
) -> R::Response {
    wire::decode_response::<R>(frame, version, correlation_id)
        .unwrap_or_else(|e| panic!("decode api {} v{version} response: {e}", R::KEY))
}

/// One connection to the broker; [`RawClient::connect`] negotiates versions with ApiVersions
/// first, [`RawClient::open`] sends nothing until asked.
pub(crate) struct RawClient {
    conn: Connection,
}

impl RawClient {
    /// Connects and negotiates versions with ApiVersions v3 (correlation id 1).
    pub(crate) async fn connect(addr: SocketAddr) -> RawClient {
        let mut client = RawClient::open(addr, CLIENT_ID).await;
        client
            .conn
            .negotiate()
            .await
            .unwrap_or_else(|e| panic!("ApiVersions: {e}"));
        assert_eq!(client.conn.negotiated_at(), Some(3), "ApiVersions v3 error");
        assert!(
            !client.conn.broker_versions().is_empty(),
            "ApiVersions lists no APIs"
        );
        client
    }

    /// Connects without sending anything: the first request is the caller's, with correlation
    /// id 1, and every request carries `client_id`.
    pub(crate) async fn open(addr: SocketAddr, client_id: &'static str) -> RawClient {
        let conn = Connection::open(&addr.to_string(), IO_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("connect to broker: {e}"))
            .with_client_id(client_id);
        RawClient { conn }
    }

    /// How long [`RawClient::call`] waits for a response (default [`IO_TIMEOUT`]).
    pub(crate) fn with_io_timeout(self, limit: Duration) -> RawClient {
        RawClient {
            conn: self.conn.with_timeout(limit),
        }
    }

    /// The socket, for bytes that are not a request.
    pub(crate) fn stream(&mut self) -> &mut weir::client::Stream {
        self.conn.stream()
    }

    /// The version to use for `R`: `preferred`, lowered to what the broker advertises.
    pub(crate) fn version<R: Request>(&self, preferred: i16) -> i16 {
        self.conn.version_up_to::<R>(preferred).unwrap_or_else(|e| {
            panic!(
                "no usable version of api {} (wanted {preferred}): {e}",
                R::KEY
            )
        })
    }

    pub(crate) async fn call<R: Request>(&mut self, version: i16, request: &R) -> R::Response {
        match self.conn.call(version, request).await {
            Ok(response) => response,
            Err(e) if e.is_disconnect() => panic!(
                "broker closed the connection instead of answering api {} v{version}",
                R::KEY
            ),
            Err(e @ ClientError::Timeout { .. }) => panic!("no response (and no close): {e}"),
            Err(e) => panic!("api {} v{version}: {e}", R::KEY),
        }
    }

    /// As [`RawClient::call`], but `None` when the broker closed the connection (or went away)
    /// instead of answering.
    pub(crate) async fn try_call<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Option<R::Response> {
        match self.conn.call(version, request).await {
            Ok(response) => Some(response),
            Err(e) if e.is_disconnect() => None,
            Err(e) => panic!("api {} v{version}: {e}", R::KEY),
        }
    }

    /// Creates a topic (replication factor 1) and asserts success.
    pub(crate) async fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) {
        let version = self.version::<CreateTopicsRequest>(5);
        self.create_topic_at(version, name, partitions, configs)
            .await;
    }

    /// [`RawClient::create_topic`] at an exact CreateTopics version.
    pub(crate) async fn create_topic_at(
        &mut self,
        version: i16,
        name: &str,
        partitions: i32,
        configs: &[(&str, &str)],
    ) {
        let topic = CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(s(k))
                            .with_value(Some(s(v)))
                    })
                    .collect(),
            );
        let request = CreateTopicsRequest::default()
            .with_topics(vec![topic])
            .with_timeout_ms(10_000);
        let response = self.call(version, &request).await;
        assert_eq!(response.topics.len(), 1, "CreateTopics answers one topic");
        let result = &response.topics[0];
        assert_eq!(
            result.error_code,
            code::NONE,
            "create topic {name}: {:?}",
            result.error_message
        );
    }

    /// Sends one Produce request (acks=-1) and returns `(partition, error_code, base_offset)`
    /// for each partition answered.
    pub(crate) async fn produce(
        &mut self,
        version: i16,
        topic: &str,
        partitions: Vec<(i32, Bytes)>,
    ) -> Vec<(i32, i16, i64)> {
        let request = produce_request(topic, partitions);
        let response = self.call(version, &request).await;
        assert_eq!(response.responses.len(), 1, "Produce answers one topic");
        let topic_response = &response.responses[0];
        assert_eq!(topic_response.name.0.as_str(), topic);
        let mut results: Vec<(i32, i16, i64)> = topic_response
            .partition_responses
            .iter()
            .map(|p| (p.index, p.error_code, p.base_offset))
            .collect();
        results.sort();
        results
    }

    /// The log end offset (ListOffsets with timestamp -1).
    pub(crate) async fn latest_offset(&mut self, topic: &str, partition: i32) -> i64 {
        let (error, offset) = self.list_offsets(topic, partition, -1).await;
        assert_eq!(error, code::NONE, "ListOffsets {topic}/{partition}");
        offset
    }

    /// ListOffsets for one partition: `(error_code, offset)`.
    pub(crate) async fn list_offsets(
        &mut self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> (i16, i64) {
        let version = self.version::<ListOffsetsRequest>(5);
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(timestamp)])]);
        let response = self.call(version, &request).await;
        assert_eq!(response.topics.len(), 1, "ListOffsets answers one topic");
        assert_eq!(
            response.topics[0].partitions.len(),
            1,
            "ListOffsets answers one partition"
        );
        let p = &response.topics[0].partitions[0];
        (p.error_code, p.offset)
    }

    /// InitProducerId without a transactional id: `(producer_id, epoch)`.
    pub(crate) async fn init_producer_id(&mut self) -> (i64, i16) {
        let version = self.version::<InitProducerIdRequest>(4);
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let response = self.call(version, &request).await;
        assert_eq!(response.error_code, code::NONE, "InitProducerId");
        assert!(
            response.producer_id.0 >= 0,
            "InitProducerId gave id {}",
            response.producer_id.0
        );
        (response.producer_id.0, response.producer_epoch)
    }

    /// Fetches from `offset` without waiting; returns `(error_code, high_watermark, records)`.
    pub(crate) async fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> (i16, i64, Bytes) {
        let version = self.version::<FetchRequest>(12);
        let request = fetch_request(topic, partition, offset, 0, 0);
        let response = self.call(version, &request).await;
        assert_eq!(response.error_code, code::NONE, "Fetch top-level error");
        let p = &response.responses[0].partitions[0];
        (
            p.error_code,
            p.high_watermark,
            p.records
                .clone()
                .expect("records must be empty bytes, never null"),
        )
    }

    /// A Metadata request for all topics; returns the number of brokers listed.
    pub(crate) async fn metadata_broker_count(&mut self) -> usize {
        let version = self.version::<MetadataRequest>(9);
        let response = self
            .call(version, &MetadataRequest::default().with_topics(None))
            .await;
        response.brokers.len()
    }
}

pub(crate) fn produce_request(topic: &str, partitions: Vec<(i32, Bytes)>) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(
                partitions
                    .into_iter()
                    .map(|(index, records)| {
                        PartitionProduceData::default()
                            .with_index(index)
                            .with_records(Some(records))
                    })
                    .collect(),
            )])
}

pub(crate) fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(8 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(4 << 20)])])
}

/// A new connection still gets a good ApiVersions answer and a Metadata answer listing a broker.
pub(crate) async fn assert_broker_serves(addr: SocketAddr) {
    let mut client = RawClient::connect(addr).await;
    assert!(
        client.metadata_broker_count().await >= 1,
        "Metadata lists no broker"
    );
}

/// `count` records with distinct keys/values, timestamps from 1_700_000_000_000.
pub(crate) fn sample_records(count: usize, value_len: usize) -> Vec<Record> {
    (0..count)
        .map(|i| {
            let mut value = format!("value-{i}-").into_bytes();
            value.resize(value_len.max(value.len()), b'x');
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // Keeps offset - sequence constant, so the encoder writes one batch with
                // baseSequence -1 (no producer id).
                sequence: i as i32 - 1,
                timestamp: 1_700_000_000_000 + i as i64,
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(value)),
                headers: Default::default(),
            }
        })
        .collect()
}

/// One valid, uncompressed magic-2 batch of `count` records.
pub(crate) fn valid_batch(count: usize, value_len: usize) -> BytesMut {
    encode_one_batch(sample_records(count, value_len))
}

/// One idempotent batch: `count` records from `producer_id`/`epoch` starting at `base_sequence`.
pub(crate) fn idempotent_batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    count: usize,
) -> BytesMut {
    let records = sample_records(count, 10)
        .into_iter()
        .map(|mut r| {
            r.producer_id = producer_id;
            r.producer_epoch = epoch;
            r.sequence = base_sequence + r.offset as i32;
            r
        })
        .collect();
    let batch = encode_one_batch(records);
    assert_eq!(
        i32::from_be_bytes(
            batch[BASE_SEQUENCE_AT..BASE_SEQUENCE_AT + 4]
                .try_into()
                .unwrap()
        ),
        base_sequence,
        "encoder kept the base sequence"
    );
    batch
}

pub(crate) fn encode_one_batch(records: Vec<Record>) -> BytesMut {
    let count = records.len();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode record batch");
    assert_eq!(
        i32::from_be_bytes(
            buf[RECORD_COUNT_AT..RECORD_COUNT_AT + 4]
                .try_into()
                .unwrap()
        ),
        count as i32,
        "encoder wrote a single batch"
    );
    assert_eq!(
        i32::from_be_bytes(
            buf[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4]
                .try_into()
                .unwrap()
        ) as usize,
        buf.len() - 12,
        "encoder wrote a single batch"
    );
    buf
}

/// Recomputes the CRC-32C over attributes..end after a deliberate edit.
pub(crate) fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A genuine legacy (magic 1) message set with one message and a valid CRC-32 (IEEE).
pub(crate) fn magic_1_message_set() -> Bytes {
    let key = b"legacy-key";
    let value = b"legacy-value";
    let mut message = BytesMut::new();
    message.put_i8(1); // magic
    message.put_i8(0); // attributes: no compression, create time
    message.put_i64(1_700_000_000_000);
    message.put_i32(key.len() as i32);
    message.extend_from_slice(key);
    message.put_i32(value.len() as i32);
    message.extend_from_slice(value);
    let crc = kafka_protocol::records::IEEE.checksum(&message);
    let mut set = BytesMut::new();
    set.put_i64(0); // offset
    set.put_i32(4 + message.len() as i32); // message size: crc + rest
    set.put_u32(crc);
    set.extend_from_slice(&message);
    set.freeze()
}

/// What tests read from the header of one stored record batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredBatch {
    pub(crate) attributes: i16,
    pub(crate) producer_id: i64,
    pub(crate) base_sequence: i32,
    pub(crate) records: i32,
}

impl StoredBatch {
    /// The compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub(crate) fn codec(&self) -> i16 {
        self.attributes & 0x07
    }
}

/// Walks the whole batches in fetched bytes (a partial trailing batch, allowed in fetch
/// responses, ends the walk); every one must be magic 2.
pub(crate) fn stored_batches(mut records: &[u8]) -> Vec<StoredBatch> {
    let be_i32 = |b: &[u8], at: usize| i32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    while records.len() >= BATCH_HEADER_LEN {
        let total = 12 + usize::try_from(be_i32(records, BATCH_LENGTH_AT)).expect("batch length");
        if records.len() < total {
            break;
        }
        assert_eq!(records[MAGIC_AT], 2, "fetched batch is not magic 2");
        out.push(StoredBatch {
            attributes: i16::from_be_bytes([records[ATTRIBUTES_AT], records[ATTRIBUTES_AT + 1]]),
            producer_id: i64::from_be_bytes(
                records[PRODUCER_ID_AT..PRODUCER_ID_AT + 8]
                    .try_into()
                    .unwrap(),
            ),
            base_sequence: be_i32(records, BASE_SEQUENCE_AT),
            records: be_i32(records, RECORD_COUNT_AT),
        });
        records = &records[total..];
    }
    out
}

/// Each whole batch's attributes, in order.
pub(crate) fn batch_attributes(records: &[u8]) -> Vec<i16> {
    stored_batches(records)
        .iter()
        .map(|b| b.attributes)
        .collect()
}
