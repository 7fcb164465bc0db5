//! The `log-start-offset` file: the log start offset set by DeleteRecords, which segment file
//! names alone cannot tell once it lies inside a segment.
//!
//! Format: ASCII text, two lines: the format version `0`, then the offset in decimal, e.g.
//! `"0\n1234\n"`. Written atomically: to `log-start-offset.tmp`, fsynced, renamed over the old
//! file, then the directory is fsynced. A missing or unreadable file means "no checkpoint": the
//! log starts at its first segment.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::faults::{self, Point};

pub(super) const FILE_NAME: &str = "log-start-offset";
pub(super) const TMP_SUFFIX: &str = ".tmp";
const VERSION: &str = "0";

/// Reads the checkpoint; `Ok(None)` when absent, a warning and `None` when malformed.
pub(super) fn read(dir: &Path) -> io::Result<Option<i64>> {
    let text = match fs::read_to_string(dir.join(FILE_NAME)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => String::new(),
        Err(e) => return Err(e),
    };
    let mut lines = text.lines();
    let parsed = match (lines.next(), lines.next()) {
        (Some(VERSION), Some(offset)) => offset.trim().parse::<i64>().ok().filter(|o| *o >= 0),
        _ => None,
    };
    if parsed.is_none() {
        tracing::warn!(dir = %dir.display(), "ignoring malformed {FILE_NAME} file");
    }
    Ok(parsed)
}

/// Atomically replaces the checkpoint with `offset`.
pub(super) fn write(dir: &Path, offset: i64) -> io::Result<()> {
    let tmp = dir.join(format!("{FILE_NAME}{TMP_SUFFIX}"));
    {
        let mut f = File::create(&tmp)?;
        faults::check(Point::Write, &tmp)?;
        f.write_all(format!("{VERSION}\n{offset}\n").as_bytes())?;
        faults::check(Point::Fsync, &tmp)?;
        f.sync_all()?;
    }
    faults::check(Point::Rename, &tmp)?;
    fs::rename(&tmp, dir.join(FILE_NAME))?;
    sync_dir(dir)
}

/// fsyncs a directory so that file creations, renames and removals in it are durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    faults::check(Point::DirSync, dir)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_malformed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::read(dir.path()).unwrap(), None);
        super::write(dir.path(), 42).unwrap();
        assert_eq!(super::read(dir.path()).unwrap(), Some(42));
        std::fs::write(dir.path().join(super::FILE_NAME), "garbage").unwrap();
        assert_eq!(super::read(dir.path()).unwrap(), None);
    }
}
