//! Opening a partition folder: finding segments, checking them, cutting a torn tail, rebuilding
//! indexes, producer state and open transactions.
//!
//! Every segment's batch headers are scanned in order (one 61-byte positional read per batch):
//! lengths must be sane and fully present, magic 2, offsets increasing from the segment's
//! base offset (contiguous as appended; compaction leaves gaps). The last segment, the
//! only one that can hold unflushed data (a segment is fsynced when it is rolled), is also
//! CRC-checked, batch by batch. A segment is truncated before its first bad batch, with a
//! warning; later segments are kept, so a fully written valid batch is never dropped. Segment
//! ranges are then checked against each other (`check_ranges`). When that removes the segment
//! checked as the last (an empty one left by a failed roll), the segment before it is the
//! active one and the last at the next start: the folder is checked again with it as the last,
//! so whatever the next start would cut is cut before appends land behind it. Offset
//! and time indexes are recomputed from the scan exactly as appends build them and the files
//! are fixed when they differ. Stray files (indexes without a log, temporary files) are removed.
//!
//! Transactions: replaying the headers in order also replays which transactions are open (a
//! transactional batch opens one, its producer's next marker closes it), so the last stable
//! offset is known again, and every marker yields the aborted-transaction entry it would have
//! written (producer, first offset, marker offset, last stable offset after it); only whether
//! the marker aborted or committed needs its record. An entry on disk agrees with a marker
//! when it names the same producer and marker offset and starts no later (and its last stable
//! offset is no later) than the replay says: the cleaner removes aborted and superseded data,
//! so a replay of a cleaned log can find a transaction starting later than it did, while the
//! entry written at the abort keeps the original answer. A sealed segment's `.txnindex` is
//! trusted when each of its entries agrees with one of its markers; if not (or missing while
//! the segment holds markers), its markers are read and the file rewritten. The last segment,
//! the tail a crash can leave behind, always has its markers read and its index rebuilt,
//! keeping the entries on disk that agree with its abort markers.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::batch::{BatchHeader, ATTRIBUTES_POS, HEADER_SIZE};
use super::checkpoint;
use super::cleaner;
use super::config::LogConfig;
use super::control::{self, Outcome};
use super::error::LogError;
use super::faults::{self, Point};
use super::producer_state::ProducerStates;
use super::segment::{Segment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::txn_index::{AbortedTxn, TXN_INDEX_SUFFIX};

/// CRC-checking reads go through a buffer of this size, whatever the batch size.
const CRC_CHUNK: usize = 64 * 1024;

pub(super) struct Loaded {
    pub segments: BTreeMap<i64, Segment>,
    pub log_start_offset: i64,
    pub producers: ProducerStates,
    pub cleaner_state: cleaner::Checkpoint,
}

/// Opens (creating it if needed) and recovers the partition folder `dir`.
pub(super) fn load(dir: &Path, config: &LogConfig) -> Result<Loaded, LogError> {
    if !dir.exists() {
        faults::check(Point::DirCreate, dir)?;
    }
    fs::create_dir_all(dir)?;
    cleaner::recover_swap(dir)?;
    let cleaner_state = cleaner::read_checkpoint(dir)?.unwrap_or_default();
    let mut bases = list_segments(dir)?;
    let checkpoint = checkpoint::read(dir)?;
    let mut crc_buf = Vec::new();
    let (mut segments, producers) = loop {
        let mut producers = ProducerStates::default();
        let mut segments = BTreeMap::new();
        let last = bases.last().copied();
        for &base in &bases {
            let is_last = Some(base) == last;
            let seg = recover_segment(dir, base, is_last, config, &mut producers, &mut crc_buf)?;
            segments.insert(base, seg);
        }
        check_ranges(dir, &mut segments)?;
        // The segment checked as the tail was left by a failed roll and is gone, so the one
        // before it takes appends now, and the next start checks it as the tail. Checking it
        // so now cuts what that check would cut before anything is appended after it; the
        // whole folder is replayed again, as producer state is built in log order.
        if last.is_some_and(|b| !segments.contains_key(&b)) {
            bases.retain(|b| segments.contains_key(b));
            continue;
        }
        break (segments, producers);
    };
    let first_base = match segments.keys().next() {
        Some(&b) => b,
        None => {
            let base = checkpoint.unwrap_or(0);
            segments.insert(base, Segment::create(dir, base)?);
            checkpoint::sync_dir(dir)?;
            base
        }
    };
    let log_end = segments
        .values()
        .next_back()
        .map_or(0, Segment::next_offset);
    let mut log_start = checkpoint.unwrap_or(first_base).max(first_base);
    if log_start > log_end {
        // The log start was checkpointed past data that did not survive: nothing below it may
        // be served, so start afresh there rather than reuse offsets below the log start.
        tracing::warn!(dir = %dir.display(), log_start, log_end,
            "log start offset beyond the recovered log end; restarting the log at the log start");
        while let Some((_, seg)) = segments.pop_first() {
            seg.delete_files()?;
        }
        segments.insert(log_start, Segment::create(dir, log_start)?);
        checkpoint::sync_dir(dir)?;
    }
    log_start = log_start.max(segments.keys().next().copied().unwrap_or(log_start));
    Ok(Loaded {
        segments,
        log_start_offset: log_start,
        producers,
        cleaner_state,
    })
}

/// Every segment must start at or after the end of the one before it. An empty segment that
/// does not is what a roll leaves when it failed and could not remove its new file: appends
/// went on in the previous segment, past the new one's base offset, and reads of those offsets
/// would be sent to the wrong segment. It is removed (or, if that fails, left out of the log). A
/// segment holding batches inside another
/// one's range would serve some offsets twice: the log is not opened, with an error naming
/// both.
fn check_ranges(dir: &Path, segments: &mut BTreeMap<i64, Segment>) -> Result<(), LogError> {
    let mut previous: Option<(i64, i64)> = None;
    let mut stale = Vec::new();
    for (&base, seg) in segments.iter() {
        if let Some((prev_base, prev_end)) = previous {
            if base < prev_end {
                if seg.is_empty() {
                    stale.push(base);
                    continue;
                }
                return Err(LogError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: segment {base} starts inside segment {prev_base}, which holds offsets up to {}",
                        dir.display(),
                        prev_end - 1
                    ),
                )));
            }
        }
        previous = Some((base, seg.next_offset()));
    }
    for base in &stale {
        if let Some(seg) = segments.remove(base) {
            tracing::warn!(dir = %dir.display(), base_offset = base,
                "removing an empty segment inside the previous segment's offsets (left by a failed roll)");
            // Out of the map it serves nothing; a file that stays is found again next time.
            if let Err(e) = seg.delete_files() {
                tracing::warn!(dir = %dir.display(), base_offset = base, error = %e,
                    "could not remove the empty segment; it is ignored");
            }
        }
    }
    if !stale.is_empty() {
        if let Err(e) = checkpoint::sync_dir(dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not fsync the folder");
        }
    }
    Ok(())
}

