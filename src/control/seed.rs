//! Topics created at start from a file (`weir serve --topics FILE`), and again by each reset.
//!
//! The file is TOML, or JSON when its name ends in `.json`:
//!
//! ```toml
//! [[topic]]
//! name = "orders"
//! partitions = 3                                # default: num.partitions
//! configs = { "retention.ms" = "86400000" }      # optional, Kafka topic configs
//! ```
//!
//! ```json
//! {"topic": [{"name": "orders", "partitions": 3, "configs": {"retention.ms": "86400000"}}]}
//! ```
//!
//! A topic that already exists (a broker restarted on its data) is left as it is.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::metadata::{MetadataError, TopicSpec, Topics};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    topic: Vec<SeedTopic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedTopic {
    name: String,
    partitions: Option<i32>,
    #[serde(default)]
    configs: BTreeMap<String, ConfigValue>,
}

/// Config values as strings, as Kafka takes them; numbers and booleans are accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum ConfigValue {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl ConfigValue {
    fn text(self) -> String {
        match self {
            ConfigValue::Text(s) => s,
            ConfigValue::Int(n) => n.to_string(),
            ConfigValue::Bool(b) => b.to_string(),
        }
    }
}

/// Reads a seed file; `default_partitions` is `num.partitions`. Every topic is validated
/// (name, partitions, configs) so a bad file stops the broker at start, naming the topic.
pub fn read(path: &Path, default_partitions: i32) -> Result<Vec<TopicSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("topics file {}: {e}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let file: SeedFile = if is_json {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        toml::from_str(&text).map_err(|e| e.to_string())
    }
    .map_err(|e| format!("topics file {}: {e}", path.display()))?;
    let mut specs: Vec<TopicSpec> = Vec::with_capacity(file.topic.len());
    for t in file.topic {
        let spec = TopicSpec {
            partitions: t.partitions.unwrap_or(default_partitions),
            configs: t.configs.into_iter().map(|(k, v)| (k, v.text())).collect(),
            name: t.name,
        };
        let bad = |e: String| format!("topics file {}: topic {:?}: {e}", path.display(), spec.name);
        if specs.iter().any(|s| s.name == spec.name) {
            return Err(bad("listed twice".into()));
        }
        crate::metadata::validate_topic_name(&spec.name).map_err(|e| bad(e.to_string()))?;
        if spec.partitions < 1 {
            return Err(bad(format!(
                "{} partitions: at least 1 is needed",
                spec.partitions
            )));
        }
        crate::metadata::topic_config::validate_all(&spec.configs)
            .map_err(|e| bad(e.to_string()))?;
        specs.push(spec);
    }
    Ok(specs)
}

/// Creates the seeded topics that do not exist; returns how many it created. Blocking.
pub fn create(topics: &Topics, seeds: &[TopicSpec]) -> Result<usize, String> {
    let mut created = 0;
    for spec in seeds {
        match topics.create(spec.clone()) {
            Ok(_) => created += 1,
            Err(MetadataError::TopicExists(_)) => {}
            Err(e) => return Err(format!("creating seeded topic {:?}: {e}", spec.name)),
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_toml_and_json_and_refuses_bad_topics() {
        let dir = tempfile::tempdir().unwrap();
        let toml = write(
            dir.path(),
            "t.toml",
            "[[topic]]\nname = \"a\"\npartitions = 3\nconfigs = { \"retention.ms\" = 86400000 }\n[[topic]]\nname = \"b\"\n",
        );
        let specs = read(&toml, 2).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!((specs[0].name.as_str(), specs[0].partitions), ("a", 3));
        assert_eq!(specs[0].configs["retention.ms"], "86400000");
        assert_eq!(specs[1].partitions, 2, "num.partitions by default");

        let json = write(
            dir.path(),
            "t.json",
            r#"{"topic":[{"name":"c","partitions":1}]}"#,
        );
        assert_eq!(read(&json, 1).unwrap()[0].name, "c");

        for (name, text) in [
            (
                "twice.toml",
                "[[topic]]\nname = \"a\"\n[[topic]]\nname = \"a\"\n",
            ),
            ("zero.toml", "[[topic]]\nname = \"a\"\npartitions = 0\n"),
            ("badname.toml", "[[topic]]\nname = \"a b\"\n"),
            (
                "badconfig.toml",
                "[[topic]]\nname = \"a\"\nconfigs = { \"no.such\" = \"1\" }\n",
            ),
            ("unknown.toml", "[[topic]]\nname = \"a\"\nreplicas = 3\n"),
        ] {
            let path = write(dir.path(), name, text);
            let err = read(&path, 1).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
        assert!(read(&dir.path().join("missing.toml"), 1).is_err());
    }
}
