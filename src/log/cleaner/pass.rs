//! One cleaning pass: plan (under the lock), prepare (no lock), commit (under the lock). See
//! the module doc in `mod.rs` for the steps and `swap.rs` for the files.

use std::fs::File;
use std::io::IoSlice;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::Arc;

use super::super::batch::{BatchHeader, HEADER_SIZE, LOG_OVERHEAD};
use super::super::compressed;
use super::super::config::LogConfig;
use super::super::error::LogError;
use super::super::partition::PartitionLog;
use super::super::records::RecordViews;
use super::super::segment::{file_path, Segment, LOG_SUFFIX};
use super::super::txn_index::AbortedTxn;
use super::offset_map::OffsetMap;
use super::retain::{keep_record, maps_keys, BatchFate, Rules, Transactions};
use super::state::{self, LastPass};
use super::swap::{self, Group};
use super::throttle::Throttle;
use super::{Dirtiness, PassReport};

/// Segment files are read in chunks of this size (a larger batch is read whole).
const READ_CHUNK: usize = 1 << 20;
/// Kept batches are written out once this much is buffered.
const WRITE_CHUNK: usize = 1 << 20;

/// A sealed segment as the plan saw it.
struct SegmentSnap {
    base: i64,
    file: Arc<File>,
    size: u64,
    next_offset: i64,
    /// Where reading for the key map starts (the batch holding the first dirty offset).
    map_from: u64,
    /// The segment's `.txnindex` entries: those of abort markers the pass keeps go into the
    /// cleaned segment's index unchanged.
    aborted: Vec<AbortedTxn>,
}

/// What a pass needs from the log, taken under the lock.
pub struct CleaningPlan {
    dir: PathBuf,
    config: LogConfig,
    segments: Vec<SegmentSnap>,
    first_dirty: i64,
    first_uncleanable: i64,
    rules: Rules,
    now_ms: i64,
}

/// A prepared pass: new segments written under temporary names, waiting for the commit.
pub struct Prepared {
    groups: Vec<PreparedGroup>,
    end: i64,
    report: PassReport,
    started_ms: i64,
    /// Tombstones left in the log below `end`.
    tombstones_kept: u64,
}

struct PreparedGroup {
    new: Segment,
    /// (base, file, size) of each replaced segment as the plan saw it.
    old: Vec<(i64, Arc<File>, u64)>,
}

impl Prepared {
    /// Removes the files of a pass that will not be committed.
    fn discard(self, dir: &std::path::Path) {
        for g in self.groups {
            if let Err(e) = g.new.delete_files() {
                tracing::warn!(dir = %dir.display(), error = %e,
                    "could not remove a cleaned segment; opening the log removes it");
            }
        }
    }
}

impl PartitionLog {
    /// How dirty the log is at `now_ms`, with reads limited below `last_stable` and below the
    /// log's own first unstable offset (an open transaction's data is never cleaned). `None`
    /// unless the log is compacted.
    pub fn dirtiness(&self, now_ms: i64, last_stable: i64) -> Option<Dirtiness> {
        if !self.config.compact {
            return None;
        }
        let last_stable = last_stable.min(self.last_stable_offset());
        let first_dirty = self.first_dirty();
        let active_base = self
            .active()
            .map(Segment::base_offset)
            .unwrap_or(first_dirty);
        let mut first_uncleanable = active_base.min(last_stable);
        let lag = self.config.min_compaction_lag_ms;
        let mut clean_bytes = 0u64;
        let mut dirty_bytes = 0u64;
        let mut oldest_dirty: Option<i64> = None;
        for (&base, seg) in self.segments.range(..active_base) {
            if seg.next_offset() <= first_dirty && base < first_dirty {
                clean_bytes += seg.size();
                continue;
            }
            if lag > 0 && now_ms.saturating_sub(seg.max_timestamp()) < lag {
                first_uncleanable = first_uncleanable.min(base);
            }
            // A segment holding the first unstable offset is dirty only below it.
            if base >= first_uncleanable || first_dirty >= first_uncleanable {
                break;
            }
            dirty_bytes += seg.size();
            if oldest_dirty.is_none() && !seg.is_empty() {
                oldest_dirty = Some(seg.rolling_base_ms().unwrap_or(seg.max_timestamp()));
            }
        }
        let total = clean_bytes + dirty_bytes;
        let ratio = if total == 0 {
            0.0
        } else {
            dirty_bytes as f64 / total as f64
        };
        let max_lag = self.config.max_compaction_lag_ms;
        let overdue = oldest_dirty.is_some_and(|ts| ts >= 0 && now_ms.saturating_sub(ts) > max_lag);
        let tombstones_due = self
            .cleaner_state
            .tombstones_due_ms
            .is_some_and(|due| due <= now_ms);
        Some(Dirtiness {
            ratio,
            cleanable_bytes: dirty_bytes,
            overdue: overdue || tombstones_due,
            tombstones_due,
            first_dirty,
            first_uncleanable: first_uncleanable.max(first_dirty),
        })
    }

