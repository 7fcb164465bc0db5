//! Compressed batches checked on append, as Apache Kafka's LogValidator does: the records
//! section is decompressed (gzip, snappy raw or xerial-framed, lz4 frame, zstd) and the records
//! in it are walked, so a batch every consumer would fail on is refused instead of stored.
//!
//! The decompressed bytes are never kept: they stream through a reused 64 KiB window and each
//! record is checked as it passes, by the same walk as uncompressed records (`records.rs`).
//! At most `max(64 MiB, 64 x batch size)` bytes are decompressed (a decompression bomb is
//! refused once it passes that). A raw snappy block declares its decompressed length up
//! front; a length its compressed bytes cannot produce is refused before anything is
//! allocated for it.
//!
//! One decoder per batch, no allocation per record. The codec crates are the ones
//! `kafka_protocol` uses (its `Decompressor` API allocates the whole output, without a cap).
//!
//! The cleaner, which must rewrite the records of a stored batch, decompresses a whole batch
//! into a buffer ([`decompress_all`], under the same cap) and compresses the kept records with
//! the same codec and the same snappy framing ([`compress`]). lz4 is written as Kafka's own
//! writer does: independent blocks of at most 64 KiB and no content checksum, which every
//! Kafka client reads.

use std::cell::RefCell;
use std::io::{self, Read};

use super::batch::BatchHeader;
use super::error::LogError;
use super::records::{walk_records, RecordSource};

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
/// header), `batch_size` the whole batch's size; the header has been checked already. Returns
/// the largest record timestamp.
pub(super) fn validate(
    header: &BatchHeader,
    payload: &[u8],
    batch_size: usize,
    require_key: Option<&str>,
) -> Result<i64, LogError> {
    let cap = decompressed_cap(batch_size);
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => validate_with(header, payload, cap, &mut scratch, require_key),
        Err(_) => validate_with(header, payload, cap, &mut Scratch::default(), require_key),
    })
}

/// The most bytes a batch of `batch_size` bytes may decompress to.
pub(super) fn decompressed_cap(batch_size: usize) -> u64 {
    MIN_CAP.max(CAP_FACTOR.saturating_mul(batch_size as u64))
}

fn validate_with(
    header: &BatchHeader,
    payload: &[u8],
    cap: u64,
    scratch: &mut Scratch,
    require_key: Option<&str>,
) -> Result<i64, LogError> {
    let Scratch { window, snappy } = scratch;
    if window.len() != WINDOW {
        window.resize(WINDOW, 0);
    }
    let result = match header.compression() {
        1 => walk_all(
            flate2::bufread::MultiGzDecoder::new(payload),
            window,
            cap,
            (header, require_key),
            "gzip",
        ),
        2 => validate_snappy(payload, snappy, window, cap, (header, require_key)),
        3 => {
            let decoder = lz4::Decoder::new(payload).map_err(|e| corrupt(format!("lz4: {e}")))?;
            let mut stream = Stream::new(decoder, window, cap, "lz4");
            let max_timestamp = walk_records(&mut stream, header, require_key)?;
            // The lz4 reader ends quietly on a truncated frame: ask whether the frame ended.
            stream
                .src
                .finish()
                .1
                .map_err(|_| corrupt("lz4: truncated frame"))?;
            Ok(max_timestamp)
        }
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(payload)
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            walk_all(decoder, window, cap, (header, require_key), "zstd")
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
    (header, require_key): (&BatchHeader, Option<&str>),
    codec: &'static str,
) -> Result<i64, LogError> {
    walk_records(
        &mut Stream::new(src, window, cap, codec),
        header,
        require_key,
    )
}

/// Decompresses the records section `payload` of a batch compressed with `codec` into `out`
/// (cleared first), refusing more than `cap` bytes. Returns whether snappy data was
/// xerial-framed.
pub(super) fn decompress_all(
    codec: i16,
    payload: &[u8],
    cap: u64,
    out: &mut Vec<u8>,
) -> Result<bool, LogError> {
    out.clear();
    let read = |mut r: Box<dyn Read + '_>, out: &mut Vec<u8>, name: &str| {
        let mut limited = (&mut r).take(cap.saturating_add(1));
        limited
            .read_to_end(out)
            .map_err(|e| corrupt(format!("cannot decompress {name}: {e}")))?;
        if out.len() as u64 > cap {
            return Err(bomb(cap));
        }
        Ok(())
    };
    match codec {
        1 => read(
            Box::new(flate2::bufread::MultiGzDecoder::new(payload)),
            out,
            "gzip",
        )?,
        2 if payload.len() >= XERIAL_HEADER && payload.starts_with(XERIAL_MAGIC) => {
            let mut block = Vec::new();
            let reader = Xerial {
                input: payload.get(XERIAL_HEADER..).unwrap_or_default(),
                block: &mut block,
                pos: 0,
                cap,
            };
            read(Box::new(reader), out, "snappy")?;
            return Ok(true);
        }
        2 => decompress_snappy_block(payload, out, cap)?,
        3 => {
            let decoder = lz4::Decoder::new(payload).map_err(|e| corrupt(format!("lz4: {e}")))?;
            read(Box::new(decoder), out, "lz4")?;
        }
        4 => {
            let decoder = zstd::stream::read::Decoder::with_buffer(payload)
                .map_err(|e| corrupt(format!("zstd: {e}")))?;
            read(Box::new(decoder), out, "zstd")?;
        }
        other => {
            return Err(LogError::InvalidRecord(format!(
                "unknown compression codec {other}"
            )))
        }
    }
    Ok(false)
}

