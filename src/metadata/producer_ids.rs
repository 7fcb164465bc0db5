//! Producer ids for idempotent producers, unique across restarts.
//!
//! Ids are handed out from blocks; the end of the current block is persisted in
//! `producer-ids` before any id of the block is used, so a restart resumes past it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::store::write_atomically;
use super::MetadataError;

const BLOCK: i64 = 1000;
const FILE: &str = "producer-ids";

pub struct ProducerIds {
    path: PathBuf,
    state: Mutex<Block>,
}

struct Block {
    next: i64,
    end: i64,
}

impl ProducerIds {
    pub fn open(dir: &Path) -> Result<ProducerIds, MetadataError> {
        let path = dir.join(FILE);
        let next = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<i64>()
                .map_err(|e| MetadataError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        Ok(ProducerIds {
            path,
            state: Mutex::new(Block { next, end: next }),
        })
    }

    /// A fresh producer id. Blocking (it may persist a new block).
    pub fn allocate(&self) -> Result<i64, MetadataError> {
        let mut block = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if block.next >= block.end {
            let end = block.end + BLOCK;
            write_atomically(&self.path, end.to_string().as_bytes())?;
            block.end = end;
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_never_repeat_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let ids = ProducerIds::open(dir.path()).unwrap();
        let a = ids.allocate().unwrap();
        let b = ids.allocate().unwrap();
        assert!(b > a);
        let reopened = ProducerIds::open(dir.path()).unwrap();
        assert!(reopened.allocate().unwrap() > b);
    }
}
