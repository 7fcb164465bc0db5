//! [`PartitionLog`]: the log of one partition, a folder of segments keyed by base offset.
//!
//! Folder contents: `<baseOffset:020>.log` / `.index` / `.timeindex` per segment (formats in
//! `segment.rs`, `index.rs`, `time_index.rs`) and an optional `log-start-offset` checkpoint
//! (`checkpoint.rs`). The last segment is the active one; all appends go there.
//!
//! This file holds append and read; retention is in `retention.rs`, timestamp lookups in
//! `timestamps.rs`, opening in `recovery.rs`, transactions (markers, the last stable offset,
//! aborted transactions) in `transactions.rs`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use super::batch::{whole_batches_len, BatchHeader, HEADER_SIZE};
use super::checkpoint;
use super::cleaner;
use super::config::{LogConfig, TimestampType};
use super::control::Marker;
use super::error::LogError;
use super::producer_state::{Check, ProducerStates};
use super::read_buffers;
use super::recovery;
use super::segment::Segment;
use super::validate::validate_append;

/// Result of [`PartitionLog::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset of the first record of the first batch (for a duplicate: the original one).
    pub base_offset: i64,
    pub last_offset: i64,
    /// The time stamped on the batches with LogAppendTime, else -1.
    pub log_append_time_ms: i64,
    pub log_start_offset: i64,
    /// The whole append was a retried duplicate and was not written again.
    pub duplicate: bool,
}

/// A record found by timestamp: its offset and its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampLookup {
    pub offset: i64,
    pub timestamp: i64,
}

/// Byte ranges of segment files that a read will copy: see [`PartitionLog::plan_read`].
#[derive(Default)]
pub struct ReadPlan {
    parts: Vec<ReadPart>,
    len: usize,
}

struct ReadPart {
    file: Arc<File>,
    position: u64,
    len: usize,
}

impl ReadPlan {
    /// Bytes the read will copy (whole batches of them are kept).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the planned ranges into one buffer (recycled, not zeroed first), keeping whole
    /// batches only: a range cut short of a batch boundary ends the read there. Blocking.
    pub fn read(self) -> Result<Bytes, LogError> {
        let mut buf = read_buffers::take(self.len);
        for part in &self.parts {
            let filled = buf.len();
            read_exact_at_uninit(&part.file, &mut buf, part.len, part.position)?;
            let whole = whole_batches_len(buf.get(filled..).unwrap_or_default());
            buf.truncate(filled + whole);
            if whole < part.len {
                break;
            }
        }
        Ok(read_buffers::freeze(buf))
    }
}

/// Appends exactly `len` bytes read from `file` at `position` to `buf`, reading straight into
/// its spare capacity (no zero-fill first).
fn read_exact_at_uninit(
    file: &File,
    buf: &mut Vec<u8>,
    len: usize,
    mut position: u64,
) -> Result<(), LogError> {
    buf.reserve(len);
    let end = buf.len() + len;
    while buf.len() < end {
        let left = end - buf.len();
        let spare = buf.spare_capacity_mut();
        let want = left.min(spare.len());
        let offset = libc::off_t::try_from(position)
            .map_err(|_| LogError::CorruptMessage(format!("file position {position}")))?;
        // SAFETY: `spare` is writable memory of at least `want` bytes owned by `buf`; pread
        // writes at most `want` bytes into it, and only the bytes it reports are then
        // marked initialised.
        let n = unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), want, offset) };
        match usize::try_from(n) {
            Ok(0) => return Err(LogError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => {
                // SAFETY: pread initialised the first `n` (<= want) spare bytes.
                unsafe { buf.set_len(buf.len() + n) };
                position += n as u64;
            }
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(LogError::Io(e));
                }
            }
        }
    }
    Ok(())
}

/// The segment log of one partition. Not thread-safe by itself: the owner serialises writers
/// (`&mut self`); reads need only `&self` (positional reads).
pub struct PartitionLog {
    pub(super) dir: PathBuf,
    pub(super) config: LogConfig,
    /// Never empty; the last entry is the active segment.
    pub(super) segments: BTreeMap<i64, Segment>,
    pub(super) log_start_offset: i64,
    pub(super) producers: ProducerStates,
    /// The cleaner's checkpoint (`cleaner/state.rs`); default until a pass or the file says.
    pub(super) cleaner_state: cleaner::Checkpoint,
    /// Groups of a committed cleaning swap whose files are not all in place yet.
    pub(super) pending_swap: Option<Vec<cleaner::Group>>,
    /// Records appended since the last fsync.
    unflushed_records: u64,
}

