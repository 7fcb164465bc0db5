//! A file of fixed-size entries mirrored by an in-memory vector, shared by the offset index and
//! the time index. The vector is the source of truth while the log is open; new entries are
//! appended to the file lazily (on flush, roll and close), because indexes are checked against
//! the log and rebuilt when a partition is opened, so they never need their own fsync on the
//! append path.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::faults::{self, Point};

/// One fixed-size entry of an index file.
pub(super) trait Entry: Copy + PartialEq {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Option<Self>;
}

pub(super) struct EntryFile<E: Entry> {
    path: PathBuf,
    entries: Vec<E>,
    /// How many leading entries are known to be in the file.
    persisted: usize,
}

impl<E: Entry> EntryFile<E> {
    /// An index with no entries whose file is (re)created empty.
    pub(super) fn create(path: PathBuf) -> io::Result<Self> {
        faults::check(Point::IndexCreate, &path)?;
        File::create(&path)?;
        Ok(EntryFile {
            path,
            entries: Vec::new(),
            persisted: 0,
        })
    }

    /// An in-memory index for `path` that has not been compared with the file yet.
    pub(super) fn unchecked(path: PathBuf) -> Self {
        EntryFile {
            path,
            entries: Vec::new(),
            persisted: 0,
        }
    }

    pub(super) fn entries(&self) -> &[E] {
        &self.entries
    }

    pub(super) fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    pub(super) fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// The entries in the file; `None` when it is missing or not a whole number of entries.
    pub(super) fn read(&self) -> io::Result<Option<Vec<E>>> {
        Ok(match read_entries::<E>(&self.path)? {
            OnDisk::Entries(entries) => Some(entries),
            OnDisk::Missing | OnDisk::Malformed => None,
        })
    }

    /// Takes `entries`, which the file holds exactly, as the index.
    pub(super) fn adopt(&mut self, entries: Vec<E>) {
        self.persisted = entries.len();
        self.entries = entries;
    }

    /// Replaces the in-memory entries (the file is left as it is until reconciled).
    pub(super) fn replace(&mut self, entries: Vec<E>) {
        self.entries = entries;
        self.persisted = 0;
    }

    /// Compares the file with the in-memory entries. A file holding a prefix of them is
    /// completed (entries not yet written before a crash are expected); anything else is
    /// rewritten. Returns true when the file was missing or inconsistent.
    pub(super) fn reconcile(&mut self) -> io::Result<bool> {
        match read_entries::<E>(&self.path)? {
            OnDisk::Entries(d) if self.entries.starts_with(&d) => {
                self.persisted = d.len();
                self.persist()?;
                Ok(false)
            }
            OnDisk::Missing if self.entries.is_empty() => {
                self.rewrite()?;
                Ok(false)
            }
            _ => {
                self.rewrite()?;
                Ok(true)
            }
        }
    }

    /// Appends the entries not yet in the file.
    pub(super) fn persist(&mut self) -> io::Result<()> {
        let Some(pending) = self.entries.get(self.persisted..).filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let mut buf = Vec::with_capacity(pending.len() * E::SIZE);
        for e in pending {
            e.encode(&mut buf);
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&buf)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Replaces the file's content with all in-memory entries.
    pub(super) fn rewrite(&mut self) -> io::Result<()> {
        let mut buf = Vec::with_capacity(self.entries.len() * E::SIZE);
        for e in &self.entries {
            e.encode(&mut buf);
        }
        let mut file = File::create(&self.path)?;
        file.write_all(&buf)?;
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Persists and fsyncs the file.
    pub(super) fn sync(&mut self) -> io::Result<()> {
        self.persist()?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?
            .sync_all()
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The file was renamed to `path`.
    pub(super) fn set_path(&mut self, path: PathBuf) {
        self.path = path;
    }
}

enum OnDisk<E> {
    Missing,
    /// Not a whole number of entries.
    Malformed,
    Entries(Vec<E>),
}

fn read_entries<E: Entry>(path: &Path) -> io::Result<OnDisk<E>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OnDisk::Missing),
        Err(e) => return Err(e),
    };
    if bytes.len() % E::SIZE != 0 {
        return Ok(OnDisk::Malformed);
    }
    let entries: Option<Vec<E>> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
    Ok(entries.map_or(OnDisk::Malformed, OnDisk::Entries))
}
