//! The topic registry: topics by name and by id, each with its partitions.
//!
//! Partition data lives in `<data>/<topic>-<partition>/`. Deleting a topic first renames its
//! folders to `<topic>-<partition>.<id>-delete`, persists the registry, then removes them, so a
//! crash in between never leaves old data under a name a new topic could reuse; leftovers are
//! removed on the next start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use uuid::Uuid;

use super::store::{self, TopicRecord};
use super::{topic_config, validate_topic_name, MetadataError};
use crate::clock::Clock;
use crate::log::{LogConfig, PartitionLog};
use crate::partition::Partition;

pub struct Topic {
    pub name: String,
    pub id: Uuid,
    partitions: RwLock<Vec<Arc<Partition>>>,
    configs: RwLock<BTreeMap<String, String>>,
}

impl Topic {
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        let partitions = self.partitions.read().unwrap_or_else(|p| p.into_inner());
        usize::try_from(index)
            .ok()
            .and_then(|i| partitions.get(i).cloned())
    }

    pub fn partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn partition_count(&self) -> i32 {
        self.partitions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len() as i32
    }

    /// The topic's config overrides (keys set explicitly on the topic).
    pub fn configs(&self) -> BTreeMap<String, String> {
        self.configs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn record(&self) -> TopicRecord {
        TopicRecord {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partition_count(),
            configs: self.configs(),
        }
    }
}

/// What a CreateTopics request (or auto-creation) asks for.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

pub struct Topics {
    dir: PathBuf,
    broker_log: LogConfig,
    /// Handed to every partition: it stamps appends and ages segments.
    clock: Clock,
    by_name: RwLock<HashMap<String, Arc<Topic>>>,
    by_id: RwLock<HashMap<Uuid, Arc<Topic>>>,
    // Serialises changes (create, delete) and the registry file they rewrite.
    changes: Mutex<()>,
}

impl Topics {
    /// Opens every topic in `dir`, recovering each partition's log. Blocking.
    pub fn open(dir: &Path, broker_log: LogConfig, clock: Clock) -> Result<Topics, MetadataError> {
        std::fs::create_dir_all(dir)?;
        remove_deleted_leftovers(dir);
        let topics = Topics {
            dir: dir.to_path_buf(),
            broker_log,
            clock,
            by_name: RwLock::new(HashMap::new()),
            by_id: RwLock::new(HashMap::new()),
            changes: Mutex::new(()),
        };
        for record in store::load(dir)? {
            let topic = topics.open_topic(&record)?;
            topics.insert(topic);
        }
        Ok(topics)
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        self.by_id
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// All topics, sorted by name.
    pub fn list(&self) -> Vec<Arc<Topic>> {
        let mut all: Vec<_> = self
            .by_name
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Checks a spec without creating anything.
    pub fn validate(&self, spec: &TopicSpec) -> Result<(), MetadataError> {
        validate_topic_name(&spec.name)?;
        if spec.partitions < 1 {
            return Err(MetadataError::InvalidPartitions(format!(
                "{} partitions requested, at least 1 is needed",
                spec.partitions
            )));
        }
        topic_config::validate_all(&spec.configs)?;
        if self.get(&spec.name).is_some() {
            return Err(MetadataError::TopicExists(spec.name.clone()));
        }
        Ok(())
    }

    /// Creates a topic and its partition folders, and persists it. Blocking.
    pub fn create(&self, spec: TopicSpec) -> Result<Arc<Topic>, MetadataError> {
        let _guard = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        self.validate(&spec)?;
        let record = TopicRecord {
            name: spec.name,
            id: Uuid::new_v4(),
            partitions: spec.partitions,
            configs: spec.configs,
        };
        // Folders under a name the registry does not know are leftovers of a crash: start clean.
        for p in 0..record.partitions {
            let dir = self.partition_dir(&record.name, p);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
        }
        let topic = self.open_topic(&record)?;
        let mut records = self.records();
        records.push(record);
        store::save(&self.dir, records)?;
        self.insert(topic.clone());
        tracing::info!(topic = %topic.name, partitions = topic.partition_count(), "created topic");
        Ok(topic)
    }

    /// Deletes a topic and its data. Blocking.
    pub fn delete(&self, name: &str) -> Result<Uuid, MetadataError> {
        let _guard = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let topic = self
            .get(name)
            .ok_or_else(|| MetadataError::UnknownTopic(name.to_string()))?;
        let mut doomed = Vec::new();
        for partition in topic.partitions() {
            let dir = self.partition_dir(name, partition.index);
            let target = self.dir.join(format!(
                "{name}-{}.{}-delete",
                partition.index,
                topic.id.simple()
            ));
            partition.flush()?;
            std::fs::rename(&dir, &target)?;
            doomed.push(target);
        }
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&topic.id);
        store::save(&self.dir, self.records())?;
        for dir in doomed {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::warn!("could not remove {}: {e}", dir.display());
            }
        }
        tracing::info!(topic = %name, "deleted topic");
        Ok(topic.id)
    }

