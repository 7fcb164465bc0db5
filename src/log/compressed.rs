//! Compressed batches checked on append, as Apache Kafka's LogValidator does: the records
//! section is decompressed (gzip, snappy raw or xerial-framed, lz4 frame, zstd) and the records
//! in it are walked, so a batch every consumer would fail on is refused instead of stored.
//!
//! The decompressed bytes are never kept: they stream through a reused 64 KiB window and each
//! record is checked as it passes (record layout in `records.rs`): its length, attributes,
//! timestamp and offset deltas, key, value and header lengths must exactly fill the record;
//! offset deltas must increase and end at `lastOffsetDelta`; exactly `recordCount` records
//! must fill the stream. At most `max(64 MiB, 64 x batch size)` bytes are decompressed
//! (a decompression bomb is refused once it passes that).
//!
//! One decoder per batch, no allocation per record. The codec crates are the ones
//! `kafka_protocol` uses (its `Decompressor` API allocates the whole output, without a cap).

use std::cell::RefCell;
use std::io::{self, Read};

use super::batch::BatchHeader;
use super::error::LogError;

/// Decompressed bytes allowed per batch: at least this much...
const MIN_CAP: u64 = 64 << 20;
/// ...or this many times the compressed batch size.
const CAP_FACTOR: u64 = 64;
/// Size of the window the decompressed stream is read through.
const WINDOW: usize = 64 * 1024;
/// A thread keeps a snappy block buffer up to this size between batches.
const KEEP_SNAPPY: usize = 4 << 20;
/// The xerial snappy-java stream header starts with this magic (then version and compat i32).
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER: usize = 16;

#[derive(Default)]
struct Scratch {
    window: Vec<u8>,
    snappy: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn corrupt(msg: impl Into<String>) -> LogError {
    LogError::CorruptMessage(msg.into())
}

/// Checks the records of a compressed batch. `payload` is the records section (after the
/// header), `batch_size` the whole batch's size; the header has been checked already.
pub(super) fn validate(
    header: &BatchHeader,
    payload: &[u8],
    batch_size: usize,
) -> Result<(), LogError> {
    let cap = MIN_CAP.max(CAP_FACTOR.saturating_mul(batch_size as u64));
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => validate_with(header, payload, cap, &mut scratch),
        Err(_) => validate_with(header, payload, cap, &mut Scratch::default()),
    })
}

fn validate_with(
    header: &BatchHeader,
    payload: &[u8],
    cap: u64,
    scratch: &mut Scratch,
) -> Result<(), LogError> {
    let Scratch { window, snappy } = scratch;
    if window.len() != WINDOW {
        window.resize(WINDOW, 0);
    }
    let result = match header.compression() {
        1 => walk_all(
            flate2::bufread::MultiGzDecoder::new(payload),
            window,
            cap,
            header,
            "gzip",
        ),
        2 => validate_snappy(payload, snappy, window, cap, header),
        3 => {
            let decoder = lz4::Decoder::new(payload).map_err(|e| corrupt(format!("lz4: {e}")))?;
            let mut stream = Stream::new(decoder, window, cap, "lz4");
            walk(&mut stream, header)?;
            // The lz4 reader ends quietly on a truncated frame: ask whether the frame ended.
            stream
                .src
                .finish()
                .1
                .map_err(|_| corrupt("lz4: truncated frame"))
        }
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(payload)
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            walk_all(decoder, window, cap, header, "zstd")
        }
        other => Err(LogError::InvalidRecord(format!(
            "unknown compression codec {other}"
        ))),
    };
    if snappy.capacity() > KEEP_SNAPPY {
        *snappy = Vec::new();
    }
    result
}

fn walk_all<R: Read>(
    src: R,
    window: &mut [u8],
    cap: u64,
    header: &BatchHeader,
    codec: &'static str,
) -> Result<(), LogError> {
    walk(&mut Stream::new(src, window, cap, codec), header)
}

/// Snappy as the Java client writes it (xerial framing: a 16-byte header, then blocks of
/// i32 length + raw snappy), or raw snappy when the magic is absent, like snappy-java.
fn validate_snappy(
    payload: &[u8],
    block: &mut Vec<u8>,
    window: &mut [u8],
    cap: u64,
    header: &BatchHeader,
) -> Result<(), LogError> {
    if payload.len() >= XERIAL_HEADER && payload.starts_with(XERIAL_MAGIC) {
        block.clear(); // it holds the last batch's final block
        let reader = Xerial {
            input: payload.get(XERIAL_HEADER..).unwrap_or_default(),
            block,
            pos: 0,
            cap,
        };
        return walk_all(reader, window, cap, header, "snappy");
    }
    decompress_snappy_block(payload, block, cap)?;
    walk_all(block.as_slice(), window, cap, header, "snappy")
}

/// Decompresses one raw snappy block into `out` (resized to fit), refusing more than `cap`.
fn decompress_snappy_block(input: &[u8], out: &mut Vec<u8>, cap: u64) -> Result<(), LogError> {
    let len = snap::raw::decompress_len(input).map_err(|e| corrupt(format!("snappy: {e}")))?;
    if len as u64 > cap {
        return Err(bomb(cap));
    }
    out.resize(len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(input, out)
        .map_err(|e| corrupt(format!("snappy: {e}")))?;
    out.truncate(written);
    Ok(())
}

fn bomb(cap: u64) -> LogError {
    corrupt(format!("records decompress to more than {cap} bytes"))
}

/// A xerial-framed snappy stream, decompressed one block at a time.
struct Xerial<'a> {
    input: &'a [u8],
    block: &'a mut Vec<u8>,
    pos: usize,
    cap: u64,
}

