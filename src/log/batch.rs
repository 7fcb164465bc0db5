//! Record batch (magic 2) header: parsing and validation. The broker never re-encodes a batch;
//! it reads the 61-byte header, checks it, and stores the bytes as they came.
//!
//! Layout, all big-endian (offsets in bytes from the start of the batch):
//!
//! ```text
//!  @0  baseOffset            i64   written by the log when offsets are assigned
//!  @8  batchLength           i32   bytes after this field: total size = 12 + batchLength
//! @12  partitionLeaderEpoch  i32
//! @16  magic                 i8    must be 2 (0 and 1 are legacy message sets)
//! @17  crc                   u32   CRC-32C (Castagnoli) of the bytes from @21 to the end
//! @21  attributes            i16   bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
//!                                  4 zstd), bit 3 timestamp type (1 = LogAppendTime),
//!                                  bit 4 transactional, bit 5 control
//! @23  lastOffsetDelta       i32
//! @27  baseTimestamp         i64
//! @35  maxTimestamp          i64
//! @43  producerId            i64
//! @51  producerEpoch         i16
//! @53  baseSequence          i32
//! @57  recordCount           i32
//! @61  records ...
//! ```
//!
//! baseOffset, batchLength and partitionLeaderEpoch are outside the CRC, so the broker can write
//! the base offset without recomputing it.

use super::error::LogError;

/// Size of the fixed batch header, up to the first record.
pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;
/// The only record batch format this log stores.
pub const MAGIC_V2: i8 = 2;

pub(super) const MAGIC_POS: usize = 16;
const CRC_POS: usize = 17;
pub(super) const ATTRIBUTES_POS: usize = 21;
const MAX_TIMESTAMP_POS: usize = 35;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;
/// Smallest legal `batchLength`: the header after the length field, with no records.
const MIN_BATCH_LENGTH: i32 = (HEADER_SIZE - LOG_OVERHEAD) as i32;

/// The decoded fixed header of one record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = buf.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

impl BatchHeader {
    /// Parses the header at the start of `buf`, which must hold at least [`HEADER_SIZE`] bytes.
    /// Checks only what the header alone can tell: magic 2 and a sane `batchLength`. Whether
    /// the whole batch is present and its CRC are checked by [`BatchHeader::verify`].
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, LogError> {
        let Some(&magic) = buf.get(MAGIC_POS) else {
            return Err(LogError::CorruptMessage(format!(
                "{} bytes are too short for a record batch",
                buf.len()
            )));
        };
        let magic = i8::from_be_bytes([magic]);
        if magic != MAGIC_V2 {
            return Err(LogError::UnsupportedMagic(magic));
        }
        if buf.len() < HEADER_SIZE {
            return Err(LogError::CorruptMessage(format!(
                "{} bytes are too short for a record batch header",
                buf.len()
            )));
        }
        let header = BatchHeader {
            base_offset: i64::from_be_bytes(be(buf, 0)),
            batch_length: i32::from_be_bytes(be(buf, 8)),
            partition_leader_epoch: i32::from_be_bytes(be(buf, 12)),
            magic,
            crc: u32::from_be_bytes(be(buf, CRC_POS)),
            attributes: i16::from_be_bytes(be(buf, ATTRIBUTES_POS)),
            last_offset_delta: i32::from_be_bytes(be(buf, 23)),
            base_timestamp: i64::from_be_bytes(be(buf, 27)),
            max_timestamp: i64::from_be_bytes(be(buf, MAX_TIMESTAMP_POS)),
            producer_id: i64::from_be_bytes(be(buf, 43)),
            producer_epoch: i16::from_be_bytes(be(buf, 51)),
            base_sequence: i32::from_be_bytes(be(buf, 53)),
            record_count: i32::from_be_bytes(be(buf, 57)),
        };
        if header.batch_length < MIN_BATCH_LENGTH {
            return Err(LogError::CorruptMessage(format!(
                "batch length {} is smaller than the header",
                header.batch_length
            )));
        }
        if header.last_offset_delta < 0 {
            return Err(LogError::CorruptMessage(format!(
                "negative lastOffsetDelta {}",
                header.last_offset_delta
            )));
        }
        Ok(header)
    }

    /// Checks that `batch` (exactly this batch's bytes, header included) is fully present and
    /// that its CRC matches.
    pub fn verify(&self, batch: &[u8]) -> Result<(), LogError> {
        if batch.len() != self.size() {
            return Err(LogError::CorruptMessage(format!(
                "batch declares {} bytes but {} are present",
                self.size(),
                batch.len()
            )));
        }
        let actual = batch.get(ATTRIBUTES_POS..).map(crc32c::crc32c).unwrap_or(0);
        if actual != self.crc {
            return Err(LogError::CorruptMessage(format!(
                "CRC mismatch: batch says {:#010x}, computed {actual:#010x}",
                self.crc
            )));
        }
        Ok(())
    }