    /// Replaces a topic's config overrides with what `change` makes of the current ones:
    /// validates the result, and unless `validate_only`, persists it and applies it to every
    /// partition log at once (no restart needed). Returns the new overrides. Blocking.
    pub fn update_configs<F>(
        &self,
        name: &str,
        validate_only: bool,
        change: F,
    ) -> Result<BTreeMap<String, String>, MetadataError>
    where
        F: FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, MetadataError>,
    {
        let _guard = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let topic = self
            .get(name)
            .ok_or_else(|| MetadataError::UnknownTopic(name.to_string()))?;
        let configs = change(&topic.configs())?;
        topic_config::validate_all(&configs)?;
        if validate_only {
            return Ok(configs);
        }
        let previous = std::mem::replace(
            &mut *topic.configs.write().unwrap_or_else(|p| p.into_inner()),
            configs.clone(),
        );
        if let Err(e) = store::save(&self.dir, self.records()) {
            *topic.configs.write().unwrap_or_else(|p| p.into_inner()) = previous;
            return Err(e);
        }
        let log_config = self.log_config(&configs);
        for partition in topic.partitions() {
            partition.set_config(log_config.clone());
        }
        tracing::info!(topic = %name, ?configs, "altered topic configs");
        Ok(configs)
    }

    /// Grows a topic to `count` partitions (Kafka never shrinks one). With `validate_only`
    /// only checks. New partitions are usable as soon as this returns. Blocking.
    pub fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), MetadataError> {
        let _guard = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let topic = self
            .get(name)
            .ok_or_else(|| MetadataError::UnknownTopic(name.to_string()))?;
        let current = topic.partition_count();
        if count <= current {
            let how = if count == current {
                "equal to"
            } else {
                "lower than"
            };
            return Err(MetadataError::InvalidPartitions(format!(
                "topic {name:?} has {current} partitions; the requested count {count} is {how} that, and partitions can only be added"
            )));
        }
        if validate_only {
            return Ok(());
        }
        let config = self.log_config(&topic.configs());
        let mut added = Vec::new();
        for p in current..count {
            let dir = self.partition_dir(name, p);
            // A folder the registry does not know is a leftover of a crash: start clean.
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            let log = PartitionLog::open(dir, config.clone())?;
            added.push(Arc::new(Partition::new(p, log, self.clock.clone())));
        }
        let mut records = self.records();
        if let Some(record) = records.iter_mut().find(|r| r.name == name) {
            record.partitions = count;
        }
        store::save(&self.dir, records)?;
        topic
            .partitions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(added);
        tracing::info!(topic = %name, from = current, to = count, "added partitions");
        Ok(())
    }

    /// Flushes every partition (clean shutdown). Blocking.
    pub fn flush_all(&self) {
        for topic in self.list() {
            for partition in topic.partitions() {
                if let Err(e) = partition.flush() {
                    tracing::error!(topic = %topic.name, partition = partition.index, "flush failed: {e}");
                }
            }
        }
    }

    /// Applies retention to every partition. Blocking.
    pub fn enforce_retention(&self) {
        for topic in self.list() {
            for partition in topic.partitions() {
                match partition.apply_retention() {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(topic = %topic.name, partition = partition.index, segments = n, "retention deleted segments");
                    }
                    Err(e) => {
                        tracing::error!(topic = %topic.name, partition = partition.index, "retention failed: {e}")
                    }
                }
            }
        }
    }

    /// The effective log settings of a topic with these overrides.
    pub fn log_config(&self, overrides: &BTreeMap<String, String>) -> LogConfig {
        topic_config::log_config(&self.broker_log, overrides)
    }

    fn open_topic(&self, record: &TopicRecord) -> Result<Arc<Topic>, MetadataError> {
        let config = self.log_config(&record.configs);
        let partitions = (0..record.partitions)
            .map(|p| {
                let log = PartitionLog::open(self.partition_dir(&record.name, p), config.clone())?;
                Ok(Arc::new(Partition::new(p, log, self.clock.clone())))
            })
            .collect::<Result<Vec<_>, MetadataError>>()?;
        Ok(Arc::new(Topic {
            name: record.name.clone(),
            id: record.id,
            partitions: RwLock::new(partitions),
            configs: RwLock::new(record.configs.clone()),
        }))
    }

    fn insert(&self, topic: Arc<Topic>) {
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.id, topic.clone());
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.name.clone(), topic);
    }

    fn records(&self) -> Vec<TopicRecord> {
        self.list().iter().map(|t| t.record()).collect()
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.dir.join(format!("{topic}-{partition}"))
    }
}

