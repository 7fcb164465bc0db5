//! Records inside a batch, read only where the broker must look inside: validating the record
//! framing of uncompressed batches on append, and finding the exact record for a timestamp.
//!
//! Record layout (v2): length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//! keyLength varint, key, valueLength varint, value, headerCount varint, headers. Varints are
//! zigzag-encoded, as in protobuf. Uncompressed records are walked in place without allocation;
//! compressed batches go through `kafka_protocol::records::RecordBatchDecoder`.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use super::batch::{BatchHeader, HEADER_SIZE};
use super::error::LogError;

/// Reads one zigzag varint of at most `max_bytes` bytes at `*pos`.
fn read_varlong(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for i in 0..max_bytes {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    read_varlong(buf, pos, 5).and_then(|v| i32::try_from(v).ok())
}

/// (offsetDelta, timestampDelta) of each record of an uncompressed batch, in order.
pub(super) struct RecordDeltas<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: i32,
}

impl<'a> RecordDeltas<'a> {
    /// `records` is the batch's bytes after the 61-byte header.
    pub(super) fn new(records: &'a [u8], count: i32) -> Self {
        RecordDeltas {
            buf: records,
            pos: 0,
            remaining: count,
        }
    }

    /// Steps over the next record; returns its body range.
    fn next_body(&mut self) -> Result<Option<std::ops::Range<usize>>, LogError> {
        if self.remaining <= 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let len = read_varint(self.buf, &mut self.pos)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| LogError::CorruptMessage("bad record length".into()))?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| LogError::CorruptMessage("record overruns its batch".into()))?;
        self.pos = end;
        Ok(Some(start..end))
    }

    /// Checks that exactly `count` well-framed records fill the records section.
    pub(super) fn validate_framing(mut self) -> Result<(), LogError> {
        while self.next_body()?.is_some() {}
        if self.pos != self.buf.len() {
            return Err(LogError::CorruptMessage(format!(
                "{} bytes left after the declared records",
                self.buf.len() - self.pos
            )));
        }
        Ok(())
    }
}

impl Iterator for RecordDeltas<'_> {
    type Item = Result<(i32, i64), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        let body = match self.next_body() {
            Ok(Some(range)) => self.buf.get(range)?,
            Ok(None) => return None,
            Err(e) => {
                self.remaining = 0;
                return Some(Err(e));
            }
        };
        let mut p = 1; // attributes
        let ts_delta = read_varlong(body, &mut p, 10);
        let offset_delta = read_varint(body, &mut p);
        match (offset_delta, ts_delta) {
            (Some(o), Some(t)) => Some(Ok((o, t))),
            _ => {
                self.remaining = 0;
                Some(Err(LogError::CorruptMessage("bad record header".into())))
            }
        }
    }
}

/// Finds the first record of `batch` (a whole batch, header included, with its final base
/// offset) whose timestamp is at least `target` and whose offset is at least `min_offset`.
/// Returns (offset, timestamp).
pub(super) fn find_record(
    header: &BatchHeader,
    batch: Bytes,
    target: i64,
    min_offset: i64,
) -> Result<Option<(i64, i64)>, LogError> {
    if header.is_log_append_time() {
        // Every record carries the batch's append time.
        let offset = header.base_offset.max(min_offset);
        let found = header.max_timestamp >= target && offset <= header.last_offset();
        return Ok(found.then_some((offset, header.max_timestamp)));
    }
    if header.compression() == 0 {
        let records = batch.get(HEADER_SIZE..).unwrap_or_default();
        for item in RecordDeltas::new(records, header.record_count) {
            let (offset_delta, ts_delta) = item?;
            let offset = header.base_offset.saturating_add(i64::from(offset_delta));
            let timestamp = header.base_timestamp.saturating_add(ts_delta);
            if timestamp >= target && offset >= min_offset {
                return Ok(Some((offset, timestamp)));
            }
        }
        return Ok(None);
    }
    let mut buf = batch;
    let set = RecordBatchDecoder::decode(&mut buf)
        .map_err(|e| LogError::CorruptMessage(format!("cannot decode stored batch: {e}")))?;
    Ok(set
        .records
        .iter()
        .find(|r| r.timestamp >= target && r.offset >= min_offset)
        .map(|r| (r.offset, r.timestamp)))
}