impl PartitionLog {
    /// Opens (creating the folder if missing) and recovers the log in `dir`: see `recovery.rs`.
    pub fn open(dir: PathBuf, config: LogConfig) -> Result<PartitionLog, LogError> {
        let loaded = recovery::load(&dir, &config)?;
        Ok(PartitionLog {
            dir,
            config,
            segments: loaded.segments,
            log_start_offset: loaded.log_start_offset,
            producers: loaded.producers,
            cleaner_state: loaded.cleaner_state,
            pending_swap: None,
            unflushed_records: 0,
        })
    }

    /// Validates every batch of `records` (the raw records of one produce partition), then
    /// assigns offsets and appends them with one vectored write. Nothing is written if any
    /// batch is invalid. A retried duplicate of an idempotent producer's batch returns its
    /// original offsets with `duplicate: true`.
    pub fn append(&mut self, records: Bytes, now_ms: i64) -> Result<AppendOutcome, LogError> {
        let compacted = self.config.compact.then(|| self.partition_name());
        let batches = validate_append(&records, &self.config, compacted.as_deref())?;
        let headers: Vec<BatchHeader> = batches.iter().map(|(h, _)| *h).collect();
        let checks = self.producers.check(&headers)?;
        if let Some(outcome) = self.duplicate_outcome(&checks)? {
            return Ok(outcome);
        }
        self.write(&records, &batches, now_ms, None)
    }

    /// Writes `batches` (validated, in `records`) at the log end: offsets assigned, the
    /// active segment rolled first if needed, producer state (or, for a marker, the
    /// transaction it closes) recorded after the write.
    pub(super) fn write(
        &mut self,
        records: &Bytes,
        batches: &[(BatchHeader, std::ops::Range<usize>)],
        now_ms: i64,
        marker: Option<&Marker>,
    ) -> Result<AppendOutcome, LogError> {
        // Segment positions are u32. (An append larger than segment_bytes is accepted: it
        // gets a segment of its own.)
        if records.len() as u64 > u64::from(u32::MAX) {
            return Err(LogError::MessageTooLarge {
                size: records.len(),
                max: u32::MAX as usize,
            });
        }
        let log_append_time = self.config.timestamp_type == TimestampType::LogAppendTime;
        let base_offset = self.log_end_offset();
        let mut next = base_offset;
        let mut new_headers: Vec<[u8; HEADER_SIZE]> = Vec::with_capacity(batches.len());
        let mut finals: Vec<BatchHeader> = Vec::with_capacity(batches.len());
        let mut record_count: u64 = 0;
        for (header, range) in batches {
            let bytes = records.get(range.clone()).unwrap_or_default();
            let (raw, fin) = header.stored_header(bytes, next, log_append_time, now_ms)?;
            next = fin
                .last_offset()
                .checked_add(1)
                .ok_or_else(|| LogError::InvalidRecord("offset overflow".into()))?;
            record_count += u64::try_from(fin.record_count).unwrap_or(0);
            new_headers.push(raw);
            finals.push(fin);
        }
        let last_offset = next - 1;
        if last_offset - base_offset > i64::from(u32::MAX) {
            return Err(LogError::InvalidRecord(
                "append spans more offsets than a segment can index".into(),
            ));
        }
        self.maybe_roll(records.len() as u64, last_offset, now_ms)?;

        let mut slices = Vec::with_capacity(batches.len() * 2);
        for (raw, (_, range)) in new_headers.iter().zip(batches) {
            slices.push(IoSlice::new(raw));
            let rest = records.get(range.start + HEADER_SIZE..range.end);
            slices.push(IoSlice::new(rest.unwrap_or_default()));
        }
        let interval = self.config.index_interval_bytes;
        self.active_mut()?
            .append(&mut slices, &finals, interval, now_ms)?;
        for fin in &finals {
            match marker {
                Some(marker) => self.record_marker(fin, marker, now_ms)?,
                None => self.producers.record(fin, now_ms),
            }
        }
        self.unflushed_records = self.unflushed_records.saturating_add(record_count);
        if self.unflushed_records >= self.config.flush_interval_messages {
            self.flush()?;
        }
        Ok(AppendOutcome {
            base_offset,
            last_offset,
            log_append_time_ms: if log_append_time { now_ms } else { -1 },
            log_start_offset: self.log_start_offset,
            duplicate: false,
        })
    }