impl Read for Xerial<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.block.len() {
            let Some((len, rest)) = self.input.split_first_chunk::<4>() else {
                if self.input.is_empty() {
                    return Ok(0);
                }
                return Err(invalid("truncated block length"));
            };
            let len = u32::from_be_bytes(*len) as usize;
            let (compressed, rest) = rest
                .split_at_checked(len)
                .ok_or_else(|| invalid("truncated block"))?;
            self.input = rest;
            decompress_snappy_block(compressed, self.block, self.cap)
                .map_err(|e| invalid(&e.to_string()))?;
            self.pos = 0;
        }
        let available = self.block.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// The decompressed stream, read through `window`, counting bytes against the cap.
struct Stream<'w, R> {
    src: R,
    window: &'w mut [u8],
    pos: usize,
    end: usize,
    total: u64,
    cap: u64,
    codec: &'static str,
    /// Bytes of the current record not read yet.
    left: u64,
}

impl<'w, R: Read> Stream<'w, R> {
    fn new(src: R, window: &'w mut [u8], cap: u64, codec: &'static str) -> Self {
        Stream {
            src,
            window,
            pos: 0,
            end: 0,
            total: 0,
            cap,
            codec,
            left: 0,
        }
    }

    /// Reads more into the window; false at the end of the stream.
    fn refill(&mut self) -> Result<bool, LogError> {
        let n = self
            .src
            .read(self.window)
            .map_err(|e| corrupt(format!("cannot decompress {}: {e}", self.codec)))?;
        self.total += n as u64;
        if self.total > self.cap {
            return Err(bomb(self.cap));
        }
        self.pos = 0;
        self.end = n;
        Ok(n > 0)
    }

    /// True once every decompressed byte has been read.
    fn at_end(&mut self) -> Result<bool, LogError> {
        Ok(self.pos >= self.end && !self.refill()?)
    }

    #[inline]
    fn byte(&mut self) -> Result<Option<u8>, LogError> {
        if self.pos >= self.end && !self.refill()? {
            return Ok(None);
        }
        let b = self.window.get(self.pos).copied();
        self.pos += 1;
        Ok(b)
    }

    /// One zigzag varint of at most `max_bytes` bytes; `in_record` counts it against the
    /// current record's length.
    fn varlong(&mut self, max_bytes: u32, in_record: bool) -> Result<i64, LogError> {
        let mut raw: u64 = 0;
        for i in 0..max_bytes {
            if in_record {
                if self.left == 0 {
                    return Err(corrupt("record shorter than its fields"));
                }
                self.left -= 1;
            }
            let Some(byte) = self.byte()? else {
                return Err(corrupt(format!(
                    "{} stream ends inside a record",
                    self.codec
                )));
            };
            raw |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(corrupt("varint too long"))
    }

    fn varint(&mut self, in_record: bool) -> Result<i32, LogError> {
        let v = self.varlong(5, in_record)?;
        i32::try_from(v).map_err(|_| corrupt("varint out of range"))
    }

    /// Skips `n` bytes of the current record.
    fn skip(&mut self, n: u64) -> Result<(), LogError> {
        if n > self.left {
            return Err(corrupt("field overruns its record"));
        }
        self.left -= n;
        let mut n = n;
        while n > 0 {
            if self.pos >= self.end && !self.refill()? {
                return Err(corrupt(format!(
                    "{} stream ends inside a record",
                    self.codec
                )));
            }
            let step = n.min((self.end - self.pos) as u64);
            self.pos += step as usize;
            n -= step;
        }
        Ok(())
    }

    /// A key, value or header length field, then skips the bytes; `-1` (null) is allowed
    /// when `nullable`.
    fn bytes_field(&mut self, nullable: bool, what: &str) -> Result<(), LogError> {
        let len = self.varint(true)?;
        match len {
            -1 if nullable => Ok(()),
            l if l >= 0 => self.skip(l as u64),
            l => Err(corrupt(format!("invalid {what} length {l}"))),
        }
    }
}

/// Walks `header.record_count` records through the stream and requires it to end there.
fn walk<R: Read>(s: &mut Stream<'_, R>, header: &BatchHeader) -> Result<(), LogError> {
    let mut last_delta: i64 = -1;
    for i in 0..header.record_count {
        if s.at_end()? {
            return Err(corrupt(format!(
                "batch declares {} records but holds {i}",
                header.record_count
            )));
        }
        let len = s.varint(false)?;
        s.left = u64::try_from(len).map_err(|_| corrupt(format!("record length {len}")))?;
        if s.left > s.cap {
            return Err(bomb(s.cap));
        }
        s.skip(1)?; // attributes
        s.varlong(10, true)?; // timestampDelta
        let delta = i64::from(s.varint(true)?);
        if delta <= last_delta || delta > i64::from(header.last_offset_delta) {
            return Err(corrupt(format!(
                "record offset delta {delta} after {last_delta} (lastOffsetDelta {})",
                header.last_offset_delta
            )));
        }
        last_delta = delta;
        s.bytes_field(true, "key")?;
        s.bytes_field(true, "value")?;
        let headers = s.varint(true)?;
        if headers < 0 {
            return Err(corrupt(format!("invalid header count {headers}")));
        }
        for _ in 0..headers {
            s.bytes_field(false, "header key")?;
            s.bytes_field(true, "header value")?;
        }
        if s.left != 0 {
            return Err(corrupt(format!("{} bytes left inside a record", s.left)));
        }
    }
    if !s.at_end()? {
        return Err(corrupt(format!(
            "more than the declared {} records",
            header.record_count
        )));
    }
    if last_delta != i64::from(header.last_offset_delta) {
        return Err(corrupt(format!(
            "last record offset delta {last_delta} but lastOffsetDelta {}",
            header.last_offset_delta
        )));
    }
    Ok(())
}