    /// The offset from which the log is dirty: the checkpoint, if it lies inside the log.
    fn first_dirty(&self) -> i64 {
        let cleaned = self.cleaner_state.cleaned;
        if cleaned < self.log_start_offset || cleaned > self.log_end_offset() {
            self.log_start_offset
        } else {
            cleaned
        }
    }

    /// The last cleaning pass, if any (it survives restarts).
    pub fn last_cleaning(&self) -> Option<LastPass> {
        self.cleaner_state.last
    }

    /// Plans a pass if the log wants one (see [`Dirtiness::wants_cleaning`]); `force` plans
    /// one whenever anything is cleanable. Finishes a swap an earlier commit left half done
    /// first, and plans nothing until that succeeds.
    pub fn plan_cleaning(
        &mut self,
        now_ms: i64,
        last_stable: i64,
        force: bool,
    ) -> Result<Option<CleaningPlan>, LogError> {
        if let Some(groups) = self.pending_swap.take() {
            let finished = groups
                .iter()
                .try_for_each(|g| swap::apply(&self.dir, g))
                .and_then(|()| swap::finish(&self.dir));
            if let Err(e) = finished {
                self.pending_swap = Some(groups);
                return Err(e.into());
            }
        }
        let Some(d) = self.dirtiness(now_ms, last_stable) else {
            return Ok(None);
        };
        let wanted = if force {
            d.cleanable_bytes > 0 || d.tombstones_due
        } else {
            d.wants_cleaning(self.config.min_cleanable_dirty_ratio)
        };
        if !wanted {
            return Ok(None);
        }
        let mut segments = Vec::new();
        for (&base, seg) in self.segments.range(..d.first_uncleanable) {
            if base >= self.active()?.base_offset() {
                break;
            }
            let map_from = if seg.next_offset() > d.first_dirty && base <= d.first_dirty {
                seg.locate(d.first_dirty)?.map_or(0, |(pos, _)| pos)
            } else {
                0
            };
            segments.push(SegmentSnap {
                base,
                file: seg.shared_file(),
                size: seg.size(),
                next_offset: seg.next_offset(),
                map_from,
                aborted: seg.aborted().to_vec(),
            });
        }
        let tombstones_below = self
            .cleaner_state
            .tombstones_below(now_ms, self.config.delete_retention_ms);
        Ok(Some(CleaningPlan {
            dir: self.dir.clone(),
            config: self.config.clone(),
            segments,
            first_dirty: d.first_dirty,
            first_uncleanable: d.first_uncleanable,
            rules: Rules {
                producers_last: self.producers.last_offsets(),
                producers_last_marker: self.producers.last_marker_offsets(),
                aborted: Rules::aborted_by_producer(
                    &self.aborted_transactions(self.log_start_offset, d.first_uncleanable),
                ),
                tombstones_below,
                map_end: d.first_dirty,
            },
            now_ms,
        }))
    }

