//! What a producer may append: the checks made on the records of one produce partition
//! before anything is written, as Apache Kafka makes them. A produce request carries exactly
//! one record batch per partition (Kafka requires it from Produce v3 on; older versions cannot
//! carry magic-2 batches). Its header fields and CRC are checked, then every record, in place
//! for uncompressed batches, after decompression for compressed ones (`compressed.rs`, with a
//! size cap), by the one walk in `records.rs`. The batch's maxTimestamp is what its records
//! say, whatever the header claims.

use std::ops::Range;

use super::batch::{BatchHeader, BatchIter, HEADER_SIZE};
use super::compressed;
use super::config::LogConfig;
use super::error::LogError;
use super::records::{walk_records, InPlace};

/// Highest compression codec id (zstd).
const MAX_COMPRESSION: i16 = 4;

/// Validates the records of one produce partition: exactly one batch. Returns its header, with
/// maxTimestamp recomputed from the records, and its byte range, or the first problem found.
/// `require_key` names the partition of a compacted topic, where every record needs a key.
pub(super) fn validate_append(
    records: &[u8],
    config: &LogConfig,
    require_key: Option<&str>,
) -> Result<Vec<(BatchHeader, Range<usize>)>, LogError> {
    let mut batches = BatchIter::new(records);
    let Some(first) = batches.next() else {
        return Err(LogError::InvalidRecord(
            "a produce partition must carry at least one record batch".into(),
        ));
    };
    let (mut header, range) = first?;
    match batches.next() {
        None => {}
        Some(Ok(_)) => {
            return Err(LogError::InvalidRecord(
                "produce requests may carry exactly one record batch per partition".into(),
            ))
        }
        Some(Err(e)) => return Err(e),
    }
    if header.size() > config.max_message_bytes {
        return Err(LogError::MessageTooLarge {
            size: header.size(),
            max: config.max_message_bytes,
        });
    }
    let bytes = records
        .get(range.clone())
        .ok_or_else(|| LogError::CorruptMessage("batch out of bounds".into()))?;
    header.verify(bytes)?;
    validate_header(&header)?;
    let body = bytes.get(HEADER_SIZE..).unwrap_or_default();
    header.max_timestamp = if header.compression() == 0 {
        walk_records(&mut InPlace::new(body), &header, require_key)?
    } else {
        compressed::validate(&header, body, bytes.len(), require_key)?
    };
    Ok(vec![(header, range)])
}

fn validate_header(h: &BatchHeader) -> Result<(), LogError> {
    if h.record_count <= 0 {
        return Err(LogError::InvalidRecord(format!(
            "invalid reported count for record batch: {}",
            h.record_count
        )));
    }
    let compression = h.compression();
    if compression > MAX_COMPRESSION {
        return Err(LogError::InvalidRecord(format!(
            "unknown compression codec {compression}"
        )));
    }
    // Magic 2 batches hold one offset per record, compressed or not.
    if i64::from(h.last_offset_delta) + 1 != i64::from(h.record_count) {
        return Err(LogError::InvalidRecord(format!(
            "inconsistent batch offset range [0, {}] and count of records {}",
            h.last_offset_delta, h.record_count
        )));
    }
    if h.is_control() {
        return Err(LogError::InvalidRecord(
            "clients may not write control batches".into(),
        ));
    }
    if h.producer_id < -1 {
        return Err(LogError::InvalidRecord(format!(
            "invalid producer id {}",
            h.producer_id
        )));
    }
    if h.is_transactional() && h.producer_id < 0 {
        return Err(LogError::InvalidRecord(
            "a transactional batch needs a producer id".into(),
        ));
    }
    if h.producer_id >= 0 && (h.producer_epoch < 0 || h.base_sequence < 0) {
        return Err(LogError::InvalidRecord(format!(
            "idempotent batch with epoch {} and sequence {}",
            h.producer_epoch, h.base_sequence
        )));
    }
    if h.base_timestamp < -1 {
        return Err(LogError::InvalidRecord(format!(
            "invalid base timestamp {}",
            h.base_timestamp
        )));
    }
    Ok(())
}
