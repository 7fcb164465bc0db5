//! `topics.json` in the data folder: every topic's name, id, partition count and config
//! overrides, and the partition folders no topic owns that must be removed. Rewritten whole,
//! atomically (temp file, fsync, rename, fsync of the folder), on every change; topic changes
//! are rare next to produce and fetch.
//!
//! ```json
//! { "topics": [ { "name": "orders", "id": "<uuid>", "partitions": 3, "configs": {} } ],
//!   "doomed": [ { "topic": "old", "from": 0, "to": 12 } ] }
//! ```
//!
//! `doomed` (absent when empty) lists folder ranges `<topic>-<from>` .. `<topic>-<to - 1>`: a
//! deleted topic's folders, and the folders of a creation or partition addition that has not
//! completed. Each change writes its entry before it touches a folder, so the registry file
//! decides what happened: a topic is deleted once it is gone from `topics`, created or grown
//! once `topics` says so. Opening removes every doomed folder no registered topic owns.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MetadataError;
use crate::log::faults::{self, Point};

pub const FILE: &str = "topics.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    pub id: uuid::Uuid,
    pub partitions: i32,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// The partition folders `<topic>-<from>` up to `<topic>-<to - 1>`, to be removed unless a
/// registered topic owns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doomed {
    pub topic: String,
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TopicsFile {
    topics: Vec<TopicRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    doomed: Vec<Doomed>,
}

pub fn load(dir: &Path) -> Result<(Vec<TopicRecord>, Vec<Doomed>), MetadataError> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<TopicsFile>(&bytes)
            .map(|f| (f.topics, f.doomed))
            .map_err(|e| MetadataError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), Vec::new())),
        Err(e) => Err(e.into()),
    }
}

pub fn save(dir: &Path, topics: Vec<TopicRecord>, doomed: &[Doomed]) -> Result<(), MetadataError> {
    let file = TopicsFile {
        topics,
        doomed: doomed.to_vec(),
    };
    let bytes =
        serde_json::to_vec_pretty(&file).map_err(|e| MetadataError::Corrupt(e.to_string()))?;
    write_atomically(&dir.join(FILE), &bytes)?;
    Ok(())
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content. An
/// error means the old content is still in place: once the rename is done the new content is
/// what every reader sees, so a failing folder fsync after it is logged, not returned.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        faults::check(Point::Write, &tmp)?;
        file.write_all(bytes)?;
        faults::check(Point::Fsync, &tmp)?;
        file.sync_all()?;
    }
    faults::check(Point::Rename, &tmp)?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        let synced = faults::check(Point::DirSync, parent)
            .and_then(|()| std::fs::File::open(parent)?.sync_all());
        if let Err(e) = synced {
            tracing::error!(file = %path.display(), error = %e,
                "replaced the file but could not fsync its folder; a power loss may undo it");
        }
    }
    Ok(())
}
