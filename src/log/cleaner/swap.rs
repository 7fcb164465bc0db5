//! Putting cleaned segments in place of the old ones so that a crash at any point leaves
//! either every old segment of a pass or every new one, never a mix.
//!
//! A pass writes each replacement segment under temporary names, `<base>.log.cleaned`,
//! `<base>.index.cleaned`, `<base>.timeindex.cleaned` and `<base>.txnindex.cleaned` (always
//! written, empty when no abort marker is kept in it; `<base>` being the base offset of the
//! first segment it replaces), and fsyncs them. Then, under the partition's lock:
//!
//! 1. The swap file `cleaner-swap` is written atomically (temporary file, fsync, rename,
//!    folder fsync). Its rename is the commit point of the pass.
//! 2. For each group: the old segments other than `<base>` are removed (with their
//!    `.txnindex`), the cleaned index files are renamed to their final names, then
//!    `<base>.log.cleaned` is renamed over `<base>.log` (atomically replacing the old first
//!    segment). A missing cleaned offset or time index (renamed by an interrupted earlier
//!    attempt) removes the final one, which opening rebuilds from the log; a missing cleaned
//!    `.txnindex` was renamed already and is left in place.
//! 3. The folder is fsynced and the swap file removed (and the folder fsynced again).
//!
//! Opening a folder ([`recover`], before its segments are listed) finishes what a crash
//! interrupted: with a swap file, every group whose `.log.cleaned` file is still there is
//! carried out as in step 2 (removing files is idempotent, renames are atomic), old
//! segments of groups already renamed are removed if still present; then the swap file goes.
//! Without one, the pass never committed: every `*.cleaned` file is removed and the old
//! segments stand. A swap file that is torn or fails its CRC cannot have been committed (it is
//! renamed into place whole), so it is treated as absent.
//!
//! Swap file format: ASCII text,
//!
//! ```text
//! weir-cleaner-swap 0
//! group <base> <old base> <old base> ...     one line per replacement segment
//! crc <8 hex digits>                         CRC-32C of every byte before this line
//! ```

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use super::super::checkpoint::sync_dir;
use super::super::faults::{self, Point};
use super::super::segment::{file_path, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
use super::super::txn_index::TXN_INDEX_SUFFIX;

/// The files of a segment, the log first.
const SEGMENT_FILES: [&str; 4] = [
    LOG_SUFFIX,
    INDEX_SUFFIX,
    TIME_INDEX_SUFFIX,
    TXN_INDEX_SUFFIX,
];
use super::state::{seal, unseal, write_atomic};

pub(in crate::log) const FILE_NAME: &str = "cleaner-swap";
pub(in crate::log) const CLEANED: &str = "cleaned";
const MAGIC: &str = "weir-cleaner-swap 0";

/// One replacement: the new segment's base and the bases of the segments it replaces (the
/// first of which is the same base).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::log) struct Group {
    pub base: i64,
    pub old: Vec<i64>,
}

/// `<base>.<suffix>.cleaned`
pub(in crate::log) fn cleaned_path(dir: &Path, base: i64, suffix: &str) -> std::path::PathBuf {
    dir.join(format!("{base:020}.{suffix}.{CLEANED}"))
}

fn encode(groups: &[Group]) -> String {
    let mut text = format!("{MAGIC}\n");
    for g in groups {
        let _ = write!(text, "group {}", g.base);
        for old in &g.old {
            let _ = write!(text, " {old}");
        }
        text.push('\n');
    }
    seal(text)
}

fn decode(text: &str) -> Option<Vec<Group>> {
    unseal(text, MAGIC)?
        .map(|line| {
            let mut nums = line
                .strip_prefix("group ")?
                .split(' ')
                .map(str::parse::<i64>);
            let base = nums.next()?.ok()?;
            let old = nums.collect::<Result<Vec<_>, _>>().ok()?;
            Some(Group { base, old })
        })
        .collect()
}

/// Step 1: commits the pass.
pub(super) fn commit(dir: &Path, groups: &[Group]) -> io::Result<()> {
    write_atomic(dir, FILE_NAME, encode(groups).as_bytes())
}

/// Step 2 for one group (also used by recovery): removes the replaced segments other than the
/// base and renames the cleaned files into place, the log last.
pub(super) fn apply(dir: &Path, group: &Group) -> io::Result<()> {
    for &old in group.old.iter().filter(|&&o| o != group.base) {
        for suffix in SEGMENT_FILES {
            remove_if_present(&file_path(dir, old, suffix))?;
        }
    }
    for suffix in [
        INDEX_SUFFIX,
        TIME_INDEX_SUFFIX,
        TXN_INDEX_SUFFIX,
        LOG_SUFFIX,
    ] {
        let from = cleaned_path(dir, group.base, suffix);
        let to = file_path(dir, group.base, suffix);
        faults::check(Point::Rename, &from)?;
        match fs::rename(&from, &to) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && suffix == TXN_INDEX_SUFFIX => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound && suffix != LOG_SUFFIX => {
                // A missing index is rebuilt from the log when the folder is opened; the old
                // one would not match the new log.
                remove_if_present(&to)?;
            }
            other => other?,
        }
    }
    Ok(())
}

/// Step 3: the swap is complete.
pub(super) fn finish(dir: &Path) -> io::Result<()> {
    sync_dir(dir)?;
    remove_if_present(&dir.join(FILE_NAME))?;
    sync_dir(dir)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    faults::check(Point::Remove, path)?;
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Finishes or rolls back a swap a crash interrupted; called when the folder is opened,
/// before its segments are listed.
pub(in crate::log) fn recover(dir: &Path) -> io::Result<()> {
    let manifest = dir.join(FILE_NAME);
    let groups = match fs::read(&manifest) {
        Ok(bytes) => {
            let groups = std::str::from_utf8(&bytes).ok().and_then(decode);
            if groups.is_none() {
                tracing::warn!(dir = %dir.display(), "ignoring a malformed {FILE_NAME} file");
            }
            groups
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut changed = false;
    if let Some(groups) = &groups {
        tracing::warn!(dir = %dir.display(), groups = groups.len(),
            "completing a cleaner swap interrupted by a crash");
        for group in groups {
            if cleaned_path(dir, group.base, LOG_SUFFIX).exists() {
                apply(dir, group)?;
            } else {
                // Renamed already: only old segments may be left.
                for &old in group.old.iter().filter(|&&o| o != group.base) {
                    for suffix in SEGMENT_FILES {
                        remove_if_present(&file_path(dir, old, suffix))?;
                    }
                }
            }
        }
        changed = true;
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(&format!(".{CLEANED}")) {
            tracing::warn!(file = %entry.path().display(), "removing a cleaned segment file of a pass that did not commit");
            remove_if_present(&entry.path())?;
            changed = true;
        }
    }
    if groups.is_some() || manifest.exists() {
        remove_if_present(&manifest)?;
    }
    if changed {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_swap_file_round_trips_and_a_torn_one_is_refused() {
        let groups = vec![
            Group {
                base: 0,
                old: vec![0, 10, 20],
            },
            Group {
                base: 30,
                old: vec![30],
            },
        ];
        let text = encode(&groups);
        assert_eq!(decode(&text), Some(groups));
        for cut in 0..text.len() {
            assert_eq!(decode(&text[..cut]), None, "torn at {cut}");
        }
    }
}
