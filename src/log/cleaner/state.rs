//! The cleaner checkpoint of one partition: `cleaner-checkpoint` in its folder.
//!
//! Format: ASCII text, one item per line, fields separated by single spaces:
//!
//! ```text
//! weir-cleaner-checkpoint 0            magic and format version
//! cleaned <offset>                     the log below this offset is clean (the first dirty offset)
//! last <end_ms> <duration_ms> <bytes_read> <bytes_written> <records_removed>
//!                                      the last pass (broker clock), if there was one
//! horizon <offset> <time_ms>           zero or more, increasing: a pass made everything below
//!                                      <offset> clean at <time_ms>
//! tombstones <due_ms>                  the last pass left tombstones, which may go at <due_ms>
//!                                      (a pass is due then even without dirty records)
//! crc <8 hex digits>                   CRC-32C of every byte before this line
//! ```
//!
//! The horizon lines give the tombstone rule its clock: a tombstone below the offset of a
//! horizon at least `delete.retention.ms` old has been in the cleaned log that long, and may
//! go. Only the newest such horizon matters, so older ones are dropped as soon as a newer one
//! qualifies, and at most [`MAX_HORIZONS`] are kept (merging the oldest keeps tombstones a
//! little longer, never shorter).
//!
//! Written atomically (`cleaner-checkpoint.tmp`, fsync, rename, folder fsync). A file that is
//! missing, torn or fails its CRC reads as no checkpoint: the next pass cleans from the log
//! start, which redoes work but loses nothing, and tombstones wait a full
//! `delete.retention.ms` again.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::super::checkpoint::{sync_dir, TMP_SUFFIX};
use super::super::faults::{self, Point};

pub(in crate::log) const FILE_NAME: &str = "cleaner-checkpoint";
const MAGIC: &str = "weir-cleaner-checkpoint 0";
/// Horizons kept at most.
pub(super) const MAX_HORIZONS: usize = 64;

/// The last cleaning pass of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LastPass {
    /// When it ended (broker clock).
    pub end_ms: i64,
    pub duration_ms: i64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_removed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(in crate::log) struct Checkpoint {
    pub cleaned: i64,
    pub last: Option<LastPass>,
    /// (offset, time_ms), increasing in both.
    pub horizons: Vec<(i64, i64)>,
    pub tombstones_due_ms: Option<i64>,
}

impl Checkpoint {
    /// Tombstones below the returned offset have been clean for `retention_ms` at `now_ms`.
    pub fn tombstones_below(&self, now_ms: i64, retention_ms: i64) -> i64 {
        self.horizons
            .iter()
            .filter(|(_, at)| now_ms.saturating_sub(*at) >= retention_ms)
            .map(|(offset, _)| *offset)
            .max()
            .unwrap_or(-1)
    }

    /// Records a pass that cleaned up to `offset` at `now_ms`.
    pub fn passed(&mut self, offset: i64, now_ms: i64, retention_ms: i64, last: LastPass) {
        self.cleaned = offset;
        self.last = Some(last);
        if self.horizons.last().is_none_or(|(o, _)| *o < offset) {
            self.horizons.push((offset, now_ms));
        }
        // Horizons older than the newest qualifying one say nothing more.
        let qualifying = self
            .horizons
            .iter()
            .rposition(|(_, at)| now_ms.saturating_sub(*at) >= retention_ms);
        if let Some(i) = qualifying {
            self.horizons.drain(..i);
        }
        while self.horizons.len() > MAX_HORIZONS {
            // Merge the two oldest into the later one: their tombstones wait a little longer.
            self.horizons.remove(0);
        }
    }

    fn encode(&self) -> String {
        let mut text = format!("{MAGIC}\ncleaned {}\n", self.cleaned);
        if let Some(l) = self.last {
            let _ = writeln!(
                text,
                "last {} {} {} {} {}",
                l.end_ms, l.duration_ms, l.bytes_read, l.bytes_written, l.records_removed
            );
        }
        for (offset, at) in &self.horizons {
            let _ = writeln!(text, "horizon {offset} {at}");
        }
        if let Some(due) = self.tombstones_due_ms {
            let _ = writeln!(text, "tombstones {due}");
        }
        seal(text)
    }