/// Base offsets of the `.log` files in `dir`, sorted; removes stray files.
fn list_segments(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(checkpoint::TMP_SUFFIX) {
            tracing::warn!(file = %entry.path().display(), "removing leftover temporary file");
            fs::remove_file(entry.path())?;
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        let base = (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
            .then(|| stem.parse::<i64>().ok())
            .flatten();
        match (base, ext) {
            (Some(b), LOG_SUFFIX) => logs.push(b),
            (Some(b), INDEX_SUFFIX | TIME_INDEX_SUFFIX | TXN_INDEX_SUFFIX) => {
                indexes.push((b, entry.path()))
            }
            _ => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            tracing::warn!(file = %path.display(), "removing index file without a segment");
            fs::remove_file(path)?;
        }
    }
    Ok(logs)
}

fn recover_segment(
    dir: &Path,
    base: i64,
    verify_crc: bool,
    config: &LogConfig,
    producers: &mut ProducerStates,
    crc_buf: &mut Vec<u8>,
) -> Result<Segment, LogError> {
    let mut seg = Segment::open_for_recovery(dir, base)?;
    let file_len = seg.file_len()?;
    let mut pos = 0u64;
    let mut expected_offset = base;
    // What each marker would have indexed had it aborted, with the marker's position.
    let mut markers: Vec<Replayed> = Vec::new();
    let problem: Option<String> = loop {
        if pos >= file_len {
            break None;
        }
        match check_batch_at(&seg, pos, file_len, expected_offset, verify_crc, crc_buf)? {
            Ok(header) => {
                seg.track_batch(&header, config.index_interval_bytes, header.max_timestamp);
                if header.is_control() {
                    let previous_marker = producers
                        .last_marker_offset(header.producer_id)
                        .unwrap_or(-1);
                    let closed = producers.record_marker(&header, None, header.max_timestamp);
                    let entry = AbortedTxn {
                        producer_id: closed.producer_id,
                        first_offset: closed.first_offset,
                        last_offset: closed.last_offset,
                        last_stable_offset: producers
                            .first_unstable_offset()
                            .unwrap_or(header.next_offset()),
                    };
                    markers.push(Replayed {
                        pos,
                        header,
                        entry,
                        previous_marker,
                    });
                } else {
                    producers.record(&header, header.max_timestamp);
                }
                expected_offset = header.next_offset();
                pos += header.size() as u64;
            }
            Err(reason) => break Some(reason),
        }
    };
    if let Some(reason) = problem {
        tracing::warn!(
            segment = %dir.join(format!("{base:020}.{LOG_SUFFIX}")).display(),
            position = pos,
            discarded_bytes = file_len - pos,
            %reason,
            "truncating segment at the first invalid batch"
        );
    }
    let (_, bad_index) = seg.finish_recovery(!verify_crc)?;
    if bad_index {
        tracing::warn!(segment = base, dir = %dir.display(), "rebuilt inconsistent index files");
    }
    recover_txn_index(&mut seg, verify_crc, &markers, producers)?;
    Ok(seg)
}

/// Brings the segment's aborted-transaction index in line with its markers: the file of a
/// sealed segment is kept when it checks out, else the markers are read.
fn recover_txn_index(
    seg: &mut Segment,
    is_tail: bool,
    markers: &[Replayed],
    producers: &mut ProducerStates,
) -> Result<(), LogError> {
    let on_disk = seg.read_txn_index()?;
    if !is_tail {
        let trusted = match &on_disk {
            Some(entries) => entries.iter().all(|e| markers.iter().any(|m| m.agrees(e))),
            None => markers.is_empty(),
        };
        if trusted {
            seg.set_aborted(on_disk.unwrap_or_default(), true)?;
            return Ok(());
        }
        tracing::warn!(
            segment = seg.base_offset(),
            "rebuilding the aborted-transaction index from the segment's markers"
        );
    }
    let mut aborted = Vec::new();
    for m in markers {
        let Replayed {
            pos, header, entry, ..
        } = m;
        let batch = seg.read_bytes(*pos, header.size())?;
        if let Some((outcome, coordinator_epoch)) = control::decode(header, &batch)? {
            producers.set_coordinator_epoch(header.producer_id, coordinator_epoch);
            if outcome == Outcome::Abort {
                let kept = on_disk
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .find(|e| m.agrees(e));
                aborted.push(kept.copied().unwrap_or(*entry));
            }
        }
    }
    if seg.set_aborted(aborted, false)? && !is_tail {
        tracing::warn!(
            segment = seg.base_offset(),
            "rewrote the aborted-transaction index"
        );
    }
    Ok(())
}

/// A marker met by the replay.
struct Replayed {
    pos: u64,
    header: BatchHeader,
    /// The entry the marker yields, had it aborted.
    entry: AbortedTxn,
    /// The offset of the producer's marker before it (-1: none).
    previous_marker: i64,
}

impl Replayed {
    /// Whether the index entry `e` on disk describes this marker's transaction: same producer
    /// and marker, starting after the producer's previous marker and no later than the replay
    /// finds (nor with a later last stable offset).
    fn agrees(&self, e: &AbortedTxn) -> bool {
        let m = &self.entry;
        e.producer_id == m.producer_id
            && e.last_offset == m.last_offset
            && e.first_offset > self.previous_marker
            && e.first_offset <= m.first_offset
            && e.last_stable_offset <= m.last_stable_offset
    }
}

/// Validates the batch at `pos` of a segment file being recovered. The inner Err carries the
/// reason the batch is invalid; the outer one is an I/O failure, which must not be mistaken
/// for corruption (that would truncate valid data).
fn check_batch_at(
    seg: &Segment,
    pos: u64,
    file_len: u64,
    expected_offset: i64,
    verify_crc: bool,
    crc_buf: &mut Vec<u8>,
) -> std::io::Result<Result<BatchHeader, String>> {
    let remaining = file_len - pos;
    if remaining < HEADER_SIZE as u64 {
        return Ok(Err(format!("torn batch header ({remaining} bytes)")));
    }
    let mut head = [0u8; HEADER_SIZE];
    seg.read_raw(pos, &mut head)?;
    let header = match BatchHeader::parse(&head) {
        Ok(h) => h,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let size = header.size() as u64;
    if size > remaining {
        return Ok(Err(format!(
            "torn batch: {size} bytes declared, {remaining} present"
        )));
    }
    // Offsets only grow inside a segment, from its base offset on: contiguously as appended
    // (the last segment, never cleaned, must be contiguous), with gaps where the cleaner
    // removed records.
    let contiguous = verify_crc;
    if header.base_offset < expected_offset || (contiguous && header.base_offset != expected_offset)
    {
        return Ok(Err(format!(
            "batch offset {}, expected at least {expected_offset}",
            header.base_offset
        )));
    }
    let rel_last = header.last_offset().saturating_sub(seg.base_offset());
    if rel_last > i64::from(u32::MAX) || pos.saturating_add(size) > u64::from(u32::MAX) {
        return Ok(Err("batch beyond the range a segment can index".into()));
    }
    if verify_crc {
        let mut crc = crc32c::crc32c(head.get(ATTRIBUTES_POS..).unwrap_or_default());
        crc_buf.resize(CRC_CHUNK, 0);
        let end = pos + size;
        let mut at = pos + HEADER_SIZE as u64;
        while at < end {
            let n = usize::try_from(end - at)
                .unwrap_or(CRC_CHUNK)
                .min(CRC_CHUNK);
            let chunk = crc_buf.get_mut(..n).unwrap_or_default();
            seg.read_raw(at, chunk)?;
            crc = crc32c::crc32c_append(crc, chunk);
            at += n as u64;
        }
        if crc != header.crc {
            return Ok(Err("CRC mismatch".into()));
        }
    }
    Ok(Ok(header))
}