/// Bytes of uncompressed data per xerial snappy block, as snappy-java writes them.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compresses `records` with `codec` (xerial-framed snappy when `xerial`) onto `out`.
pub(super) fn compress(
    codec: i16,
    xerial: bool,
    records: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), LogError> {
    let failed = |name: &str, e: &dyn std::fmt::Display| {
        LogError::Io(io::Error::other(format!(
            "cannot compress with {name}: {e}"
        )))
    };
    match codec {
        1 => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            io::Write::write_all(&mut encoder, records).map_err(|e| failed("gzip", &e))?;
            encoder.finish().map_err(|e| failed("gzip", &e))?;
        }
        2 if xerial => {
            out.extend_from_slice(XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut encoder = snap::raw::Encoder::new();
            for chunk in records.chunks(XERIAL_BLOCK) {
                let block = encoder
                    .compress_vec(chunk)
                    .map_err(|e| failed("snappy", &e))?;
                let len = i32::try_from(block.len()).map_err(|e| failed("snappy", &e))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&block);
            }
        }
        2 => {
            let block = snap::raw::Encoder::new()
                .compress_vec(records)
                .map_err(|e| failed("snappy", &e))?;
            out.extend_from_slice(&block);
        }
        3 => {
            let mut encoder = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(out)
                .map_err(|e| failed("lz4", &e))?;
            io::Write::write_all(&mut encoder, records).map_err(|e| failed("lz4", &e))?;
            let (_, finished) = encoder.finish();
            finished.map_err(|e| failed("lz4", &e))?;
        }
        4 => {
            let mut encoder =
                zstd::stream::write::Encoder::new(out, zstd::DEFAULT_COMPRESSION_LEVEL)
                    .map_err(|e| failed("zstd", &e))?;
            io::Write::write_all(&mut encoder, records).map_err(|e| failed("zstd", &e))?;
            encoder.finish().map_err(|e| failed("zstd", &e))?;
        }
        other => {
            return Err(LogError::InvalidRecord(format!(
                "unknown compression codec {other}"
            )))
        }
    }
    Ok(())
}

/// Snappy as the Java client writes it (xerial framing: a 16-byte header, then blocks of
/// i32 length + raw snappy), or raw snappy when the magic is absent, like snappy-java.
fn validate_snappy(
    payload: &[u8],
    block: &mut Vec<u8>,
    window: &mut [u8],
    cap: u64,
    header: (&BatchHeader, Option<&str>),
) -> Result<i64, LogError> {
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

/// The most bytes one byte of a raw snappy block can expand to: its densest element is a
/// 3-byte copy of 64 bytes.
const SNAPPY_MAX_EXPANSION: u64 = 22;

/// Decompresses one raw snappy block into `out` (resized to fit), refusing more than `cap`.
fn decompress_snappy_block(input: &[u8], out: &mut Vec<u8>, cap: u64) -> Result<(), LogError> {
    let len = snap::raw::decompress_len(input).map_err(|e| corrupt(format!("snappy: {e}")))?;
    if len as u64 > cap {
        return Err(bomb(cap));
    }
    if len as u64 > (input.len() as u64).saturating_mul(SNAPPY_MAX_EXPANSION) {
        return Err(corrupt(format!(
            "snappy: a block of {} bytes cannot hold the {len} bytes it declares",
            input.len()
        )));
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
}

impl<R: Read> RecordSource for Stream<'_, R> {
    fn byte(&mut self) -> Result<Option<u8>, LogError> {
        if self.pos >= self.end && !self.refill()? {
            return Ok(None);
        }
        let b = self.window.get(self.pos).copied();
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<bool, LogError> {
        let mut n = n;
        while n > 0 {
            if self.pos >= self.end && !self.refill()? {
                return Ok(false);
            }
            let step = n.min((self.end - self.pos) as u64);
            self.pos += step as usize;
            n -= step;
        }
        Ok(true)
    }

    fn at_end(&mut self) -> Result<bool, LogError> {
        Ok(self.pos >= self.end && !self.refill()?)
    }

    fn fits(&self, len: u64) -> Result<bool, LogError> {
        if len > self.cap {
            return Err(bomb(self.cap));
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snappy_block_declaring_more_than_its_bytes_can_hold_allocates_nothing() {
        // A raw snappy block whose length preamble says 60 MiB, followed by a few bytes.
        let mut block = Vec::new();
        let mut len: u32 = 60 << 20;
        while len >= 0x80 {
            block.push((len as u8) | 0x80);
            len >>= 7;
        }
        block.push(len as u8);
        block.extend_from_slice(&[0x00, b'x', 0x00, b'y']);
        let mut out = Vec::new();
        let err = decompress_snappy_block(&block, &mut out, 64 << 20).unwrap_err();
        assert!(matches!(err, LogError::CorruptMessage(_)), "{err:?}");
        assert_eq!(out.capacity(), 0, "allocated for the declared length");
        // A block that really expands that much is still accepted.
        let big = vec![7u8; 1 << 20];
        let compressed = snap::raw::Encoder::new().compress_vec(&big).unwrap();
        decompress_snappy_block(&compressed, &mut out, 64 << 20).unwrap();
        assert_eq!(out, big);
    }
}
