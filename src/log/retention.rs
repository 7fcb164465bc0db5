//! Removing old data (only where `cleanup.policy` includes `delete`): retention by time and
//! size (whole segments, oldest first, as Kafka does: by size never the active segment; by time
//! the active one too once all of it has expired) and DeleteRecords (moves the log start
//! offset, persisted in `log-start-offset`).
//! The folder is fsynced after segments are removed, so a crash cannot bring them back.

use super::checkpoint;
use super::error::LogError;
use super::partition::PartitionLog;

impl PartitionLog {
    /// Applies `retention_ms` (an expired active segment is rolled, then deleted) and
    /// `retention_bytes` (never the active segment).
    /// Advances the log start offset and returns the number of segments deleted. Also forgets
    /// idle idempotent producers.
    /// A log whose `cleanup.policy` lacks `delete` keeps every segment, as in Kafka.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        let retention_ms = self.config.retention_ms;
        if !self.config.delete {
            self.producers.expire(now_ms);
            return Ok(0);
        }
        if retention_ms >= 0 {
            while let Some(first) = self.segments.values().next() {
                let active = self.segments.len() == 1;
                if active && first.is_empty() {
                    break;
                }
                let largest = first.largest_timestamp_for_retention()?;
                if now_ms.saturating_sub(largest) <= retention_ms {
                    break;
                }
                if active {
                    // As Kafka does: an expired active segment goes too, after a roll, so a
                    // partition whose records have all expired ends up empty.
                    self.roll()?;
                }
                self.delete_oldest_segment()?;
                deleted += 1;
            }
        }
        if let Ok(limit) = u64::try_from(self.config.retention_bytes) {
            let mut excess = self.size_bytes().saturating_sub(limit);
            while self.segments.len() > 1 && excess > 0 {
                let Some(first) = self.segments.values().next() else {
                    break;
                };
                if first.size() > excess {
                    break;
                }
                excess -= first.size();
                self.delete_oldest_segment()?;
                deleted += 1;
            }
        }
        self.producers.expire(now_ms);
        if deleted > 0 {
            // Make the removals durable, or a crash could bring deleted segments back.
            checkpoint::sync_dir(&self.dir)?;
        }
        Ok(deleted)
    }

    /// DeleteRecords: moves the log start offset up to `offset` (at most the log end offset)
    /// and deletes the segments wholly below it. The new log start is checkpointed before any
    /// file is removed, so it survives a restart. Returns the log start offset afterwards
    /// (unchanged if `offset` is not above it).
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64, LogError> {
        if !self.config.delete {
            return Err(LogError::PolicyViolation(format!(
                "Records of partition {} can not be deleted due to the configured policy",
                self.partition_name()
            )));
        }
        let log_end = self.log_end_offset();
        if offset < 0 || offset > log_end {
            return Err(LogError::InvalidOffset(format!(
                "cannot delete records before {offset}: the log ends at {log_end}"
            )));
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        checkpoint::write(&self.dir, offset)?;
        self.log_start_offset = offset;
        let mut deleted = false;
        while self.segments.len() > 1 {
            match self.segments.values().next() {
                Some(first) if first.next_offset() <= offset => {
                    self.delete_oldest_segment()?;
                    deleted = true;
                }
                _ => break,
            }
        }
        if deleted {
            checkpoint::sync_dir(&self.dir)?;
        }
        Ok(self.log_start_offset)
    }

    /// Removes the first segment (never the last) and moves the log start offset up to the
    /// new first segment.
    fn delete_oldest_segment(&mut self) -> Result<(), LogError> {
        if self.segments.len() < 2 {
            return Ok(());
        }
        if let Some((base, segment)) = self.segments.pop_first() {
            tracing::info!(dir = %self.dir.display(), base_offset = base, "deleting segment");
            segment.delete_files()?;
        }
        if let Some(&first) = self.segments.keys().next() {
            self.log_start_offset = self.log_start_offset.max(first);
        }
        Ok(())
    }
}
