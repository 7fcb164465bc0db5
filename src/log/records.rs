//! Records inside a batch, read only where the broker must look inside: checking every record
//! of a produced batch (uncompressed in place, compressed as `compressed.rs` decompresses it),
//! and finding the exact record for a timestamp.
//!
//! Record layout (v2): length varint, attributes i8, timestampDelta varlong, offsetDelta varint,
//! keyLength varint, key, valueLength varint, value, headerCount varint, headers (each: key
//! length varint, key, value length varint, value). Varints are zigzag-encoded, as in protobuf.
//! Uncompressed records are walked in place without allocation; timestamp lookups in compressed
//! batches go through `kafka_protocol::records::RecordBatchDecoder`.
//!
//! What a produced batch must satisfy ([`walk_records`]), as a consumer decodes it: exactly
//! `recordCount` records fill the records section; every field of a record lies inside the
//! record's length and the fields fill it exactly; the offset delta of record `i` is `i` (the
//! log stores batches as produced and cannot renumber them, so the offsets a consumer computes
//! must be the ones assigned); baseTimestamp + timestampDelta does not overflow; key, value and
//! header lengths are -1 (null, not for header keys) or positive.

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

/// One record of a stored records section: the record's bytes (length prefix included, so
/// the cleaner can copy it as it is), its deltas, its key and whether it has a value (a
/// record without one is a tombstone).
pub(super) struct RecordView<'a> {
    pub raw: &'a [u8],
    pub offset_delta: i32,
    pub timestamp_delta: i64,
    pub key: Option<&'a [u8]>,
    pub has_value: bool,
}

/// The records of an uncompressed records section (the batch's bytes after its header),
/// `count` of them, in order.
pub(super) struct RecordViews<'a> {
    buf: &'a [u8],
    pos: usize,
    remaining: i32,
}

impl<'a> RecordViews<'a> {
    pub(super) fn new(records: &'a [u8], count: i32) -> Self {
        RecordViews {
            buf: records,
            pos: 0,
            remaining: count,
        }
    }

    fn parse(&mut self) -> Option<RecordView<'a>> {
        let buf: &'a [u8] = self.buf;
        let start = self.pos;
        let mut p = start;
        let len = usize::try_from(read_varint(buf, &mut p)?).ok()?;
        let end = p.checked_add(len).filter(|&e| e <= buf.len())?;
        let body = buf.get(p..end)?;
        let mut q = 1; // attributes
        let timestamp_delta = read_varlong(body, &mut q, 10)?;
        let offset_delta = read_varint(body, &mut q)?;
        let key_len = read_varint(body, &mut q)?;
        let key = match usize::try_from(key_len) {
            Ok(n) => {
                let k = body.get(q..q.checked_add(n)?)?;
                q += n;
                Some(k)
            }
            Err(_) => None,
        };
        let value_len = read_varint(body, &mut q)?;
        self.pos = end;
        Some(RecordView {
            raw: buf.get(start..end)?,
            offset_delta,
            timestamp_delta,
            key,
            has_value: value_len >= 0,
        })
    }
}

impl<'a> Iterator for RecordViews<'a> {
    type Item = Result<RecordView<'a>, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining <= 0 {
            return None;
        }
        self.remaining -= 1;
        match self.parse() {
            Some(view) => Some(Ok(view)),
            None => {
                self.remaining = 0;
                Some(Err(LogError::CorruptMessage(
                    "malformed record in a stored batch".into(),
                )))
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
        for view in RecordViews::new(records, header.record_count) {
            let view = view?;
            let offset = header
                .base_offset
                .saturating_add(i64::from(view.offset_delta));
            let timestamp = header.base_timestamp.saturating_add(view.timestamp_delta);
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

/// The records section of a batch as [`walk_records`] reads it: in place, or decompressed.
pub(super) trait RecordSource {
    /// The next byte; `None` at the end of the section.
    fn byte(&mut self) -> Result<Option<u8>, LogError>;
    /// Skips `n` bytes; false if the section ends first.
    fn skip(&mut self, n: u64) -> Result<bool, LogError>;
    /// True once every byte has been read.
    fn at_end(&mut self) -> Result<bool, LogError>;
    /// Whether a record of `len` bytes can possibly be read (fits what is left, or a cap).
    fn fits(&self, len: u64) -> Result<bool, LogError>;
}

/// An uncompressed records section, read in place.
pub(super) struct InPlace<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> InPlace<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        InPlace { buf, pos: 0 }
    }
}

impl RecordSource for InPlace<'_> {
    fn byte(&mut self) -> Result<Option<u8>, LogError> {
        let b = self.buf.get(self.pos).copied();
        self.pos += usize::from(b.is_some());
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<bool, LogError> {
        let left = (self.buf.len() - self.pos.min(self.buf.len())) as u64;
        if n > left {
            self.pos = self.buf.len();
            return Ok(false);
        }
        self.pos += n as usize;
        Ok(true)
    }

    fn at_end(&mut self) -> Result<bool, LogError> {
        Ok(self.pos >= self.buf.len())
    }

    fn fits(&self, len: u64) -> Result<bool, LogError> {
        Ok(len <= (self.buf.len() - self.pos.min(self.buf.len())) as u64)
    }
}

/// Reads the fields of one record at a time, each counted against the record's length.
struct Walker<'s, S> {
    src: &'s mut S,
    /// Index of the record being read, for error reports.
    index: i32,
    /// Bytes of the current record not read yet.
    left: u64,
}

