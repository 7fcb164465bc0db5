//! `topics.json` in the data folder: every topic's name, id, partition count and config
//! overrides. Rewritten whole, atomically (temp file, fsync, rename, fsync of the folder), on
//! every change; topic changes are rare next to produce and fetch.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::MetadataError;

pub const FILE: &str = "topics.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    pub id: uuid::Uuid,
    pub partitions: i32,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TopicsFile {
    topics: Vec<TopicRecord>,
}

pub fn load(dir: &Path) -> Result<Vec<TopicRecord>, MetadataError> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<TopicsFile>(&bytes)
            .map(|f| f.topics)
            .map_err(|e| MetadataError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

pub fn save(dir: &Path, topics: Vec<TopicRecord>) -> Result<(), MetadataError> {
    let bytes = serde_json::to_vec_pretty(&TopicsFile { topics })
        .map_err(|e| MetadataError::Corrupt(e.to_string()))?;
    write_atomically(&dir.join(FILE), &bytes)?;
    Ok(())
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}
