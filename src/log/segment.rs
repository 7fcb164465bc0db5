//! One segment of a partition log: `<baseOffset:020>.log` with its `.index`, `.timeindex` and,
//! once a transaction is aborted in it, `.txnindex` (`txn_index.rs`).
//!
//! The `.log` file holds record batches back to back, byte for byte as produced except the
//! 8-byte baseOffset field, which the log writes when it assigns offsets (and, for
//! LogAppendTime topics, the maxTimestamp, the timestamp-type attribute bit and the CRC).
//! No header, no padding: the file size is the sum of the batch sizes. baseOffset in the file
//! name is the offset of the segment's first batch (or the offset the next append gets while
//! the segment is empty). Positions inside a segment fit in u32 and offsets are at most u32::MAX
//! above the base, so both fit the index formats; the partition rolls before either overflows.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};

use super::batch::{BatchHeader, HEADER_SIZE};
use super::error::LogError;
use super::faults::{self, Point};
use super::index::{self, OffsetEntry};
use super::index_file::EntryFile;
use super::time_index::{self, TimeEntry};
use super::txn_index::{AbortedTxn, TXN_INDEX_SUFFIX};

pub(super) const LOG_SUFFIX: &str = "log";
pub(super) const INDEX_SUFFIX: &str = "index";
pub(super) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// `<dir>/<base:020>.<suffix>`
pub(super) fn file_path(dir: &Path, base_offset: i64, suffix: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{suffix}"))
}

pub(super) struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    /// Shared with reads in flight (see [`Segment::shared_file`]).
    file: Arc<File>,
    /// Bytes of whole, valid batches; the file is never longer once an append has returned.
    size: u64,
    next_offset: i64,
    index: EntryFile<OffsetEntry>,
    time_index: EntryFile<TimeEntry>,
    /// Transactions aborted by a marker in this segment.
    txn_index: EntryFile<AbortedTxn>,
    bytes_since_index: u64,
    /// Largest batch maxTimestamp (-1 if none) and the base offset of the first batch with it.
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// When the segment got its first batch, for `segment.ms`: the clock at the first append,
    /// or after a restart the first batch timestamp found (Kafka uses the latter throughout).
    rolling_base_ms: Option<i64>,
}

impl Segment {
    /// Creates the three files of a new, empty segment (truncating stale ones). If any of them
    /// cannot be created, those already created are removed again: a failed creation leaves no
    /// `.log` file whose name would claim offsets that later appends give to another segment.
    pub(super) fn create(dir: &Path, base_offset: i64) -> io::Result<Segment> {
        Self::create_at(dir, base_offset, file_path, false)
    }

    /// Creates the files of a segment the cleaner writes, under their temporary names
    /// (`<base>.log.cleaned`, ...: see `cleaner/swap.rs`). Its `.txnindex` file is created at
    /// once, empty if no abort marker lands in it, so the swap always has one to move.
    pub(super) fn create_cleaned(dir: &Path, base_offset: i64) -> io::Result<Segment> {
        Self::create_at(dir, base_offset, super::cleaner::cleaned_path, true)
    }

