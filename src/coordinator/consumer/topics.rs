//! The topics a consumer group assigns from: name, id and partition count of every topic, as the
//! broker's metadata had them when a request arrived. The coordinator never looks the topics up
//! itself; the handler hands it this image.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

/// One topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicMeta {
    pub id: Uuid,
    pub partitions: i32,
}

/// Every topic, by name and by id.
#[derive(Debug, Clone, Default)]
pub struct TopicImage {
    by_name: BTreeMap<String, TopicMeta>,
    by_id: HashMap<Uuid, String>,
}

impl TopicImage {
    pub fn get(&self, name: &str) -> Option<TopicMeta> {
        self.by_name.get(name).copied()
    }

    pub fn name_of(&self, id: &Uuid) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

impl FromIterator<(String, Uuid, i32)> for TopicImage {
    fn from_iter<I: IntoIterator<Item = (String, Uuid, i32)>>(iter: I) -> TopicImage {
        let mut image = TopicImage::default();
        for (name, id, partitions) in iter {
            image.by_id.insert(id, name.clone());
            image.by_name.insert(name, TopicMeta { id, partitions });
        }
        image
    }
}
