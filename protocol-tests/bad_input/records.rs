//! Batches whose header and CRC are right but whose records lie. Kafka walks every record of
//! every produced batch and answers INVALID_RECORD for what a consumer could not read or a
//! header that disagrees with its records, writes nothing of it, and recomputes what it can
//! (the batch's largest timestamp). No client sends these, so the batches are built by hand.

use std::io::Write;

use bytes::Bytes;
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::records::RecordBatchDecoder;

use super::broker_with_topic;
use crate::support::raw::*;

const BASE_TIMESTAMP: i64 = 1_700_000_000_000;
const MAX_TIMESTAMP_AT: usize = 35;

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// One record (length prefix included) whose key length field says `key_len` whatever the
/// key really holds.
fn record_with_key_len(offset_delta: i64, ts_delta: i64, key_len: i64, key: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8]; // attributes
    put_varint(&mut body, ts_delta);
    put_varint(&mut body, offset_delta);
    put_varint(&mut body, key_len);
    body.extend_from_slice(key);
    put_varint(&mut body, 5);
    body.extend_from_slice(b"value");
    put_varint(&mut body, 0); // no headers
    let mut out = Vec::new();
    put_varint(&mut out, body.len() as i64);
    out.extend_from_slice(&body);
    out
}

fn record(offset_delta: i64, ts_delta: i64) -> Vec<u8> {
    record_with_key_len(offset_delta, ts_delta, 3, b"key")
}