    fn decode(text: &str) -> Option<Checkpoint> {
        let lines = unseal(text, MAGIC)?;
        let mut out = Checkpoint::default();
        let mut cleaned = None;
        for line in lines {
            let mut fields = line.split(' ');
            let kind = fields.next()?;
            let nums: Vec<i64> = fields.map(|f| f.parse().ok()).collect::<Option<_>>()?;
            match (kind, nums.as_slice()) {
                ("cleaned", [offset]) => cleaned = Some(*offset),
                ("last", [end, duration, read, written, removed]) => {
                    out.last = Some(LastPass {
                        end_ms: *end,
                        duration_ms: *duration,
                        bytes_read: u64::try_from(*read).ok()?,
                        bytes_written: u64::try_from(*written).ok()?,
                        records_removed: u64::try_from(*removed).ok()?,
                    })
                }
                ("horizon", [offset, at]) => out.horizons.push((*offset, *at)),
                ("tombstones", [due]) => out.tombstones_due_ms = Some(*due),
                _ => return None,
            }
        }
        out.cleaned = cleaned?;
        Some(out)
    }
}

/// Reads the checkpoint of the log in `dir`; `None` when missing or not whole.
pub(in crate::log) fn read(dir: &Path) -> io::Result<Option<Checkpoint>> {
    let bytes = match fs::read(dir.join(FILE_NAME)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(Checkpoint::decode);
    if parsed.is_none() {
        tracing::warn!(dir = %dir.display(), "ignoring a torn or malformed {FILE_NAME}; the log will be cleaned from its start");
    }
    Ok(parsed)
}

pub(in crate::log) fn write(dir: &Path, checkpoint: &Checkpoint) -> io::Result<()> {
    write_atomic(dir, FILE_NAME, checkpoint.encode().as_bytes())
}

/// Ends a cleaner text file (this checkpoint, the swap file) with its `crc` line.
pub(super) fn seal(mut text: String) -> String {
    let crc = crc32c::crc32c(text.as_bytes());
    let _ = writeln!(text, "crc {crc:08x}");
    text
}

/// The lines after the magic line of a cleaner text file; `None` if it is torn, fails its
/// CRC or does not start with `magic`.
pub(super) fn unseal<'a>(text: &'a str, magic: &str) -> Option<std::str::Lines<'a>> {
    let (body, crc_line) = text.strip_suffix('\n')?.rsplit_once('\n')?;
    let body = text.get(..body.len() + 1)?;
    let crc = u32::from_str_radix(crc_line.strip_prefix("crc ")?, 16).ok()?;
    if crc32c::crc32c(body.as_bytes()) != crc {
        return None;
    }
    let mut lines = body.lines();
    (lines.next()? == magic).then_some(lines)
}

/// Replaces `dir/name` with `body` atomically and durably.
pub(super) fn write_atomic(dir: &Path, name: &str, body: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    {
        let mut f = File::create(&tmp)?;
        faults::check(Point::Write, &tmp)?;
        f.write_all(body)?;
        faults::check(Point::Fsync, &tmp)?;
        f.sync_all()?;
    }
    faults::check(Point::Rename, &tmp)?;
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let mut c = Checkpoint::default();
        let last = LastPass {
            end_ms: 10,
            duration_ms: 2,
            bytes_read: 300,
            bytes_written: 100,
            records_removed: 7,
        };
        c.passed(100, 1_000, 500, last);
        c.passed(200, 1_200, 500, last);
        c.tombstones_due_ms = Some(1_700);
        c
    }

    #[test]
    fn round_trips_and_every_torn_prefix_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let c = sample();
        write(dir.path(), &c).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(c.clone()));
        let whole = c.encode();
        for cut in 0..whole.len() {
            fs::write(dir.path().join(FILE_NAME), &whole.as_bytes()[..cut]).unwrap();
            assert_eq!(read(dir.path()).unwrap(), None, "torn at {cut}");
        }
        let mut flipped = whole.clone().into_bytes();
        flipped[30] ^= 1;
        fs::write(dir.path().join(FILE_NAME), flipped).unwrap();
        assert_eq!(
            read(dir.path()).unwrap(),
            None,
            "a flipped bit fails the CRC"
        );
    }

    #[test]
    fn tombstones_go_only_below_a_horizon_old_enough() {
        let c = sample();
        assert_eq!(c.horizons, vec![(100, 1_000), (200, 1_200)]);
        assert_eq!(c.tombstones_below(1_400, 500), -1);
        assert_eq!(c.tombstones_below(1_500, 500), 100);
        assert_eq!(c.tombstones_below(1_700, 500), 200);
        let mut c = c;
        c.passed(300, 1_700, 500, LastPass::default());
        assert_eq!(
            c.horizons,
            vec![(200, 1_200), (300, 1_700)],
            "older horizons dropped"
        );
        for i in 0..200 {
            c.passed(400 + i, 1_800 + i, 1_000_000, LastPass::default());
        }
        assert_eq!(c.horizons.len(), MAX_HORIZONS);
        assert!(c.tombstones_below(1_800 + 1_000_000, 1_000_000) <= 400);
    }
}