    /// `Some` when every batch is a duplicate; an error when duplicates and new batches mix.
    fn duplicate_outcome(&self, checks: &[Check]) -> Result<Option<AppendOutcome>, LogError> {
        let mut dups = checks.iter().filter_map(|c| match c {
            Check::Duplicate(meta) => Some(*meta),
            Check::Append => None,
        });
        let Some(first) = dups.next() else {
            return Ok(None);
        };
        let last = dups.next_back().unwrap_or(first);
        if checks.contains(&Check::Append) {
            return Err(LogError::OutOfOrderSequence(
                "an append mixes retried duplicates with new batches".into(),
            ));
        }
        let log_append_time = self.config.timestamp_type == TimestampType::LogAppendTime;
        Ok(Some(AppendOutcome {
            base_offset: first.base_offset,
            last_offset: last.last_offset,
            log_append_time_ms: if log_append_time {
                first.max_timestamp
            } else {
                -1
            },
            log_start_offset: self.log_start_offset,
            duplicate: true,
        }))
    }

    /// Rolls a new segment at the log end if [`PartitionLog::roll_needed`].
    fn maybe_roll(
        &mut self,
        append_len: u64,
        last_offset: i64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        if self.roll_needed(append_len, last_offset, now_ms)? {
            self.roll()?;
        }
        Ok(())
    }

    /// Whether the active segment is non-empty and would grow past `segment_bytes`, is older
    /// than `segment_ms`, or could not index `last_offset`.
    fn roll_needed(
        &self,
        append_len: u64,
        last_offset: i64,
        now_ms: i64,
    ) -> Result<bool, LogError> {
        let active = self.active()?;
        if active.is_empty() {
            return Ok(false);
        }
        let limit = self.config.segment_bytes.min(u64::from(u32::MAX));
        let too_big = active.size().saturating_add(append_len) > limit;
        let too_old = active
            .rolling_base_ms()
            .is_some_and(|t| now_ms.saturating_sub(t) > self.config.segment_ms);
        let too_far = last_offset.saturating_sub(active.base_offset()) > i64::from(u32::MAX);
        Ok(too_big || too_old || too_far)
    }

    /// fsyncs the active segment, starts a new one at the log end and seals the old one. A roll
    /// that fails leaves no new segment file behind (appends carry on in the active segment,
    /// and a later roll tries again); should removing it fail too, opening the log removes it.
    pub(super) fn roll(&mut self) -> Result<(), LogError> {
        let new_base = self.log_end_offset();
        self.active_mut()?.sync_all()?;
        let segment = Segment::create(&self.dir, new_base)?;
        if let Err(e) = checkpoint::sync_dir(&self.dir) {
            if let Err(cleanup) = segment.delete_files() {
                tracing::warn!(dir = %self.dir.display(), base_offset = new_base, error = %cleanup,
                    "could not remove the segment of a failed roll; opening the log removes it");
            }
            return Err(e.into());
        }
        let sealed = self.active_mut()?;
        sealed.seal();
        if let Err(e) = sealed.persist_indexes() {
            // Indexes are rebuilt from the log when it is opened.
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write index");
        }
        self.segments.insert(new_base, segment);
        self.unflushed_records = 0;
        tracing::debug!(dir = %self.dir.display(), base_offset = new_base, "rolled segment");
        Ok(())
    }

    pub(super) fn active(&self) -> Result<&Segment, LogError> {
        self.segments
            .values()
            .next_back()
            .ok_or_else(|| LogError::InvalidOffset("log has no segment".into()))
    }

    pub(super) fn active_mut(&mut self) -> Result<&mut Segment, LogError> {
        self.segments
            .values_mut()
            .next_back()
            .ok_or_else(|| LogError::InvalidOffset("log has no segment".into()))
    }

