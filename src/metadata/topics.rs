//! The topic registry: topics by name and by id, each with its partitions.
//!
//! Partition data lives in `<data>/<topic>-<partition>/`. Every change is decided by one
//! atomic write of the registry (`store.rs`) and only then carried out on folders, so a
//! failure or a crash at any step leaves either the old state or the new one:
//!
//! - deleting a topic writes the registry without it, its folders listed as doomed, then
//!   removes them;
//! - creating a topic or adding partitions first lists the new folders as doomed, creates
//!   them, then writes the registry with the topic (or the count) and without the entry; a
//!   failure on the way removes the new folders again.
//!
//! Opening removes doomed folders no registered topic owns, finishing whatever a crash
//! interrupted. Folders renamed `...-delete` by earlier versions are removed too.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use uuid::Uuid;

use super::budget::{self, MAX_PARTITIONS_PER_REQUEST};
use super::store::{self, Doomed, TopicRecord};
use super::{topic_config, validate_topic_name, MetadataError};
use crate::clock::Clock;
use crate::log::faults::{self, Point};
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
    // Serialises changes (create, delete, configs, partitions) and the registry file they
    // rewrite; holds the doomed folder ranges the file lists.
    changes: Mutex<Vec<Doomed>>,
}

impl Topics {
    /// Opens every topic in `dir`, recovering each partition's log, after removing the folders
    /// of changes a crash interrupted. Blocking.
    pub fn open(dir: &Path, broker_log: LogConfig, clock: Clock) -> Result<Topics, MetadataError> {
        std::fs::create_dir_all(dir)?;
        remove_deleted_leftovers(dir);
        let (records, doomed) = store::load(dir)?;
        let topics = Topics {
            dir: dir.to_path_buf(),
            broker_log,
            clock,
            by_name: RwLock::new(HashMap::new()),
            by_id: RwLock::new(HashMap::new()),
            changes: Mutex::new(Vec::new()),
        };
        let owned = |topic: &str, p: i32| {
            records
                .iter()
                .any(|r| r.name == topic && (0..r.partitions).contains(&p))
        };
        let mut left = Vec::new();
        for d in &doomed {
            if !topics.remove_folders(d, |p| owned(&d.topic, p)) {
                left.push(d.clone());
            }
        }
        let listed = if left == doomed {
            left
        } else if let Err(e) = store::save(dir, records.clone(), &left) {
            // The folders are gone; the entries go at the next registry write.
            tracing::warn!(error = %e, "could not update the topic registry after removing folders");
            doomed
        } else {
            left
        };
        *topics.lock_changes() = listed;
        for record in &records {
            let topic = topics.open_topic(record)?;
            topics.insert(topic);
        }
        Ok(topics)
    }

