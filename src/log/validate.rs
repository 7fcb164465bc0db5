//! What a producer may append: the checks made on every batch of a produce request before
//! anything is written. Header fields and the CRC are checked for every batch, then the records:
//! in place for uncompressed batches (lengths and count), after decompression for compressed
//! ones (`compressed.rs`: every record's fields, count and offset deltas, with a size cap).

use std::ops::Range;

use super::batch::{BatchHeader, BatchIter, HEADER_SIZE};
use super::compressed;
use super::config::LogConfig;
use super::error::LogError;
use super::records::RecordDeltas;

/// Highest compression codec id (zstd).
const MAX_COMPRESSION: i16 = 4;

/// Splits `records` into batches and validates each one. Returns every batch's header and
/// byte range, or the first problem found.
pub(super) fn validate_append(
    records: &[u8],
    config: &LogConfig,
) -> Result<Vec<(BatchHeader, Range<usize>)>, LogError> {
    if records.is_empty() {
        return Err(LogError::InvalidRecord(
            "a produce partition must carry at least one record batch".into(),
        ));
    }
    let mut out = Vec::with_capacity(1);
    for item in BatchIter::new(records) {
        let (header, range) = item?;
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
        if header.compression() == 0 {
            RecordDeltas::new(body, header.record_count).validate_framing()?;
        } else {
            compressed::validate(&header, body, bytes.len())?;
        }
        out.push((header, range));
    }
    Ok(out)
}

fn validate_header(h: &BatchHeader) -> Result<(), LogError> {
    if h.record_count <= 0 {
        return Err(LogError::CorruptMessage(format!(
            "record count {} must be positive",
            h.record_count
        )));
    }
    let compression = h.compression();
    if compression > MAX_COMPRESSION {
        return Err(LogError::InvalidRecord(format!(
            "unknown compression codec {compression}"
        )));
    }
    let delta = i64::from(h.last_offset_delta);
    let count = i64::from(h.record_count);
    let consistent = if compression == 0 {
        delta + 1 == count
    } else {
        delta + 1 >= count
    };
    if !consistent {
        return Err(LogError::CorruptMessage(format!(
            "lastOffsetDelta {} does not match record count {}",
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
    if h.base_timestamp < -1 || h.max_timestamp < -1 {
        return Err(LogError::InvalidRecord(format!(
            "invalid timestamps (base {}, max {})",
            h.base_timestamp, h.max_timestamp
        )));
    }
    Ok(())
}