    /// Swaps in a prepared pass unless the segments it read changed meanwhile; moves the
    /// clean offset and records the pass.
    pub fn commit_cleaning(
        &mut self,
        prepared: Prepared,
        now_ms: i64,
    ) -> Result<PassReport, LogError> {
        let active_base = self.active()?.base_offset();
        let intact = prepared.groups.iter().all(|g| {
            g.old.iter().all(|(base, file, size)| {
                *base < active_base
                    && self
                        .segments
                        .get(base)
                        .is_some_and(|s| s.reads(file) && s.size() == *size)
                    && same_inode(file, &file_path(&self.dir, *base, LOG_SUFFIX))
            })
        });
        if !intact || prepared.end < self.log_start_offset {
            tracing::info!(dir = %self.dir.display(), "the log changed during a cleaning pass; dropping the pass");
            prepared.discard(&self.dir.clone());
            return Ok(PassReport {
                aborted: true,
                ..PassReport::default()
            });
        }
        let Prepared {
            groups,
            end,
            mut report,
            started_ms,
            tombstones_kept,
        } = prepared;
        let plan: Vec<Group> = groups
            .iter()
            .map(|g| Group {
                base: g.new.base_offset(),
                old: g.old.iter().map(|(b, _, _)| *b).collect(),
            })
            .collect();
        if !plan.is_empty() {
            if let Err(e) = swap::commit(&self.dir, &plan) {
                Prepared {
                    groups,
                    end,
                    report,
                    started_ms,
                    tombstones_kept,
                }
                .discard(&self.dir.clone());
                return Err(e.into());
            }
            let applied = plan
                .iter()
                .try_for_each(|g| swap::apply(&self.dir, g))
                .and_then(|()| swap::finish(&self.dir));
            // Committed: the new segments are the log now, on disk (a reopen rolls the swap
            // forward) as in memory.
            for mut g in groups {
                for (base, _, _) in &g.old {
                    self.segments.remove(base);
                }
                g.new.moved_to_final_names(&self.dir);
                self.segments.insert(g.new.base_offset(), g.new);
            }
            if let Err(e) = applied {
                tracing::warn!(dir = %self.dir.display(), error = %e,
                    "a cleaning swap is committed but not finished; it is retried");
                self.pending_swap = Some(plan);
                return Err(e.into());
            }
        }
        report.cleaned_to = end;
        let last = LastPass {
            end_ms: now_ms,
            duration_ms: now_ms.saturating_sub(started_ms).max(0),
            bytes_read: report.bytes_read,
            bytes_written: report.bytes_written,
            records_removed: report.records_removed,
        };
        let retention = self.config.delete_retention_ms;
        self.cleaner_state.passed(end, now_ms, retention, last);
        self.cleaner_state.tombstones_due_ms =
            (tombstones_kept > 0).then(|| now_ms.saturating_add(retention));
        if let Err(e) = state::write(&self.dir, &self.cleaner_state) {
            // The next pass redoes this one's work; nothing is lost.
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not write the cleaner checkpoint");
        }
        Ok(report)
    }
}