    fn create_at(
        dir: &Path,
        base_offset: i64,
        file_path: fn(&Path, i64, &str) -> PathBuf,
        with_txn_index: bool,
    ) -> io::Result<Segment> {
        let log_path = file_path(dir, base_offset, LOG_SUFFIX);
        let created = faults::check(Point::SegmentCreate, &log_path)
            .and_then(|()| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&log_path)
            })
            .and_then(|file| {
                let index = EntryFile::create(file_path(dir, base_offset, INDEX_SUFFIX))?;
                let time_index = EntryFile::create(file_path(dir, base_offset, TIME_INDEX_SUFFIX))?;
                let txn_path = file_path(dir, base_offset, TXN_INDEX_SUFFIX);
                // Made on the first abort: most segments never hold one.
                let txn_index = if with_txn_index {
                    EntryFile::create(txn_path)?
                } else {
                    EntryFile::unchecked(txn_path)
                };
                Ok((file, index, time_index, txn_index))
            });
        match created {
            Ok((file, index, time_index, txn_index)) => Ok(Self::new(
                base_offset,
                log_path,
                file,
                (index, time_index),
                txn_index,
            )),
            Err(e) => {
                let cleanup = [
                    LOG_SUFFIX,
                    INDEX_SUFFIX,
                    TIME_INDEX_SUFFIX,
                    TXN_INDEX_SUFFIX,
                ]
                .iter()
                .try_for_each(|suffix| remove_if_present(&file_path(dir, base_offset, suffix)));
                if let Err(cleanup) = cleanup {
                    tracing::warn!(segment = %log_path.display(), error = %cleanup,
                        "could not remove a partly created segment; opening the log removes it");
                }
                Err(e)
            }
        }
    }

    /// Opens an existing segment as empty; recovery then replays its batches through
    /// [`Segment::track_batch`] and calls [`Segment::finish_recovery`].
    pub(super) fn open_for_recovery(dir: &Path, base_offset: i64) -> io::Result<Segment> {
        let log_path = file_path(dir, base_offset, LOG_SUFFIX);
        let file = OpenOptions::new().read(true).write(true).open(&log_path)?;
        let index = EntryFile::unchecked(file_path(dir, base_offset, INDEX_SUFFIX));
        let time_index = EntryFile::unchecked(file_path(dir, base_offset, TIME_INDEX_SUFFIX));
        let txn_index = EntryFile::unchecked(file_path(dir, base_offset, TXN_INDEX_SUFFIX));
        Ok(Self::new(
            base_offset,
            log_path,
            file,
            (index, time_index),
            txn_index,
        ))
    }

    fn new(
        base_offset: i64,
        log_path: PathBuf,
        file: File,
        (index, time_index): (EntryFile<OffsetEntry>, EntryFile<TimeEntry>),
        txn_index: EntryFile<AbortedTxn>,
    ) -> Segment {
        Segment {
            base_offset,
            log_path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index,
            time_index,
            txn_index,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            rolling_base_ms: None,
        }
    }

    /// Cuts the file to the batches replayed so far and brings the offset and time indexes on
    /// disk in line with them. Returns (file was truncated, an index file was inconsistent).
    pub(super) fn finish_recovery(&mut self, sealed: bool) -> io::Result<(bool, bool)> {
        let file_len = self.file.metadata()?.len();
        let truncated = file_len != self.size;
        if truncated {
            self.file.set_len(self.size)?;
            self.file.sync_all()?;
        }
        (&*self.file).seek(SeekFrom::Start(self.size))?;
        if sealed {
            self.seal();
        }
        let bad_index = self.index.reconcile()?;
        let bad_time_index = self.time_index.reconcile()?;
        Ok((truncated, bad_index || bad_time_index))
    }

    /// The aborted transactions in the `.txnindex` file, `None` if it is missing or malformed.
    pub(super) fn read_txn_index(&self) -> io::Result<Option<Vec<AbortedTxn>>> {
        self.txn_index.read()
    }

    /// Recovery's verdict on the aborted-transaction index: `entries` are what the segment
    /// holds; `in_file` says the file already holds exactly them. Otherwise the file is brought
    /// in line (completed if it holds a prefix, else rewritten). Returns true when the file had
    /// to be rewritten.
    pub(super) fn set_aborted(
        &mut self,
        entries: Vec<AbortedTxn>,
        in_file: bool,
    ) -> io::Result<bool> {
        if in_file {
            self.txn_index.adopt(entries);
            return Ok(false);
        }
        self.txn_index.replace(entries);
        self.txn_index.reconcile()
    }

    /// Records a transaction aborted by a marker just appended to this segment.
    pub(super) fn push_aborted(&mut self, entry: AbortedTxn) {
        self.txn_index.push(entry);
    }

    /// The transactions aborted by markers in this segment, in marker order.
    pub(super) fn aborted(&self) -> &[AbortedTxn] {
        self.txn_index.entries()
    }

    pub(super) fn base_offset(&self) -> i64 {
        self.base_offset
    }
    pub(super) fn size(&self) -> u64 {
        self.size
    }
    pub(super) fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub(super) fn is_empty(&self) -> bool {
        self.size == 0
    }
    pub(super) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub(super) fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }
    pub(super) fn rolling_base_ms(&self) -> Option<i64> {
        self.rolling_base_ms
    }

    fn relative(&self, offset: i64) -> u32 {
        let rel = offset.saturating_sub(self.base_offset).max(0);
        u32::try_from(rel).unwrap_or(u32::MAX)
    }

    /// Accounts for a batch that now sits at the end of the file (its final header): offsets,
    /// size, largest timestamp and index entries. Used by appends and by recovery alike, so a
    /// rebuilt index is identical to the one built while appending.
    pub(super) fn track_batch(&mut self, header: &BatchHeader, index_interval: u64, now_ms: i64) {
        if self.rolling_base_ms.is_none() && now_ms >= 0 {
            self.rolling_base_ms = Some(now_ms);
        }
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.base_offset;
        }
        if self.bytes_since_index > index_interval {
            self.index.push(OffsetEntry {
                relative_offset: self.relative(header.base_offset),
                position: u32::try_from(self.size).unwrap_or(u32::MAX),
            });
            self.maybe_append_time_entry();
            self.bytes_since_index = 0;
        }
        let size = header.size() as u64;
        self.bytes_since_index = self.bytes_since_index.saturating_add(size);
        self.size = self.size.saturating_add(size);
        self.next_offset = header.next_offset();
    }

    fn maybe_append_time_entry(&mut self) {
        if time_index::should_append(self.time_index.last(), self.max_timestamp) {
            self.time_index.push(TimeEntry {
                timestamp: self.max_timestamp,
                relative_offset: self.relative(self.offset_of_max_timestamp),
            });
        }
    }

    /// Writes `bufs` (whole batches with their final headers, `len` bytes in total) at the
    /// end of the file, then tracks `headers`. On error the file is cut back to its old size.
    pub(super) fn append(
        &mut self,
        bufs: &mut [IoSlice<'_>],
        headers: &[BatchHeader],
        index_interval: u64,
        now_ms: i64,
    ) -> io::Result<()> {
        let written = faults::check(Point::Write, &self.log_path)
            .and_then(|()| write_all_vectored(&self.file, bufs));
        if let Err(e) = written {
            // Best effort: leave no partial batch behind for the next append to follow.
            // (Only bytes past `size` go, which no reader was ever given.)
            let _ = self.file.set_len(self.size);
            let _ = (&*self.file).seek(SeekFrom::Start(self.size));
            return Err(e);
        }
        for h in headers {
            self.track_batch(h, index_interval, now_ms);
        }
        Ok(())
    }

    /// Adds the final time index entry of a segment that will receive no more appends.
    pub(super) fn seal(&mut self) {
        self.maybe_append_time_entry();
    }

    /// Writes pending index entries and fsyncs the log file.
    pub(super) fn flush(&mut self) -> Result<(), LogError> {
        self.persist_indexes()?;
        self.sync_log(File::sync_data)
    }

    /// Flush and fsync everything, for a segment being rolled.
    pub(super) fn sync_all(&mut self) -> Result<(), LogError> {
        self.index.sync()?;
        self.time_index.sync()?;
        if !self.txn_index.entries().is_empty() {
            self.txn_index.sync()?;
        }
        self.sync_log(File::sync_all)
    }

    /// fsyncs the log file. A failure is [`LogError::SyncFailed`]: the kernel may have
    /// dropped the pages it could not write, and a later fsync would not report it again.
    /// (The indexes, the transaction index too, are rebuilt or checked from the log when it is
    /// opened; their fsync is no such loss.)
    fn sync_log(&self, sync: fn(&File) -> io::Result<()>) -> Result<(), LogError> {
        faults::check(Point::Fsync, &self.log_path)
            .and_then(|()| sync(&self.file))
            .map_err(|source| LogError::SyncFailed {
                path: self.log_path.clone(),
                source,
            })
    }

    pub(super) fn persist_indexes(&mut self) -> io::Result<()> {
        self.index.persist()?;
        self.time_index.persist()?;
        self.txn_index.persist()
    }

    /// Fills `buf` from byte `position` of the log file with a single positional read.
    pub(super) fn read_into(&self, position: u64, buf: &mut [u8]) -> Result<(), LogError> {
        let end = position.saturating_add(buf.len() as u64);
        if end > self.size {
            return Err(LogError::CorruptMessage(format!(
                "read of {} bytes at {position} past the end of segment {}",
                buf.len(),
                self.base_offset
            )));
        }
        self.file.read_exact_at(buf, position)?;
        Ok(())
    }

    /// The log file, for positional reads made after the partition lock is released. Safe
    /// because bytes below [`Segment::size`] never change once an append has returned, and an
    /// open handle keeps a deleted segment's bytes readable.
    pub(super) fn shared_file(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Reads regardless of the tracked size (recovery scans the file before it is tracked).
    pub(super) fn read_raw(&self, position: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, position)
    }

    pub(super) fn file_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// `len` bytes from `position`, as one buffer read with one positional read.
    pub(super) fn read_bytes(&self, position: u64, len: usize) -> Result<Bytes, LogError> {
        let mut buf = BytesMut::zeroed(len);
        self.read_into(position, &mut buf)?;
        Ok(buf.freeze())
    }

    /// The header of the batch at `position`, checked to lie wholly inside the segment.
    pub(super) fn header_at(&self, position: u64) -> Result<BatchHeader, LogError> {
        let mut buf = [0u8; HEADER_SIZE];
        self.read_into(position, &mut buf)?;
        let header = BatchHeader::parse(&buf)?;
        if position.saturating_add(header.size() as u64) > self.size {
            return Err(LogError::CorruptMessage(format!(
                "batch at {position} overruns segment {}",
                self.base_offset
            )));
        }
        Ok(header)
    }

    /// Position and header of the first batch whose last offset is >= `offset`, found through
    /// the sparse index and a scan of batch headers. None if there is no such batch here.
    pub(super) fn locate(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let mut pos = u64::from(index::lookup(self.index.entries(), self.relative(offset)));
        while pos < self.size {
            let header = self.header_at(pos)?;
            if header.last_offset() >= offset {
                return Ok(Some((pos, header)));
            }
            pos += header.size() as u64;
        }
        Ok(None)
    }

    /// Offset from which to search for the first record with a timestamp >= `target`.
    pub(super) fn time_lookup(&self, target: i64) -> i64 {
        let rel = time_index::lookup(self.time_index.entries(), target);
        self.base_offset.saturating_add(i64::from(rel))
    }

    /// The segment's age reference for retention: its largest timestamp, or the file's
    /// modification time when no batch carried a timestamp (as Kafka does).
    pub(super) fn largest_timestamp_for_retention(&self) -> io::Result<i64> {
        if self.max_timestamp >= 0 {
            return Ok(self.max_timestamp);
        }
        let modified = self.file.metadata()?.modified()?;
        let ms = modified
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Ok(ms)
    }

    /// Whether this segment reads from `file` (the same open file, not a replacement).
    pub(super) fn reads(&self, file: &Arc<File>) -> bool {
        Arc::ptr_eq(&self.file, file)
    }

    /// A cleaned segment after its files were renamed to their final names: its paths follow.
    pub(super) fn moved_to_final_names(&mut self, dir: &Path) {
        self.log_path = file_path(dir, self.base_offset, LOG_SUFFIX);
        self.index
            .set_path(file_path(dir, self.base_offset, INDEX_SUFFIX));
        self.time_index
            .set_path(file_path(dir, self.base_offset, TIME_INDEX_SUFFIX));
        self.txn_index
            .set_path(file_path(dir, self.base_offset, TXN_INDEX_SUFFIX));
    }

    /// Closes the segment and removes its files: the log first, so a crash part way leaves
    /// only stray index files, which opening removes.
    pub(super) fn delete_files(self) -> io::Result<()> {
        let Segment {
            log_path,
            file,
            index,
            time_index,
            txn_index,
            ..
        } = self;
        drop(file);
        faults::check(Point::Remove, &log_path)?;
        std::fs::remove_file(&log_path)?;
        for path in [index.path(), time_index.path()] {
            remove_if_present(path)?;
        }
        if txn_index.path().exists() {
            remove_if_present(txn_index.path())?;
        }
        Ok(())
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    faults::check(Point::Remove, path)?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `write_vectored` until everything is written (std's `write_all_vectored` is unstable).
fn write_all_vectored(mut file: &File, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match file.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