    fn lock_changes(&self) -> MutexGuard<'_, Vec<Doomed>> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
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
        if i64::from(spec.partitions) > MAX_PARTITIONS_PER_REQUEST {
            return Err(MetadataError::PolicyViolation(
                EXCESSIVE_PARTITIONS.to_string(),
            ));
        }
        topic_config::validate_all(&spec.configs)?;
        if self.get(&spec.name).is_some() {
            return Err(MetadataError::TopicExists(spec.name.clone()));
        }
        Ok(())
    }

    /// Creates a topic and its partition folders, and persists it; on failure nothing of it
    /// remains. Blocking.
    pub fn create(&self, spec: TopicSpec) -> Result<Arc<Topic>, MetadataError> {
        let mut doomed = self.lock_changes();
        self.validate(&spec)?;
        budget::check(&self.dir, i64::from(spec.partitions))?;
        let record = TopicRecord {
            name: spec.name,
            id: Uuid::new_v4(),
            partitions: spec.partitions,
            configs: spec.configs,
        };
        // Folders of an earlier topic of this name whose removal did not finish go first.
        let earlier: Vec<Doomed> = doomed
            .iter()
            .filter(|d| d.topic == record.name)
            .cloned()
            .collect();
        for d in &earlier {
            if !self.remove_folders(d, |_| false) {
                return Err(MetadataError::Io(std::io::Error::other(format!(
                    "the folders of an earlier topic {:?} could not be removed",
                    record.name
                ))));
            }
        }
        doomed.retain(|d| d.topic != record.name);
        let intent = Doomed {
            topic: record.name.clone(),
            from: 0,
            to: record.partitions,
        };
        doomed.push(intent.clone());
        if let Err(e) = store::save(&self.dir, self.records(), &doomed) {
            doomed.pop();
            return Err(e);
        }
        let opened = (|| {
            // A folder the registry never owned is a leftover of a crash: start clean.
            for p in 0..record.partitions {
                let dir = self.partition_dir(&record.name, p);
                if dir.exists() {
                    faults::check(Point::Remove, &dir)?;
                    std::fs::remove_dir_all(&dir)?;
                }
            }
            self.open_topic(&record)
        })();
        let topic = match opened {
            Ok(topic) => topic,
            Err(e) => {
                self.abandon(&mut doomed, &intent);
                return Err(e);
            }
        };
        let mut records = self.records();
        records.push(record);
        doomed.retain(|d| *d != intent);
        if let Err(e) = store::save(&self.dir, records, &doomed) {
            drop(topic);
            doomed.push(intent.clone());
            self.abandon(&mut doomed, &intent);
            return Err(e);
        }
        self.insert(topic.clone());
        tracing::info!(topic = %topic.name, partitions = topic.partition_count(), "created topic");
        Ok(topic)
    }

    /// Deletes a topic and its data. The deletion is decided, and answered, by the registry
    /// write; folders that cannot be removed now are removed when the broker next opens.
    /// Blocking.
    pub fn delete(&self, name: &str) -> Result<Uuid, MetadataError> {
        let mut doomed = self.lock_changes();
        let topic = self
            .get(name)
            .ok_or_else(|| MetadataError::UnknownTopic(name.to_string()))?;
        let entry = Doomed {
            topic: name.to_string(),
            from: 0,
            to: topic.partition_count(),
        };
        doomed.push(entry.clone());
        let records: Vec<TopicRecord> = self
            .records()
            .into_iter()
            .filter(|r| r.name != name)
            .collect();
        if let Err(e) = store::save(&self.dir, records, &doomed) {
            doomed.pop();
            return Err(e);
        }
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&topic.id);
        let mut removed = true;
        for partition in topic.partitions() {
            let dir = self.partition_dir(name, partition.index);
            let result = partition
                .while_idle(|| faults::check(Point::Remove, &dir).and_then(|()| remove_dir(&dir)));
            if let Err(e) = result {
                tracing::warn!(dir = %dir.display(), error = %e,
                    "could not remove a deleted partition; it is removed at the next start");
                removed = false;
            }
        }
        if removed {
            doomed.retain(|d| *d != entry);
            if let Err(e) = store::save(&self.dir, self.records(), &doomed) {
                tracing::warn!(error = %e, "could not update the topic registry after a deletion");
            }
        }
        tracing::info!(topic = %name, "deleted topic");
        Ok(topic.id)
    }

    /// Deletes every topic and its data, decided by one registry write (as [`Topics::delete`]
    /// decides one); returns how many topics there were. Folders that cannot be removed now
    /// are removed when the broker next opens. Blocking.
    pub fn delete_all(&self) -> Result<usize, MetadataError> {
        let mut doomed = self.lock_changes();
        let topics = self.list();
        if topics.is_empty() {
            return Ok(0);
        }
        let entries: Vec<Doomed> = topics
            .iter()
            .map(|t| Doomed {
                topic: t.name.clone(),
                from: 0,
                to: t.partition_count(),
            })
            .collect();
        let before = doomed.len();
        doomed.extend(entries.iter().cloned());
        if let Err(e) = store::save(&self.dir, Vec::new(), &doomed) {
            doomed.truncate(before);
            return Err(e);
        }
        self.by_name
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut removed = true;
        for topic in &topics {
            for partition in topic.partitions() {
                let dir = self.partition_dir(&topic.name, partition.index);
                let result = partition.while_idle(|| {
                    faults::check(Point::Remove, &dir).and_then(|()| remove_dir(&dir))
                });
                if let Err(e) = result {
                    tracing::warn!(dir = %dir.display(), error = %e,
                        "could not remove a deleted partition; it is removed at the next start");
                    removed = false;
                }
            }
        }
        if removed {
            doomed.retain(|d| !entries.contains(d));
            if let Err(e) = store::save(&self.dir, Vec::new(), &doomed) {
                tracing::warn!(error = %e, "could not update the topic registry after a deletion");
            }
        }
        tracing::info!(topics = topics.len(), "deleted every topic");
        Ok(topics.len())
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
        let doomed = self.lock_changes();
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
        if let Err(e) = store::save(&self.dir, self.records(), &doomed) {
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
    /// only checks. New partitions are usable as soon as this returns; on failure none of
    /// them remains. Blocking.
    pub fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), MetadataError> {
        let mut doomed = self.lock_changes();
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
        let added = i64::from(count) - i64::from(current);
        if added > MAX_PARTITIONS_PER_REQUEST {
            return Err(MetadataError::PolicyViolation(EXCESSIVE_BATCH.to_string()));
        }
        budget::check(&self.dir, added)?;
        if validate_only {
            return Ok(());
        }
        let intent = Doomed {
            topic: name.to_string(),
            from: current,
            to: count,
        };
        doomed.push(intent.clone());
        if let Err(e) = store::save(&self.dir, self.records(), &doomed) {
            doomed.pop();
            return Err(e);
        }
        let config = self.log_config(&topic.configs());
        let opened = (current..count)
            .map(|p| {
                let dir = self.partition_dir(name, p);
                // A folder the registry never owned is a leftover of a crash: start clean.
                if dir.exists() {
                    faults::check(Point::Remove, &dir)?;
                    std::fs::remove_dir_all(&dir)?;
                }
                let log = PartitionLog::open(dir, config.clone())?;
                Ok(Arc::new(Partition::new(p, log, self.clock.clone())))
            })
            .collect::<Result<Vec<_>, MetadataError>>();
        let added = match opened {
            Ok(added) => added,
            Err(e) => {
                self.abandon(&mut doomed, &intent);
                return Err(e);
            }
        };
        let mut records = self.records();
        if let Some(record) = records.iter_mut().find(|r| r.name == name) {
            record.partitions = count;
        }
        doomed.retain(|d| *d != intent);
        if let Err(e) = store::save(&self.dir, records, &doomed) {
            drop(added);
            doomed.push(intent.clone());
            self.abandon(&mut doomed, &intent);
            return Err(e);
        }
        topic
            .partitions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .extend(added);
        tracing::info!(topic = %name, from = current, to = count, "added partitions");
        Ok(())
    }

    /// Undoes a creation or addition that failed after `intent` was written: removes its
    /// folders and the entry. What cannot be removed now stays listed for the next start.
    fn abandon(&self, doomed: &mut Vec<Doomed>, intent: &Doomed) {
        let topic = self.get(&intent.topic);
        let owned = |p: i32| topic.as_ref().is_some_and(|t| p < t.partition_count());
        if self.remove_folders(intent, owned) {
            doomed.retain(|d| d != intent);
            if let Err(e) = store::save(&self.dir, self.records(), doomed) {
                tracing::warn!(error = %e, "could not update the topic registry");
            }
        }
    }

    /// Removes the folders of `doomed` that `owned` does not claim; true if none is left.
    fn remove_folders(&self, doomed: &Doomed, owned: impl Fn(i32) -> bool) -> bool {
        let mut all = true;
        for p in doomed.from..doomed.to {
            if owned(p) {
                continue;
            }
            let dir = self.partition_dir(&doomed.topic, p);
            if let Err(e) = faults::check(Point::Remove, &dir).and_then(|()| remove_dir(&dir)) {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a partition folder");
                all = false;
            }
        }
        all
    }

    /// Flushes every partition (clean shutdown), except those a failed fsync took offline:
    /// they were reported then, and the restart recovers them. Blocking.
    pub fn flush_all(&self) {
        for topic in self.list() {
            for partition in topic.partitions() {
                if partition.is_offline() {
                    continue;
                }
                if let Err(e) = partition.flush() {
                    tracing::error!(topic = %topic.name, partition = partition.index, "flush failed: {e}");
                }
            }
        }
    }

    /// Applies retention to every partition that is not offline. Blocking.
    pub fn enforce_retention(&self) {
        for topic in self.list() {
            for partition in topic.partitions() {
                if partition.is_offline() {
                    continue;
                }
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

/// Kafka's message for a CreateTopics request asking for more than
/// [`MAX_PARTITIONS_PER_REQUEST`] partitions in all.
pub const EXCESSIVE_PARTITIONS: &str = "Excessively large number of partitions per request.";
/// Kafka's message for a request that would change more than its controller takes at once.
pub const EXCESSIVE_BATCH: &str = "Unable to perform excessively large batch operation.";

/// Removes a folder and everything in it; a folder already gone is fine.
fn remove_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
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
    use crate::log::faults::{self, Point, Rule};

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

    /// One record appended to every partition of `topic`.
    fn fill(topic: &Topic) {
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let record = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: -1,
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(bytes::Bytes::from_static(b"acknowledged")),
            headers: Default::default(),
        };
        let mut buf = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, [&record], &options).unwrap();
        for partition in topic.partitions() {
            partition.append(buf.clone().freeze()).unwrap();
        }
    }

    /// Names in `dir` that belong to partition folders of `topic`.
    fn folders_of(dir: &Path, topic: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.strip_prefix(topic)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .collect();
        names.sort();
        names
    }

    const POINTS: [Point; 8] = [
        Point::Rename,
        Point::Write,
        Point::Fsync,
        Point::DirSync,
        Point::Remove,
        Point::DirCreate,
        Point::SegmentCreate,
        Point::IndexCreate,
    ];

    #[test]
    fn a_deletion_failing_at_any_step_never_loses_data_of_a_topic_that_stays() {
        for point in POINTS {
            for skip in 0..3 {
                let dir = tempfile::tempdir().unwrap();
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                fill(&topics.create(spec("t", 3)).unwrap());
                let result = {
                    let _fail = faults::arm(Rule::once(point, dir.path()).skip(skip));
                    topics.delete("t")
                };
                assert_eq!(
                    result.is_ok(),
                    topics.get("t").is_none(),
                    "{point:?}/{skip}: the answer must tell what happened"
                );
                drop(topics);
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                match topics.get("t") {
                    Some(t) => {
                        assert!(result.is_err(), "{point:?}/{skip}: deleted topic came back");
                        for p in t.partitions() {
                            assert_eq!(p.high_watermark(), 1, "{point:?}/{skip}: data lost");
                        }
                    }
                    None => {
                        assert!(result.is_ok(), "{point:?}/{skip}: {result:?}");
                        assert_eq!(folders_of(dir.path(), "t"), Vec::<String>::new());
                        let again = topics.create(spec("t", 3)).unwrap();
                        assert_eq!(again.partition(0).unwrap().high_watermark(), 0);
                    }
                }
            }
        }
    }

    #[test]
    fn deleting_every_topic_failing_at_any_step_deletes_all_or_none() {
        for point in POINTS {
            for skip in 0..3 {
                let dir = tempfile::tempdir().unwrap();
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                fill(&topics.create(spec("a", 2)).unwrap());
                fill(&topics.create(spec("b", 3)).unwrap());
                let result = {
                    let _fail = faults::arm(Rule::once(point, dir.path()).skip(skip));
                    topics.delete_all()
                };
                assert_eq!(
                    result.is_ok(),
                    topics.list().is_empty(),
                    "{point:?}/{skip}: the answer must tell what happened"
                );
                drop(topics);
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                let names: Vec<String> = topics.list().iter().map(|t| t.name.clone()).collect();
                match &result {
                    Ok(n) => {
                        assert_eq!(*n, 2);
                        assert!(
                            names.is_empty(),
                            "{point:?}/{skip}: deleted topics came back"
                        );
                        for t in ["a", "b"] {
                            assert_eq!(folders_of(dir.path(), t), Vec::<String>::new());
                        }
                    }
                    Err(_) => {
                        assert_eq!(names, vec!["a", "b"], "{point:?}/{skip}");
                        for t in topics.list() {
                            for p in t.partitions() {
                                assert_eq!(p.high_watermark(), 1, "{point:?}/{skip}: data lost");
                            }
                        }
                    }
                }
                assert_eq!(topics.delete_all().unwrap(), names.len());
                assert_eq!(topics.delete_all().unwrap(), 0);
            }
        }
    }

    #[test]
    fn a_topic_whose_name_makes_long_folder_names_is_deleted_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        let name = "n".repeat(249);
        fill(&topics.create(spec(&name, 12)).unwrap());
        topics.delete(&name).unwrap();
        drop(topics);
        let topics = Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
        assert!(topics.get(&name).is_none());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only topics.json"
        );
    }

    #[test]
    fn a_creation_or_addition_failing_at_any_step_leaves_no_partition_folder() {
        for point in POINTS {
            for skip in [0, 1, 4, 7] {
                let dir = tempfile::tempdir().unwrap();
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                let created = {
                    let _fail = faults::arm(Rule::once(point, dir.path()).skip(skip));
                    topics.create(spec("c", 4))
                };
                let expected = if created.is_ok() { 4 } else { 0 };
                assert_eq!(
                    folders_of(dir.path(), "c").len(),
                    expected,
                    "{point:?}/{skip}"
                );
                if created.is_err() {
                    assert!(topics.get("c").is_none());
                    topics.create(spec("c", 4)).unwrap();
                }
                let grown = {
                    let _fail = faults::arm(Rule::once(point, dir.path()).skip(skip));
                    topics.add_partitions("c", 8, false)
                };
                let count = topics.get("c").unwrap().partition_count();
                assert_eq!(count, if grown.is_ok() { 8 } else { 4 }, "{point:?}/{skip}");
                assert_eq!(folders_of(dir.path(), "c").len(), count as usize);
                drop(topics);
                let topics =
                    Topics::open(dir.path(), LogConfig::default(), Clock::system()).unwrap();
                let t = topics.get("c").unwrap();
                assert_eq!(t.partition_count(), count);
                assert_eq!(folders_of(dir.path(), "c").len(), count as usize);
            }
        }
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