impl<S: RecordSource> Walker<'_, S> {
    fn fail(&self, message: impl Into<String>) -> LogError {
        LogError::RecordError {
            index: self.index,
            message: message.into(),
        }
    }

    /// One zigzag varint of at most `max_bytes` bytes; `in_record` counts it against the
    /// current record's length.
    fn varlong(&mut self, max_bytes: u32, in_record: bool) -> Result<i64, LogError> {
        let mut raw: u64 = 0;
        for i in 0..max_bytes {
            if in_record {
                if self.left == 0 {
                    return Err(self.fail("record shorter than its fields"));
                }
                self.left -= 1;
            }
            let Some(byte) = self.src.byte()? else {
                return Err(self.fail("the records end inside a record"));
            };
            raw |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(self.fail("varint too long"))
    }

    fn varint(&mut self, in_record: bool) -> Result<i32, LogError> {
        let v = self.varlong(5, in_record)?;
        i32::try_from(v).map_err(|_| self.fail("varint out of range"))
    }

    /// Skips `n` bytes of the current record.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), LogError> {
        if n > self.left {
            return Err(self.fail(format!(
                "{what} of {n} bytes overruns its record ({} bytes left)",
                self.left
            )));
        }
        self.left -= n;
        if !self.src.skip(n)? {
            return Err(self.fail("the records end inside a record"));
        }
        Ok(())
    }

    /// A key, value or header length field, then skips the bytes; `-1` (null) is allowed
    /// when `nullable`.
    fn bytes_field(&mut self, nullable: bool, what: &str) -> Result<(), LogError> {
        match self.varint(true)? {
            -1 if nullable => Ok(()),
            len if len >= 0 => self.skip(len as u64, what),
            len => Err(self.fail(format!("invalid {what} length {len}"))),
        }
    }
}

/// Walks the `header.record_count` records of a produced batch (header already checked:
/// count positive, `lastOffsetDelta == recordCount - 1`) and requires the section to end there.
/// Returns the largest record timestamp, which is what the batch's maxTimestamp must say.
/// `require_key` names the partition of a compacted topic, where every record needs a key.
pub(super) fn walk_records<S: RecordSource>(
    src: &mut S,
    header: &BatchHeader,
    require_key: Option<&str>,
) -> Result<i64, LogError> {
    let mut w = Walker {
        src,
        index: 0,
        left: 0,
    };
    let mut max_timestamp = i64::MIN;
    for i in 0..header.record_count {
        w.index = i;
        if w.src.at_end()? {
            return Err(LogError::InvalidRecord(format!(
                "the batch declares {} records but holds {i}",
                header.record_count
            )));
        }
        let len = w.varint(false)?;
        let len = u64::try_from(len).map_err(|_| w.fail(format!("record length {len}")))?;
        if !w.src.fits(len)? {
            return Err(w.fail(format!("record of {len} bytes overruns the batch")));
        }
        w.left = len;
        w.skip(1, "attributes")?;
        let ts_delta = w.varlong(10, true)?;
        let timestamp = header
            .base_timestamp
            .checked_add(ts_delta)
            .ok_or_else(|| w.fail(format!("timestamp delta {ts_delta} overflows")))?;
        let offset_delta = w.varint(true)?;
        if offset_delta != i {
            return Err(w.fail(format!(
                "offset delta {offset_delta}, expected {i}: offsets inside a batch must be consecutive"
            )));
        }
        match (w.varint(true)?, require_key) {
            (-1, Some(partition)) => {
                return Err(w.fail(format!(
                "Compacted topic cannot accept message without key in topic partition {partition}."
            )))
            }
            (-1, None) => {}
            (len, _) if len >= 0 => w.skip(len as u64, "key")?,
            (len, _) => return Err(w.fail(format!("invalid key length {len}"))),
        }
        w.bytes_field(true, "value")?;
        let headers = w.varint(true)?;
        if headers < 0 {
            return Err(w.fail(format!("invalid header count {headers}")));
        }
        for _ in 0..headers {
            w.bytes_field(false, "header key")?;
            w.bytes_field(true, "header value")?;
        }
        if w.left != 0 {
            return Err(w.fail(format!("{} bytes left after the record's fields", w.left)));
        }
        max_timestamp = max_timestamp.max(timestamp);
    }
    if !w.src.at_end()? {
        return Err(LogError::InvalidRecord(format!(
            "more than the declared {} records in the batch",
            header.record_count
        )));
    }
    Ok(max_timestamp)
}