fn remove_deleted_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && path.to_string_lossy().ends_with("-delete") {
            if let Err(e) = std::fs::remove_dir_all(&path) {
                tracing::warn!("could not remove {}: {e}", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, partitions: i32) -> TopicSpec {
        TopicSpec {
            name: name.to_string(),
            partitions,
            configs: BTreeMap::new(),
        }
    }

    #[test]
    fn topics_survive_reopen_with_their_ids() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        let created = topics.create(spec("orders", 3)).unwrap();
        assert!(matches!(
            topics.create(spec("orders", 1)),
            Err(MetadataError::TopicExists(_))
        ));
        drop(topics);
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        let t = topics.get("orders").unwrap();
        assert_eq!(t.id, created.id);
        assert_eq!(t.partition_count(), 3);
        assert!(topics.get_by_id(&created.id).is_some());
    }

    #[test]
    fn delete_removes_data_and_name_can_be_reused() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        topics.create(spec("t", 2)).unwrap();
        topics.delete("t").unwrap();
        assert!(topics.get("t").is_none());
        assert!(!dir.path().join("t-0").exists());
        let again = topics.create(spec("t", 1)).unwrap();
        assert_eq!(again.partition(0).unwrap().high_watermark(), 0);
        assert!(matches!(
            topics.delete("nope"),
            Err(MetadataError::UnknownTopic(_))
        ));
    }

    #[test]
    fn invalid_specs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        assert!(matches!(
            topics.create(spec("bad name", 1)),
            Err(MetadataError::InvalidTopic(_))
        ));
        assert!(matches!(
            topics.create(spec("t", 0)),
            Err(MetadataError::InvalidPartitions(_))
        ));
    }

    #[test]
    fn config_changes_persist_and_apply_to_live_logs() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        topics.create(spec("c", 2)).unwrap();
        let set = |key: &str, value: &str| {
            let (key, value) = (key.to_string(), value.to_string());
            move |old: &BTreeMap<String, String>| {
                let mut new = old.clone();
                new.insert(key, value);
                Ok(new)
            }
        };
        topics
            .update_configs("c", true, set("retention.ms", "5"))
            .unwrap();
        assert!(
            topics.get("c").unwrap().configs().is_empty(),
            "validate_only changes nothing"
        );
        assert!(matches!(
            topics.update_configs("c", false, set("retention.ms", "x")),
            Err(MetadataError::InvalidConfig(_))
        ));
        assert!(matches!(
            topics.update_configs("nope", false, set("retention.ms", "5")),
            Err(MetadataError::UnknownTopic(_))
        ));
        topics
            .update_configs("c", false, set("segment.bytes", "2048"))
            .unwrap();
        let t = topics.get("c").unwrap();
        assert_eq!(
            t.configs().get("segment.bytes").map(String::as_str),
            Some("2048")
        );
        assert_eq!(t.partition(1).unwrap().config().segment_bytes, 2048);
        drop((t, topics));
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        let t = topics.get("c").unwrap();
        assert_eq!(t.partition(0).unwrap().config().segment_bytes, 2048);
    }

    #[test]
    fn partitions_are_added_never_removed_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        topics.create(spec("p", 2)).unwrap();
        for bad in [1, 2] {
            assert!(matches!(
                topics.add_partitions("p", bad, false),
                Err(MetadataError::InvalidPartitions(_))
            ));
        }
        topics.add_partitions("p", 5, true).unwrap();
        assert_eq!(topics.get("p").unwrap().partition_count(), 2);
        topics.add_partitions("p", 5, false).unwrap();
        assert_eq!(topics.get("p").unwrap().partition_count(), 5);
        assert!(dir.path().join("p-4").is_dir());
        drop(topics);
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        assert_eq!(topics.get("p").unwrap().partition_count(), 5);
    }
}
