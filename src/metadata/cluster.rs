//! `meta.properties` in the data folder: the cluster id (stable across restarts) and node id,
//! in the same `key=value` format Kafka uses.

use std::path::Path;

use super::store::write_atomically;
use super::MetadataError;

#[derive(Debug, Clone)]
pub struct ClusterMeta {
    pub cluster_id: String,
}

const FILE: &str = "meta.properties";

impl ClusterMeta {
    /// Reads the cluster id, creating and persisting a new one on first start.
    pub fn load_or_create(dir: &Path, node_id: i32) -> Result<ClusterMeta, MetadataError> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let cluster_id = text
                    .lines()
                    .filter_map(|line| line.split_once('='))
                    .find(|(k, _)| k.trim() == "cluster.id")
                    .map(|(_, v)| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        MetadataError::Corrupt(format!("{} has no cluster.id", path.display()))
                    })?;
                Ok(ClusterMeta { cluster_id })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let cluster_id = uuid::Uuid::new_v4().simple().to_string();
                let text = format!("version=1\ncluster.id={cluster_id}\nnode.id={node_id}\n");
                write_atomically(&path, text.as_bytes())?;
                Ok(ClusterMeta { cluster_id })
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = ClusterMeta::load_or_create(dir.path(), 1).unwrap();
        let b = ClusterMeta::load_or_create(dir.path(), 1).unwrap();
        assert_eq!(a.cluster_id, b.cluster_id);
        assert!(!a.cluster_id.is_empty());
    }
}
