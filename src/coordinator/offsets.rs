//! Committed offsets of one group: per topic and partition, the offset, leader epoch, the
//! client's metadata string and the commit time (the base for `offsets.retention.minutes`).

use std::collections::BTreeMap;

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    /// -1 when unknown.
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// The committed offsets of a group.
#[derive(Debug, Clone, Default)]
pub struct Offsets {
    topics: BTreeMap<String, BTreeMap<i32, CommittedOffset>>,
}

impl Offsets {
    pub fn get(&self, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.topics.get(topic)?.get(&partition)
    }

    /// Stores `value`, returning the value it replaces.
    pub fn put(
        &mut self,
        topic: &str,
        partition: i32,
        value: CommittedOffset,
    ) -> Option<CommittedOffset> {
        self.topics
            .entry(topic.to_string())
            .or_default()
            .insert(partition, value)
    }

    /// Removes one partition's offset, returning it.
    pub fn remove(&mut self, topic: &str, partition: i32) -> Option<CommittedOffset> {
        let parts = self.topics.get_mut(topic)?;
        let old = parts.remove(&partition);
        if parts.is_empty() {
            self.topics.remove(topic);
        }
        old
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.topics.values().map(BTreeMap::len).sum()
    }

    /// Every committed offset, by topic then partition.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i32, &CommittedOffset)> {
        self.topics
            .iter()
            .flat_map(|(t, parts)| parts.iter().map(move |(p, o)| (t.as_str(), *p, o)))
    }

    /// The partitions whose offset is older than `retention_ms` at `now_ms`, measured from
    /// `base(offset)`, among topics for which `eligible(topic)` holds.
    pub fn expired(
        &self,
        now_ms: i64,
        retention_ms: i64,
        base: impl Fn(&CommittedOffset) -> i64,
        eligible: impl Fn(&str) -> bool,
    ) -> Vec<(String, i32)> {
        self.iter()
            .filter(|(t, _, o)| eligible(t) && now_ms.saturating_sub(base(o)) >= retention_ms)
            .map(|(t, p, _)| (t.to_string(), p))
            .collect()
    }

    pub fn clear(&mut self) {
        self.topics.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64, ts: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: ts,
        }
    }

    #[test]
    fn put_get_remove() {
        let mut o = Offsets::default();
        assert!(o.put("t", 0, at(5, 1)).is_none());
        assert_eq!(o.put("t", 0, at(6, 2)).unwrap().offset, 5);
        o.put("t", 1, at(7, 2));
        assert_eq!(o.len(), 2);
        assert_eq!(o.get("t", 0).unwrap().offset, 6);
        assert_eq!(o.remove("t", 0).unwrap().offset, 6);
        assert!(o.remove("t", 0).is_none());
        o.remove("t", 1);
        assert!(o.is_empty());
    }

    #[test]
    fn expiry_by_commit_time_and_topic_filter() {
        let mut o = Offsets::default();
        o.put("a", 0, at(1, 100));
        o.put("a", 1, at(1, 500));
        o.put("b", 0, at(1, 100));
        let exp = o.expired(1100, 1000, |c| c.commit_timestamp_ms, |_| true);
        assert_eq!(exp, vec![("a".to_string(), 0), ("b".to_string(), 0)]);
        let exp = o.expired(1100, 1000, |c| c.commit_timestamp_ms, |t| t != "a");
        assert_eq!(exp, vec![("b".to_string(), 0)]);
    }
}