    /// Whole batches from the one containing `offset`, up to `max_bytes` in total, except that
    /// the first batch is returned whole however large (KIP-74). Empty at the log end. May
    /// span segments; each contiguous range is read with a single positional read into one
    /// buffer.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, LogError> {
        self.plan_read(offset, max_bytes, i64::MAX)?.read()
    }

    /// Where [`PartitionLog::read`] would read: found under the owner's lock, read after it
    /// is released ([`ReadPlan::read`]), so appends need not wait for the copy. Nothing at or
    /// after `upper` is read (a read_committed fetch passes the last stable offset, which is
    /// always a batch boundary); from `upper` on the plan is empty.
    pub fn plan_read(
        &self,
        offset: i64,
        max_bytes: usize,
        upper: i64,
    ) -> Result<ReadPlan, LogError> {
        self.plan(offset, max_bytes, upper, true)
    }

    /// As [`PartitionLog::plan_read`], but never beyond `max_bytes`: a first batch larger than
    /// that plans nothing (for the partitions of a fetch after the first one with data).
    pub fn plan_read_within(
        &self,
        offset: i64,
        max_bytes: usize,
        upper: i64,
    ) -> Result<ReadPlan, LogError> {
        self.plan(offset, max_bytes, upper, false)
    }

    fn plan(
        &self,
        offset: i64,
        max_bytes: usize,
        upper: i64,
        whole_first: bool,
    ) -> Result<ReadPlan, LogError> {
        let (log_start, log_end) = (self.log_start_offset, self.log_end_offset());
        if offset < log_start || offset > log_end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start,
                log_end,
            });
        }
        let mut plan = ReadPlan::default();
        let upper = upper.min(log_end);
        if offset >= upper {
            return Ok(plan);
        }
        let from = self.segment_key_for(offset);
        let mut start = None;
        for (&base, seg) in self.segments.range(from..) {
            if let Some((pos, header)) = seg.locate(offset)? {
                start = Some((base, pos, header.size()));
                break;
            }
        }
        let Some((start_base, start_pos, first_size)) = start else {
            return Ok(plan);
        };
        if !whole_first && first_size > max_bytes {
            return Ok(plan);
        }
        let end = self.position_of(upper)?;
        // Bytes of segment `base` that lie before the end of the read.
        let end_in = |base: i64, seg: &Segment| match end {
            Some((end_base, end_pos)) if end_base == base => end_pos,
            Some((end_base, _)) if end_base < base => 0,
            _ => seg.size(),
        };
        let available: u64 = self
            .segments
            .range(start_base..)
            .map(|(&b, s)| {
                let from_pos = if b == start_base { start_pos } else { 0 };
                end_in(b, s).saturating_sub(from_pos)
            })
            .sum();
        let cap = usize::try_from(available)
            .unwrap_or(usize::MAX)
            .min(max_bytes.max(first_size));
        let mut planned = 0usize;
        for (&base, seg) in self.segments.range(start_base..) {
            if planned == cap {
                break;
            }
            let pos = if base == start_base { start_pos } else { 0 };
            let left_in_seg =
                usize::try_from(end_in(base, seg).saturating_sub(pos)).unwrap_or(usize::MAX);
            let want = (cap - planned).min(left_in_seg);
            if want == 0 {
                continue;
            }
            plan.parts.push(ReadPart {
                file: seg.shared_file(),
                position: pos,
                len: want,
            });
            planned += want;
        }
        plan.len = planned;
        Ok(plan)
    }

    /// (segment, position) where the batch holding `offset` starts; `None` at the log end.
    fn position_of(&self, offset: i64) -> Result<Option<(i64, u64)>, LogError> {
        if offset >= self.log_end_offset() {
            return Ok(None);
        }
        for (&base, seg) in self.segments.range(self.segment_key_for(offset)..) {
            if let Some((pos, _)) = seg.locate(offset)? {
                return Ok(Some((base, pos)));
            }
        }
        Ok(None)
    }

    /// Key of the segment that would hold `offset` (the first segment if none starts below it).
    pub(super) fn segment_key_for(&self, offset: i64) -> i64 {
        self.segments
            .range(..=offset)
            .next_back()
            .or_else(|| self.segments.iter().next())
            .map_or(offset, |(&k, _)| k)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.segments
            .values()
            .next_back()
            .map_or(self.log_start_offset, Segment::next_offset)
    }

    /// Bytes of all segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    /// Number of segments, the active one included.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The partition's folder.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// `<topic>-<partition>`, as Kafka names a partition in messages: the folder's name.
    pub(super) fn partition_name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Writes pending index entries and fsyncs the active segment.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.active_mut()?.flush()?;
        self.unflushed_records = 0;
        Ok(())
    }

    /// Closes the log and removes its folder with everything in it. (No fsync first: the
    /// files are about to disappear.)
    pub fn delete(mut self) -> Result<(), LogError> {
        let dir = std::mem::take(&mut self.dir);
        self.segments.clear();
        drop(self);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

impl Drop for PartitionLog {
    /// Best effort: write index entries still only in memory (opening rebuilds them anyway).
    fn drop(&mut self) {
        for seg in self.segments.values_mut() {
            if let Err(e) = seg.persist_indexes() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not write index");
            }
        }
    }
}
