//! Transaction markers: the control batches that end a transaction on a partition. Written only
//! by the broker (clients may not produce control batches), read back by recovery to rebuild
//! the aborted-transaction index of the log's tail.
//!
//! A marker is a magic-2 batch with attributes bit 4 (transactional) and bit 5 (control) set,
//! the producer id and epoch of the transaction, baseSequence -1 and exactly one uncompressed
//! record (offset delta 0, timestamp delta 0, no headers) whose
//!
//! ```text
//! key    4 bytes   version i16 (0), type i16 (0 abort, 1 commit)
//! value  6 bytes   version i16 (0), coordinator epoch i32
//! ```
//!
//! as Kafka's `EndTransactionMarker` writes them. The whole batch is 78 bytes.

use super::batch::{BatchHeader, HEADER_SIZE};
use super::error::LogError;

/// Attributes of a marker: transactional (bit 4) and control (bit 5).
const MARKER_ATTRIBUTES: i16 = (1 << 4) | (1 << 5);
const KEY_LEN: usize = 4;
const VALUE_LEN: usize = 6;
/// Record body after its length: attributes, timestamp delta, offset delta, key length, key,
/// value length, value, header count (each varint here fits one byte).
const RECORD_BODY_LEN: usize = 1 + 1 + 1 + 1 + KEY_LEN + 1 + VALUE_LEN + 1;
/// The size of a marker batch.
pub const MARKER_BATCH_LEN: usize = HEADER_SIZE + 1 + RECORD_BODY_LEN;

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Abort,
    Commit,
}

impl Outcome {
    fn control_type(self) -> i16 {
        match self {
            Outcome::Abort => 0,
            Outcome::Commit => 1,
        }
    }
}

/// A transaction marker to append: which producer's transaction it ends, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub outcome: Outcome,
    /// The transaction coordinator's epoch; markers from an older one are refused.
    pub coordinator_epoch: i32,
}

/// The marker as a whole batch (base offset 0: the log assigns it), stamped `timestamp_ms`.
pub(super) fn encode(marker: &Marker, timestamp_ms: i64) -> Vec<u8> {
    let mut b = Vec::with_capacity(MARKER_BATCH_LEN);
    b.extend_from_slice(&0i64.to_be_bytes()); // baseOffset
    b.extend_from_slice(&((MARKER_BATCH_LEN - 12) as i32).to_be_bytes()); // batchLength
    b.extend_from_slice(&0i32.to_be_bytes()); // partitionLeaderEpoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&MARKER_ATTRIBUTES.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // lastOffsetDelta
    b.extend_from_slice(&timestamp_ms.to_be_bytes()); // baseTimestamp
    b.extend_from_slice(&timestamp_ms.to_be_bytes()); // maxTimestamp
    b.extend_from_slice(&marker.producer_id.to_be_bytes());
    b.extend_from_slice(&marker.producer_epoch.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // baseSequence
    b.extend_from_slice(&1i32.to_be_bytes()); // record count
                                              // The record: zigzag varints, each one byte.
    b.push(zigzag(RECORD_BODY_LEN));
    b.push(0); // attributes
    b.push(0); // timestamp delta
    b.push(0); // offset delta
    b.push(zigzag(KEY_LEN));
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&marker.outcome.control_type().to_be_bytes());
    b.push(zigzag(VALUE_LEN));
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    b.push(0); // header count
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn zigzag(n: usize) -> u8 {
    // Only called with the small constant lengths above.
    (n as u8) << 1
}

/// Reads the outcome and coordinator epoch of the control batch `batch` (its whole bytes).
/// `None` for a control batch that is not a transaction marker this broker understands (Kafka
/// has other control types, e.g. for its metadata log; they end no transaction here).
pub(super) fn decode(
    header: &BatchHeader,
    batch: &[u8],
) -> Result<Option<(Outcome, i32)>, LogError> {
    if !header.is_control() || header.compression() != 0 || header.record_count != 1 {
        return Ok(None);
    }
    let body = batch.get(HEADER_SIZE..).unwrap_or_default();
    // length, attributes, timestamp delta, offset delta, key length: one byte each here.
    let short = || LogError::CorruptMessage("control record shorter than a marker".into());
    let key_len = *body.get(4).ok_or_else(short)?;
    if key_len != zigzag(KEY_LEN) {
        return Ok(None);
    }
    let key = body.get(5..5 + KEY_LEN).ok_or_else(short)?;
    let version = i16::from_be_bytes([key[0], key[1]]);
    let kind = i16::from_be_bytes([key[2], key[3]]);
    let outcome = match (version, kind) {
        (0, 0) => Outcome::Abort,
        (0, 1) => Outcome::Commit,
        _ => return Ok(None),
    };
    let value_at = 5 + KEY_LEN;
    let epoch = match body.get(value_at) {
        Some(&len) if len == zigzag(VALUE_LEN) => body
            .get(value_at + 3..value_at + 7)
            .map(|e| i32::from_be_bytes([e[0], e[1], e[2], e[3]]))
            .unwrap_or(-1),
        _ => -1,
    };
    Ok(Some((outcome, epoch)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn a_marker_is_a_control_batch_kafka_decoders_read() {
        let marker = Marker {
            producer_id: 42,
            producer_epoch: 3,
            outcome: Outcome::Commit,
            coordinator_epoch: 7,
        };
        let batch = encode(&marker, 1_700_000_000_000);
        assert_eq!(batch.len(), MARKER_BATCH_LEN);
        let header = BatchHeader::parse(&batch).unwrap();
        header.verify(&batch).unwrap();
        assert!(header.is_control() && header.is_transactional());
        assert_eq!((header.producer_id, header.producer_epoch), (42, 3));
        assert_eq!(decode(&header, &batch).unwrap(), Some((Outcome::Commit, 7)));

        let mut buf = Bytes::from(batch);
        let sets = RecordBatchDecoder::decode_all(&mut buf).unwrap();
        let record = &sets[0].records[0];
        assert!(record.control && record.transactional);
        assert_eq!(record.key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(record.value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 7][..]));
    }

    #[test]
    fn abort_markers_decode_as_aborts() {
        let marker = Marker {
            producer_id: 1,
            producer_epoch: 0,
            outcome: Outcome::Abort,
            coordinator_epoch: 0,
        };
        let batch = encode(&marker, 5);
        let header = BatchHeader::parse(&batch).unwrap();
        assert_eq!(decode(&header, &batch).unwrap(), Some((Outcome::Abort, 0)));
    }
}