/// A magic-2 batch around `records` (gzipped when `gzip`), with the header fields given.
fn batch(records: &[u8], count: i32, last_offset_delta: i32, gzip: bool, max_ts: i64) -> Bytes {
    let payload = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(records).expect("gzip");
        encoder.finish().expect("gzip")
    } else {
        records.to_vec()
    };
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((BATCH_HEADER_LEN - 12 + payload.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&0u32.to_be_bytes()); // crc, fixed below
    b.extend_from_slice(&(if gzip { 1i16 } else { 0 }).to_be_bytes());
    b.extend_from_slice(&last_offset_delta.to_be_bytes());
    b.extend_from_slice(&BASE_TIMESTAMP.to_be_bytes());
    b.extend_from_slice(&max_ts.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(&payload);
    fix_crc(&mut b);
    Bytes::from(b)
}

/// Produces `records` to partition 0 and returns that partition's whole answer.
async fn produce_one(
    client: &mut RawClient,
    topic: &str,
    records: Bytes,
) -> kafka_protocol::messages::produce_response::PartitionProduceResponse {
    let version = client.version::<ProduceRequest>(9);
    let response: ProduceResponse = client
        .call(version, &produce_request(topic, vec![(0, records)]))
        .await;
    response.responses[0].partition_responses[0].clone()
}

/// The partition is empty, takes a good batch at offset 0, and everything in it decodes.
async fn assert_empty_and_still_readable(client: &mut RawClient, topic: &str) {
    assert_eq!(
        client.latest_offset(topic, 0).await,
        0,
        "something was written"
    );
    let ok = produce_one(client, topic, valid_batch(2, 10).freeze()).await;
    assert_eq!((ok.error_code, ok.base_offset), (code::NONE, 0), "{ok:?}");
    let (error, high_watermark, mut fetched) = client.fetch(topic, 0, 0).await;
    assert_eq!((error, high_watermark), (code::NONE, 2));
    let sets = RecordBatchDecoder::decode_all(&mut fetched).expect("a consumer decodes the log");
    assert_eq!(sets.iter().map(|s| s.records.len()).sum::<usize>(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_with_more_than_one_batch_in_a_partition_is_invalid_record() {
    let (_broker, mut client) = broker_with_topic("two-batches", 1).await;
    let mut data = valid_batch(3, 10);
    data.extend_from_slice(&valid_batch(2, 10));
    let refused = produce_one(&mut client, "two-batches", data.freeze()).await;
    assert_eq!(refused.error_code, code::INVALID_RECORD, "{refused:?}");
    let message = refused
        .error_message
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert!(message.contains("exactly one record batch"), "{message}");

    // Thousands of tiny batches (each a new fake producer id) cost one refusal, not a scan each.
    let mut many = Vec::new();
    for pid in 0..10_000i64 {
        let mut one = valid_batch(1, 1);
        one[43..51].copy_from_slice(&pid.to_be_bytes());
        one[51..53].copy_from_slice(&0i16.to_be_bytes());
        one[53..57].copy_from_slice(&0i32.to_be_bytes());
        fix_crc(&mut one);
        many.extend_from_slice(&one);
    }
    let refused = produce_one(&mut client, "two-batches", Bytes::from(many)).await;
    assert_eq!(refused.error_code, code::INVALID_RECORD, "{refused:?}");
    assert_empty_and_still_readable(&mut client, "two-batches").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_of_a_compressed_batch_claiming_more_offsets_than_records_is_invalid_record() {
    let (_broker, mut client) = broker_with_topic("offset-range", 1).await;
    // One record whose offset delta matches a lastOffsetDelta of 2^31-1: the batch would move
    // the log end by 2^31 offsets for one record.
    let lying = batch(
        &record(i64::from(i32::MAX), 0),
        1,
        i32::MAX,
        true,
        BASE_TIMESTAMP,
    );
    for attempt in 0..5 {
        let refused = produce_one(&mut client, "offset-range", lying.clone()).await;
        assert_eq!(
            refused.error_code,
            code::INVALID_RECORD,
            "attempt {attempt}: {refused:?}"
        );
    }
    // The same lie uncompressed.
    let lying = batch(
        &record(i64::from(i32::MAX), 0),
        1,
        i32::MAX,
        false,
        BASE_TIMESTAMP,
    );
    let refused = produce_one(&mut client, "offset-range", lying).await;
    assert_eq!(refused.error_code, code::INVALID_RECORD, "{refused:?}");
    assert_empty_and_still_readable(&mut client, "offset-range").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_of_a_record_whose_key_overruns_it_is_invalid_record_with_the_record_named() {
    let (_broker, mut client) = broker_with_topic("overrun", 1).await;
    // Record 1 claims a 50-byte key but holds 3 bytes; its length prefix is right.
    let mut records = record(0, 0);
    records.extend_from_slice(&record_with_key_len(1, 1, 50, b"key"));
    for gzip in [false, true] {
        let refused = produce_one(
            &mut client,
            "overrun",
            batch(&records, 2, 1, gzip, BASE_TIMESTAMP + 1),
        )
        .await;
        assert_eq!(
            refused.error_code,
            code::INVALID_RECORD,
            "gzip {gzip}: {refused:?}"
        );
        let indexes: Vec<i32> = refused
            .record_errors
            .iter()
            .map(|e| e.batch_index)
            .collect();
        assert_eq!(indexes, vec![1], "gzip {gzip}: {refused:?}");
        assert!(refused.error_message.is_some(), "{refused:?}");
    }
    assert_empty_and_still_readable(&mut client, "overrun").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_of_a_record_with_an_offset_delta_outside_its_batch_is_invalid_record() {
    let (_broker, mut client) = broker_with_topic("delta", 1).await;
    let lying = batch(&record(1_000_000, 0), 1, 0, false, BASE_TIMESTAMP);
    let refused = produce_one(&mut client, "delta", lying).await;
    assert_eq!(refused.error_code, code::INVALID_RECORD, "{refused:?}");
    assert_eq!(refused.record_errors.len(), 1, "{refused:?}");
    // Gaps between records are refused too: weir stores batches as they come and cannot
    // renumber them as Kafka does.
    let mut gap = record(0, 0);
    gap.extend_from_slice(&record(2, 1));
    let refused = produce_one(
        &mut client,
        "delta",
        batch(&gap, 2, 1, false, BASE_TIMESTAMP),
    )
    .await;
    assert_eq!(refused.error_code, code::INVALID_RECORD, "{refused:?}");
    // Nothing answers ListOffsets by time with an offset the log never had.
    let (error, offset) = client.list_offsets("delta", 0, BASE_TIMESTAMP).await;
    assert_eq!((error, offset), (code::NONE, -1));
    assert_empty_and_still_readable(&mut client, "delta").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_claiming_a_later_max_timestamp_than_its_records_is_stored_with_the_real_one() {
    let (_broker, mut client) = broker_with_topic("max-ts", 1).await;
    let mut records = record(0, 0);
    records.extend_from_slice(&record(1, 7));
    records.extend_from_slice(&record(2, 3));
    for (gzip, claimed) in [(false, i64::MAX), (true, i64::MAX), (false, BASE_TIMESTAMP)] {
        let stored = produce_one(&mut client, "max-ts", batch(&records, 3, 2, gzip, claimed)).await;
        assert_eq!(stored.error_code, code::NONE, "{stored:?}");
        let (_, _, fetched) = client.fetch("max-ts", 0, stored.base_offset).await;
        let max = i64::from_be_bytes(
            fetched[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8]
                .try_into()
                .unwrap(),
        );
        assert_eq!(
            max,
            BASE_TIMESTAMP + 7,
            "gzip {gzip}, claimed {claimed}: stored maxTimestamp"
        );
        // The rewritten header still carries a valid CRC.
        let mut one = fetched.slice(..);
        RecordBatchDecoder::decode_all(&mut one).expect("stored batch decodes");
    }
}