/// Whether `path` is still the file `file` was opened from (not removed and recreated).
fn same_inode(file: &File, path: &std::path::Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

impl CleaningPlan {
    /// The offsets this pass may clean: `[first dirty, first uncleanable)`.
    pub fn dirty_range(&self) -> (i64, i64) {
        (self.first_dirty, self.first_uncleanable)
    }

    /// Builds the key map and writes the cleaned segments. Blocking; takes no lock.
    pub fn prepare(
        mut self,
        map: &mut OffsetMap,
        throttle: &Throttle,
    ) -> Result<Prepared, LogError> {
        let mut report = PassReport::default();
        map.reset(u64::try_from(self.first_uncleanable - self.first_dirty).unwrap_or(0));
        self.build_map(map, throttle, &mut report)?;
        // Without dirty data (a pass for expired tombstones) only the clean part is copied.
        let end = (map.latest_offset() + 1).max(self.first_dirty);
        self.rules.map_end = end;
        let mut prepared = Prepared {
            groups: Vec::new(),
            end,
            report,
            started_ms: self.now_ms,
            tombstones_kept: 0,
        };
        let mut scratch = Scratch::default();
        for group in self.groups(end) {
            match self.copy_group(&group, map, throttle, &mut prepared.report, &mut scratch) {
                Ok(Some(new)) => prepared.groups.push(PreparedGroup {
                    new,
                    old: group
                        .iter()
                        .map(|s| (s.base, s.file.clone(), s.size))
                        .collect(),
                }),
                Ok(None) => {}
                Err(e) => {
                    prepared.discard(&self.dir);
                    return Err(e);
                }
            }
        }
        prepared.tombstones_kept = scratch.tombstones + scratch.txns.markers_waiting;
        prepared.report.segments_written = prepared.groups.len();
        prepared.report.segments_replaced = prepared.groups.iter().map(|g| g.old.len()).sum();
        Ok(prepared)
    }

    fn build_map(
        &self,
        map: &mut OffsetMap,
        throttle: &Throttle,
        report: &mut PassReport,
    ) -> Result<(), LogError> {
        let (from, to) = (self.first_dirty, self.first_uncleanable);
        let mut scratch = Scratch::default();
        for seg in self.segments.iter().filter(|s| s.next_offset > from) {
            let mut full = false;
            report.bytes_read += for_each_batch(seg, seg.map_from, throttle, |h, bytes| {
                if h.last_offset() < from {
                    return Ok(true);
                }
                if h.base_offset >= to {
                    return Ok(false);
                }
                if maps_keys(h, &self.rules) {
                    let mut last_mapped = None;
                    let stopped = scratch.each_record(h, bytes, |offset, view| {
                        if offset < from || offset >= to {
                            return true;
                        }
                        if let Some(key) = view.key {
                            if !map.put(key, offset) {
                                return false;
                            }
                        }
                        last_mapped = Some(offset);
                        true
                    })?;
                    if stopped {
                        // The map is full: it covers up to the last record it took.
                        full = true;
                        if let Some(o) = last_mapped {
                            map.cover(o);
                        }
                        return Ok(false);
                    }
                }
                map.cover(h.last_offset().min(to - 1));
                Ok(true)
            })?;
            if full {
                break;
            }
        }
        Ok(())
    }

    /// Sealed segments below `end`, in groups that fit one segment.
    fn groups(&self, end: i64) -> Vec<Vec<&SegmentSnap>> {
        let limit = self.config.segment_bytes.min(u64::from(u32::MAX));
        let mut groups: Vec<Vec<&SegmentSnap>> = Vec::new();
        let mut size = 0u64;
        for seg in self.segments.iter().filter(|s| s.base < end) {
            let fits = groups.last().is_some_and(|g| {
                let base = g.first().map_or(seg.base, |s| s.base);
                size + seg.size <= limit
                    && seg.next_offset.saturating_sub(base) <= i64::from(u32::MAX)
            });
            if fits {
                size += seg.size;
                if let Some(g) = groups.last_mut() {
                    g.push(seg);
                }
            } else {
                size = seg.size;
                groups.push(vec![seg]);
            }
        }
        groups
    }

    /// Copies a group into a new segment; `None` if it would be a copy of a single segment.
    fn copy_group(
        &self,
        group: &[&SegmentSnap],
        map: &OffsetMap,
        throttle: &Throttle,
        report: &mut PassReport,
        scratch: &mut Scratch,
    ) -> Result<Option<Segment>, LogError> {
        let Some(first) = group.first() else {
            return Ok(None);
        };
        let mut out = Segment::create_cleaned(&self.dir, first.base)?;
        let mut writer = Writer {
            buf: Vec::with_capacity(WRITE_CHUNK),
            headers: Vec::new(),
            interval: self.config.index_interval_bytes,
            now_ms: self.now_ms,
            written: 0,
        };
        let mut changed = group.len() > 1;
        let result = (|| {
            for seg in group {
                report.bytes_read += for_each_batch(seg, 0, throttle, |h, bytes| {
                    let kept =
                        self.filter_batch(h, bytes, map, scratch, report, &mut writer.buf)?;
                    if !matches!(kept, Kept::Dropped) {
                        scratch.txns.stays(h);
                    }
                    match kept {
                        Kept::Whole => {
                            if h.is_control() {
                                if let Some(e) = seg.abort_entry(h) {
                                    out.push_aborted(e);
                                }
                            }
                            writer.buf.extend_from_slice(bytes);
                            writer.headers.push(*h);
                        }
                        Kept::Rewritten(header) => {
                            changed = true;
                            writer.headers.push(header);
                        }
                        Kept::Dropped => changed = true,
                    }
                    if writer.buf.len() >= WRITE_CHUNK {
                        writer.flush(&mut out, throttle)?;
                    }
                    Ok(true)
                })?;
            }
            writer.flush(&mut out, throttle)?;
            out.seal();
            out.sync_all()?;
            Ok::<(), LogError>(())
        })();
        report.bytes_written += writer.written;
        if let Err(e) = result {
            let _ = out.delete_files();
            return Err(e);
        }
        if !changed {
            out.delete_files()?;
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// Decides a batch; a rewritten batch is appended to `out` and its new header returned.
    fn filter_batch(
        &self,
        h: &BatchHeader,
        bytes: &[u8],
        map: &OffsetMap,
        scratch: &mut Scratch,
        report: &mut PassReport,
        out: &mut Vec<u8>,
    ) -> Result<Kept, LogError> {
        let count = u64::try_from(h.record_count).unwrap_or(0);
        report.records_read += count;
        let keep_empty = match scratch.txns.fate(h, &self.rules) {
            BatchFate::KeepWhole => return Ok(Kept::Whole),
            BatchFate::Filter { keep_empty } => keep_empty,
            BatchFate::Remove { keep_empty } => {
                report.records_removed += count;
                if !keep_empty {
                    return Ok(Kept::Dropped);
                }
                if count == 0 {
                    // Emptied by an earlier pass: nothing changes.
                    return Ok(Kept::Whole);
                }
                let header = scratch.rewrite(h, bytes, &[], h.max_timestamp, out)?;
                return Ok(Kept::Rewritten(header));
            }
        };
        let mut kept_ranges: Vec<(usize, usize)> = Vec::new();
        let mut max_ts = i64::MIN;
        let mut dropped = 0u64;
        let mut tombstones = 0u64;
        let rules = &self.rules;
        scratch.each_record(h, bytes, |offset, view| {
            if keep_record(view.key, view.has_value, offset, map, rules) {
                tombstones += u64::from(!view.has_value);
                kept_ranges.push(view.span);
                max_ts = max_ts.max(h.base_timestamp.saturating_add(view.timestamp_delta));
            } else {
                dropped += 1;
            }
            true
        })?;
        scratch.tombstones += tombstones;
        if dropped == 0 {
            return Ok(Kept::Whole);
        }
        report.records_removed += dropped;
        if kept_ranges.is_empty() && !keep_empty {
            return Ok(Kept::Dropped);
        }
        let header = scratch.rewrite(h, bytes, &kept_ranges, max_ts, out)?;
        Ok(Kept::Rewritten(header))
    }
}

enum Kept {
    Whole,
    Rewritten(BatchHeader),
    Dropped,
}

/// Buffers kept batches and writes them to the new segment.
struct Writer {
    buf: Vec<u8>,
    headers: Vec<BatchHeader>,
    interval: u64,
    now_ms: i64,
    written: u64,
}

impl Writer {
    fn flush(&mut self, seg: &mut Segment, throttle: &Throttle) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut slices = [IoSlice::new(&self.buf)];
        seg.append(&mut slices, &self.headers, self.interval, self.now_ms)?;
        throttle.consume(self.buf.len() as u64)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        self.headers.clear();
        Ok(())
    }
}

impl SegmentSnap {
    /// The `.txnindex` entry of the abort marker `h` in this segment (none for a commit).
    fn abort_entry(&self, h: &BatchHeader) -> Option<AbortedTxn> {
        self.aborted
            .iter()
            .find(|e| e.producer_id == h.producer_id && e.last_offset == h.base_offset)
            .copied()
    }
}

/// Calls `f` with each whole batch of `seg` from byte `from`, until it returns false.
/// Returns the bytes read.
fn for_each_batch(
    seg: &SegmentSnap,
    from: u64,
    throttle: &Throttle,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<bool, LogError>,
) -> Result<u64, LogError> {
    let mut read = 0u64;
    let mut buf = Vec::new();
    let mut pos = from;
    while pos < seg.size {
        let want = usize::try_from(seg.size - pos)
            .unwrap_or(READ_CHUNK)
            .min(READ_CHUNK);
        buf.resize(want, 0);
        seg.file.read_exact_at(&mut buf, pos)?;
        throttle.consume(want as u64)?;
        read += want as u64;
        let mut at = 0usize;
        while let Some(rest) = buf.get(at..).filter(|r| r.len() >= HEADER_SIZE) {
            let h = BatchHeader::parse(rest)?;
            let Some(bytes) = rest.get(..h.size()) else {
                break;
            };
            if !f(&h, bytes)? {
                return Ok(read);
            }
            at += h.size();
        }
        if at == 0 {
            // A batch larger than the chunk: read it whole.
            let mut head = [0u8; HEADER_SIZE];
            seg.file.read_exact_at(&mut head, pos)?;
            let h = BatchHeader::parse(&head)?;
            if pos + h.size() as u64 > seg.size {
                return Err(LogError::CorruptMessage(format!(
                    "batch at {pos} overruns segment {}",
                    seg.base
                )));
            }
            buf.resize(h.size(), 0);
            seg.file.read_exact_at(&mut buf, pos)?;
            throttle.consume(buf.len() as u64)?;
            read += buf.len() as u64;
            if !f(&h, &buf)? {
                return Ok(read);
            }
            at = h.size();
        }
        pos += at as u64;
    }
    Ok(read)
}

/// A record as [`Scratch::each_record`] hands it out.
struct View<'a> {
    key: Option<&'a [u8]>,
    has_value: bool,
    timestamp_delta: i64,
    /// Byte range of the whole record in the records section.
    span: (usize, usize),
}

/// Buffers reused from batch to batch: decompressed records, records to compress; and the
/// transactions seen so far.
#[derive(Default)]
struct Scratch {
    txns: Transactions,
    plain: Vec<u8>,
    kept: Vec<u8>,
    xerial: bool,
    /// Tombstones kept so far.
    tombstones: u64,
}

impl Scratch {
    /// Calls `f(offset, record)` for each record of the batch until it returns false; returns
    /// whether it stopped early.
    fn each_record(
        &mut self,
        h: &BatchHeader,
        bytes: &[u8],
        mut f: impl FnMut(i64, View<'_>) -> bool,
    ) -> Result<bool, LogError> {
        let body = bytes.get(HEADER_SIZE..).unwrap_or_default();
        let records: &[u8] = if h.compression() == 0 {
            body
        } else {
            let cap = compressed::decompressed_cap(bytes.len());
            self.xerial = compressed::decompress_all(h.compression(), body, cap, &mut self.plain)?;
            &self.plain
        };
        let base = records.as_ptr() as usize;
        for view in RecordViews::new(records, h.record_count) {
            let view = view?;
            let start = view.raw.as_ptr() as usize - base;
            let offset = h.base_offset.saturating_add(i64::from(view.offset_delta));
            let v = View {
                key: view.key,
                has_value: view.has_value,
                timestamp_delta: view.timestamp_delta,
                span: (start, start + view.raw.len()),
            };
            if !f(offset, v) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Appends to `out` the batch `h` holding only the records at `kept` (ranges in the
    /// records section [`Scratch::each_record`] last walked, which must be this batch's).
    fn rewrite(
        &mut self,
        h: &BatchHeader,
        bytes: &[u8],
        kept: &[(usize, usize)],
        max_ts: i64,
        out: &mut Vec<u8>,
    ) -> Result<BatchHeader, LogError> {
        let records: &[u8] = if h.compression() == 0 {
            bytes.get(HEADER_SIZE..).unwrap_or_default()
        } else {
            &self.plain
        };
        self.kept.clear();
        for &(a, b) in kept {
            self.kept
                .extend_from_slice(records.get(a..b).unwrap_or_default());
        }
        let start = out.len();
        out.extend_from_slice(bytes.get(..HEADER_SIZE).unwrap_or_default());
        let mut attributes = h.attributes;
        if kept.is_empty() {
            // An empty batch, as Kafka writes one: no records, no codec.
            attributes &= !0x07;
        } else if h.compression() == 0 {
            out.extend_from_slice(&self.kept);
        } else {
            compressed::compress(h.compression(), self.xerial, &self.kept, out)?;
        }
        let max_timestamp = if kept.is_empty() || h.is_log_append_time() {
            h.max_timestamp
        } else {
            max_ts
        };
        let batch_length = i32::try_from(out.len() - start - LOG_OVERHEAD)
            .map_err(|_| LogError::CorruptMessage("cleaned batch too large".into()))?;
        let count = i32::try_from(kept.len()).unwrap_or(i32::MAX);
        let header = out.get_mut(start..).unwrap_or_default();
        let put = |header: &mut [u8], at: usize, value: &[u8]| {
            if let Some(dst) = header.get_mut(at..at + value.len()) {
                dst.copy_from_slice(value);
            }
        };
        put(header, 8, &batch_length.to_be_bytes());
        put(header, 21, &attributes.to_be_bytes());
        put(header, 35, &max_timestamp.to_be_bytes());
        put(header, 57, &count.to_be_bytes());
        let crc = crc32c::crc32c(header.get(21..).unwrap_or_default());
        put(header, 17, &crc.to_be_bytes());
        BatchHeader::parse(header)
    }
}
