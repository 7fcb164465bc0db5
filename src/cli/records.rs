//! Record batches (magic 2) for produce and consume, via `kafka_protocol::records`.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType, NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};

use super::error::CliError;
use crate::client::ClientError;

/// Bytes before a batch's records count: baseOffset .. batchLength.
const LOG_OVERHEAD: usize = 12;
/// Offset of lastOffsetDelta in the batch header.
const LAST_OFFSET_DELTA: usize = 23;
const MAGIC: usize = 16;

/// A record to send.
pub struct Outgoing {
    pub key: Option<Bytes>,
    pub value: Bytes,
    pub headers: Vec<(String, Bytes)>,
    pub timestamp: i64,
}

/// One batch holding `records`, compressed with `compression`.
pub fn encode_batch(records: &[Outgoing], compression: Compression) -> Result<Bytes, CliError> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch wherever offset - sequence changes; this keeps
            // one batch with baseSequence -1 (no idempotence).
            sequence: NO_SEQUENCE.wrapping_add(i as i32),
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: Some(r.value.clone()),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), Some(v.clone())))
                .collect(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| ClientError::Encode {
        api: "record batch".into(),
        detail: e.to_string(),
    })?;
    Ok(buf.freeze())
}

/// What one fetched partition held.
pub struct Decoded {
    /// Data records (control records left out), in offset order.
    pub records: Vec<Record>,
    /// The offset after the last complete batch, if any batch was complete.
    pub next_offset: Option<i64>,
}

/// Decodes the complete batches of a fetch response's records; a batch cut off at the end of
/// the response (fetch size limits) is left for the next fetch.
pub fn decode(mut data: Bytes, what: &str) -> Result<Decoded, CliError> {
    let mut decoded = Decoded {
        records: Vec::new(),
        next_offset: None,
    };
    while data.len() >= LOG_OVERHEAD {
        let len = i32::from_be_bytes([data[8], data[9], data[10], data[11]]);
        let total = LOG_OVERHEAD + usize::try_from(len).unwrap_or(0);
        if total <= LOG_OVERHEAD || data.len() < total {
            break;
        }
        let batch = data.split_to(total);
        if batch.len() <= LAST_OFFSET_DELTA + 4 || batch[MAGIC] != 2 {
            return Err(bad_batch(what, "not a v2 record batch".into()));
        }
        let base = i64::from_be_bytes(batch[..8].try_into().unwrap_or([0; 8]));
        let delta = i32::from_be_bytes(
            batch[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
                .try_into()
                .unwrap_or([0; 4]),
        );
        let mut buf = batch;
        let set =
            RecordBatchDecoder::decode(&mut buf).map_err(|e| bad_batch(what, e.to_string()))?;
        decoded
            .records
            .extend(set.records.into_iter().filter(|r| !r.control));
        decoded.next_offset = Some(base + i64::from(delta) + 1);
    }
    Ok(decoded)
}

fn bad_batch(what: &str, detail: String) -> CliError {
    ClientError::Protocol {
        addr: what.to_string(),
        api: "Fetch".into(),
        detail: format!("undecodable record batch: {detail}"),
    }
    .into()
}

/// Kafka's murmur2 (the Java client's default partitioner hash), so keyed records land on the
/// same partition as they would from the Java producer.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java producer picks for `key`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }

    #[test]
    fn a_batch_round_trips_and_a_cut_batch_waits() {
        let records = vec![
            Outgoing {
                key: Some(Bytes::from_static(b"k")),
                value: Bytes::from_static(b"v1"),
                headers: vec![],
                timestamp: 1,
            },
            Outgoing {
                key: None,
                value: Bytes::from_static(b"v2"),
                headers: vec![("h".into(), Bytes::from_static(b"x"))],
                timestamp: 2,
            },
        ];
        let batch = encode_batch(&records, Compression::None).expect("encode");
        assert_eq!(
            batch.len(),
            12 + i32::from_be_bytes([batch[8], batch[9], batch[10], batch[11]]) as usize,
            "one batch"
        );
        let decoded = decode(batch.clone(), "test").expect("decode");
        assert_eq!(decoded.records.len(), 2);
        assert_eq!(decoded.next_offset, Some(2));
        let cut = decode(batch.slice(..batch.len() - 1), "test").expect("decode");
        assert!(cut.records.is_empty());
        assert_eq!(cut.next_offset, None);
    }
}
