//! Finding records by timestamp (ListOffsets): the first record at or after a timestamp, and the
//! record with the largest timestamp.
//!
//! Segments are skipped by their largest timestamp, the time index gives a starting offset
//! inside a segment, batch headers (maxTimestamp) give the batch, and only that one batch is
//! read and its records inspected.

use super::error::LogError;
use super::partition::{PartitionLog, TimestampLookup};
use super::records::find_record;
use super::segment::Segment;

impl PartitionLog {
    /// The first record (at or above the log start) whose timestamp is >= `ts`, Kafka's
    /// ListOffsets semantics. None if there is none.
    pub fn lookup_timestamp(&self, ts: i64) -> Result<Option<TimestampLookup>, LogError> {
        let log_start = self.log_start_offset;
        let from = self.segment_key_for(log_start);
        for seg in self.segments.range(from..).map(|(_, s)| s) {
            if seg.is_empty() || seg.max_timestamp() < ts || seg.next_offset() <= log_start {
                continue;
            }
            if let Some(found) = find_in_segment(seg, seg.time_lookup(ts), ts, log_start)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The largest timestamp in the log and the offset of the (first) record carrying it
    /// (ListOffsets MAX_TIMESTAMP). None when the log holds no record with a timestamp.
    pub fn max_timestamp(&self) -> Result<Option<TimestampLookup>, LogError> {
        let log_start = self.log_start_offset;
        let mut best: Option<&Segment> = None;
        for seg in self.segments.values() {
            let better = best.is_none_or(|b| seg.max_timestamp() > b.max_timestamp());
            if seg.max_timestamp() >= 0 && seg.next_offset() > log_start && better {
                best = Some(seg);
            }
        }
        let Some(seg) = best else {
            return Ok(None);
        };
        let max_ts = seg.max_timestamp();
        let batch_offset = seg.offset_of_max_timestamp();
        let found = find_in_segment(seg, batch_offset, max_ts, log_start)?;
        Ok(Some(found.unwrap_or(TimestampLookup {
            offset: batch_offset.max(log_start),
            timestamp: max_ts,
        })))
    }
}

/// Scans `seg` from the batch containing `from_offset` for the first record with timestamp
/// >= `ts` and offset >= `min_offset`.
fn find_in_segment(
    seg: &Segment,
    from_offset: i64,
    ts: i64,
    min_offset: i64,
) -> Result<Option<TimestampLookup>, LogError> {
    let Some((mut pos, _)) = seg.locate(from_offset.max(min_offset))? else {
        return Ok(None);
    };
    while pos < seg.size() {
        let header = seg.header_at(pos)?;
        if header.max_timestamp >= ts && header.last_offset() >= min_offset {
            let batch = seg.read_bytes(pos, header.size())?;
            if let Some((offset, timestamp)) = find_record(&header, batch, ts, min_offset)? {
                return Ok(Some(TimestampLookup { offset, timestamp }));
            }
        }
        pos += header.size() as u64;
    }
    Ok(None)
}