    /// Total size of the batch in bytes, header included.
    pub fn size(&self) -> usize {
        // batch_length >= MIN_BATCH_LENGTH > 0 after parse, so the cast cannot wrap.
        LOG_OVERHEAD + usize::try_from(self.batch_length).unwrap_or(0)
    }

    /// Offset of the last record (`baseOffset + lastOffsetDelta`).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// Offset following this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd; others are invalid).
    pub fn compression(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Sequence number of the last record, wrapping from `i32::MAX` to 0 as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }

    /// The batch header as it will be stored: the assigned base offset, and a maxTimestamp
    /// that is true: the broker's time with the timestamp-type bit for LogAppendTime, else the
    /// largest record timestamp (`self` carries it, computed by validation). A CreateTime topic
    /// clears a LogAppendTime bit set by the client, as Kafka does. The CRC is recomputed only
    /// when attributes or maxTimestamp change.
    pub(super) fn stored_header(
        &self,
        batch: &[u8],
        base_offset: i64,
        log_append_time: bool,
        now_ms: i64,
    ) -> Result<([u8; HEADER_SIZE], BatchHeader), LogError> {
        let mut raw = [0u8; HEADER_SIZE];
        let src = batch
            .get(..HEADER_SIZE)
            .ok_or_else(|| LogError::CorruptMessage("short batch".into()))?;
        raw.copy_from_slice(src);
        raw[..8].copy_from_slice(&base_offset.to_be_bytes());
        let mut fin = *self;
        fin.base_offset = base_offset;
        let (attributes, max_ts) = if log_append_time {
            (self.attributes | TIMESTAMP_TYPE_BIT, now_ms)
        } else {
            (self.attributes & !TIMESTAMP_TYPE_BIT, self.max_timestamp)
        };
        let claimed_attributes = i16::from_be_bytes(be(&raw, ATTRIBUTES_POS));
        let claimed_max = i64::from_be_bytes(be(&raw, MAX_TIMESTAMP_POS));
        if attributes != claimed_attributes || max_ts != claimed_max {
            raw[ATTRIBUTES_POS..ATTRIBUTES_POS + 2].copy_from_slice(&attributes.to_be_bytes());
            raw[MAX_TIMESTAMP_POS..MAX_TIMESTAMP_POS + 8].copy_from_slice(&max_ts.to_be_bytes());
            let head_crc = crc32c::crc32c(&raw[ATTRIBUTES_POS..]);
            let crc = crc32c::crc32c_append(head_crc, batch.get(HEADER_SIZE..).unwrap_or_default());
            raw[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
            fin.crc = crc;
        }
        fin.attributes = attributes;
        fin.max_timestamp = max_ts;
        Ok((raw, fin))
    }
}

/// Length of the leading whole batches in `buf` (stops at a partial or malformed one).
pub(super) fn whole_batches_len(buf: &[u8]) -> usize {
    let mut pos = 0usize;
    while let Some(Ok(len)) = buf
        .get(pos + 8..pos + LOG_OVERHEAD)
        .map(<[u8; 4]>::try_from)
    {
        let len = i32::from_be_bytes(len);
        let Ok(len) = usize::try_from(len) else { break };
        let end = pos + LOG_OVERHEAD + len;
        if len < HEADER_SIZE - LOG_OVERHEAD || end > buf.len() {
            break;
        }
        pos = end;
    }
    pos
}

/// The offset after the last whole batch in `buf` (batches back to back, as a read returns
/// them); `None` when it holds no whole batch.
pub fn next_offset_after(buf: &[u8]) -> Option<i64> {
    let mut next = None;
    for batch in BatchIter::new(buf.get(..whole_batches_len(buf)).unwrap_or_default()) {
        let Ok((header, _)) = batch else { break };
        next = Some(header.next_offset());
    }
    next
}

/// `seq + n` modulo `i32::MAX + 1`: Kafka's sequence numbers wrap to 0, never to negatives.
pub(super) fn increment_sequence(seq: i32, n: i32) -> i32 {
    let modulus = i64::from(i32::MAX) + 1;
    let sum = (i64::from(seq) + i64::from(n)).rem_euclid(modulus);
    i32::try_from(sum).unwrap_or(0)
}

/// Iterates over the record batches packed back to back in `buf`, yielding each header with
/// the batch's byte range. Stops with an error at the first malformed or truncated batch.
pub(super) struct BatchIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BatchIter<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        BatchIter { buf, pos: 0 }
    }
}

impl Iterator for BatchIter<'_> {
    type Item = Result<(BatchHeader, std::ops::Range<usize>), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty())?;
        let header = match BatchHeader::parse(rest) {
            Ok(h) => h,
            Err(e) => {
                self.pos = self.buf.len();
                return Some(Err(e));
            }
        };
        let start = self.pos;
        let end = start.saturating_add(header.size());
        if end > self.buf.len() {
            self.pos = self.buf.len();
            return Some(Err(LogError::CorruptMessage(format!(
                "batch declares {} bytes but only {} remain",
                header.size(),
                rest.len()
            ))));
        }
        self.pos = end;
        Some(Ok((header, start..end)))
    }
}
