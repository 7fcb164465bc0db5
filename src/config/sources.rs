//! Where setting values come from, lowest first: the table's defaults, a TOML file, `WEIR_*`
//! environment variables, then explicit overrides (flags, `--set`, the embedding builder).
//! Every key is checked against the table as it arrives, so a misspelt key is an error that
//! names it and where it came from.
//!
//! A TOML file may write keys dotted (`log.segment.bytes = 1`), nested in tables (`[log]`
//! `segment.bytes = 1`) or quoted (`"max.connections.per.ip" = 1`, the only way to set a key
//! that continues another key holding a value); all mean the same key.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{File, FileFormat, Source, Value, ValueKind};

use super::keys::{lookup_listener_key, BrokerKey, ListenerKey, KEYS, LISTENER_PREFIX};
use super::ConfigError;

/// Environment variables with weir's prefix that are not broker settings: the command-line
/// client's bootstrap address, `weir ctl`'s admin address, and where test harnesses find the
/// `weir` binary (the README's examples read `WEIR_BIN`).
const NOT_SETTINGS: &[&str] = &["WEIR_BOOTSTRAP", "WEIR_ADMIN", "WEIR_BIN"];

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Override,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "the default"),
            Origin::File(path) => write!(f, "config file {}", path.display()),
            Origin::Env(name) => write!(f, "environment variable {name}"),
            Origin::Override => write!(f, "a flag, --set or the builder"),
        }
    }
}

/// The value each key of [`KEYS`] was given, by index; `None` keeps the default. And the
/// per-listener values (`listener.name.<name>.<key>`), in the order they were given.
pub struct Layers {
    values: Vec<Option<(String, Origin)>>,
    pub listener_values: Vec<ListenerValue>,
}

/// One `listener.name.<listener>.<key>` setting.
#[derive(Debug, Clone)]
pub struct ListenerValue {
    pub listener: String,
    pub key: ListenerKey,
    pub value: String,
    pub origin: Origin,
}

impl ListenerValue {
    /// The setting's full name, with the listener name as Kafka writes it in prefixes.
    pub fn name(&self) -> String {
        format!(
            "{LISTENER_PREFIX}{}.{}",
            self.listener.to_ascii_lowercase(),
            self.key.suffix()
        )
    }
}

/// Where a setting name points.
enum Slot {
    Key(usize),
    Listener(String, ListenerKey),
}

impl Layers {
    pub fn new() -> Layers {
        Layers {
            values: vec![None; KEYS.len()],
            listener_values: Vec::new(),
        }
    }

    /// The value of `KEYS[index]` and where it came from.
    pub fn get(&self, index: usize) -> (&str, Origin) {
        match &self.values[index] {
            Some((value, origin)) => (value, origin.clone()),
            None => (KEYS[index].default, Origin::Default),
        }
    }

    /// Reads a TOML file; each key at most once (an alias counts as its key).
    pub fn file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let table = File::from(path)
            .format(FileFormat::Toml)
            .required(true)
            .collect()
            .map_err(|e| ConfigError::File {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let mut flat = Vec::new();
        for (key, value) in table {
            flatten(key, value, &mut flat);
        }
        let origin = Origin::File(path.to_path_buf());
        let mut seen = HashSet::new();
        for (name, value) in flat {
            let text = scalar_text(value).map_err(|reason| ConfigError::Invalid {
                key: name.clone(),
                value: String::new(),
                origin: origin.clone(),
                reason,
            })?;
            if let Some(index) = self.put(&name, text, &origin)? {
                if !seen.insert(index) {
                    return Err(ConfigError::Twice {
                        key: KEYS[index].name,
                        origin,
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads `WEIR_*` variables: `WEIR_LOG_SEGMENT_BYTES` sets `log.segment.bytes`.
    pub fn env(
        &mut self,
        vars: impl Iterator<Item = (OsString, OsString)>,
    ) -> Result<(), ConfigError> {
        let mut seen = HashSet::new();
        for (name, value) in vars {
            let Some(name) = name.to_str().filter(|n| n.starts_with("WEIR_")) else {
                continue;
            };
            if NOT_SETTINGS.contains(&name) {
                continue;
            }
            let origin = Origin::Env(name.to_string());
            if let Some((listener, key)) = env_listener_key(name) {
                let Some(value) = value.to_str() else {
                    return Err(ConfigError::Invalid {
                        key: name.to_string(),
                        value: String::new(),
                        origin,
                        reason: "not valid UTF-8".into(),
                    });
                };
                self.put_listener(listener, key, value.trim().to_string(), origin);
                continue;
            }
            let Some(index) = KEYS
                .iter()
                .position(|k| names(k).any(|n| env_name(n).eq_ignore_ascii_case(name)))
            else {
                let key = name["WEIR_".len()..].to_ascii_lowercase().replace('_', ".");
                return Err(ConfigError::Unknown { key, origin });
            };
            let Some(value) = value.to_str() else {
                return Err(ConfigError::Invalid {
                    key: KEYS[index].name.to_string(),
                    value: value.to_string_lossy().into_owned(),
                    origin,
                    reason: "not valid UTF-8".into(),
                });
            };
            if !seen.insert(index) {
                return Err(ConfigError::Twice {
                    key: KEYS[index].name,
                    origin,
                });
            }
            self.values[index] = Some((value.trim().to_string(), origin));
        }
        Ok(())
    }

    /// One explicit setting by name; a later one wins.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        self.put(name.trim(), value.trim().to_string(), &Origin::Override)
            .map(|_| ())
    }

    /// Where `KEYS[index]`'s value came from.
    pub fn origin(&self, index: usize) -> Origin {
        self.get(index).1
    }

    /// Sets `name`; the index of the table key it set, if it was one (not a listener's).
    fn put(
        &mut self,
        name: &str,
        value: String,
        origin: &Origin,
    ) -> Result<Option<usize>, ConfigError> {
        match slot(name, origin)? {
            Slot::Key(index) => {
                self.values[index] = Some((value, origin.clone()));
                Ok(Some(index))
            }
            Slot::Listener(listener, key) => {
                self.put_listener(listener, key, value, origin.clone());
                Ok(None)
            }
        }
    }

    fn put_listener(&mut self, listener: String, key: ListenerKey, value: String, origin: Origin) {
        let suffix = key.suffix();
        self.listener_values
            .retain(|v| !(v.listener == listener && v.key.suffix() == suffix));
        self.listener_values.push(ListenerValue {
            listener,
            key,
            value,
            origin,
        });
    }
}

fn slot(name: &str, origin: &Origin) -> Result<Slot, ConfigError> {
    if let Some(index) = KEYS.iter().position(|k| names(k).any(|n| n == name)) {
        return Ok(Slot::Key(index));
    }
    match lookup_listener_key(name) {
        Some(Ok((listener, key))) => Ok(Slot::Listener(listener, key)),
        Some(Err(reason)) => Err(ConfigError::Invalid {
            key: name.to_string(),
            value: String::new(),
            origin: origin.clone(),
            reason,
        }),
        None => Err(ConfigError::Unknown {
            key: name.to_string(),
            origin: origin.clone(),
        }),
    }
}

/// `WEIR_LISTENER_NAME_<LISTENER>_<KEY>`: the key is recognised from the end, so listener
/// names may hold underscores.
fn env_listener_key(name: &str) -> Option<(String, ListenerKey)> {
    let rest = name
        .get(..19)
        .filter(|p| p.eq_ignore_ascii_case("WEIR_LISTENER_NAME_"))
        .map(|_| &name[19..])?;
    ListenerKey::all().find_map(|key| {
        let suffix = format!("_{}", &env_name(&key.suffix())["WEIR_".len()..]);
        let cut = rest.len().checked_sub(suffix.len()).filter(|c| *c > 0)?;
        rest[cut..]
            .eq_ignore_ascii_case(&suffix)
            .then(|| (rest[..cut].to_ascii_uppercase(), key))
    })
}

fn names(key: &BrokerKey) -> impl Iterator<Item = &'static str> {
    std::iter::once(key.name).chain(key.aliases.iter().copied())
}

/// `log.segment.bytes` -> `WEIR_LOG_SEGMENT_BYTES`.
pub fn env_name(key: &str) -> String {
    format!("WEIR_{}", key.to_ascii_uppercase().replace(['.', '-'], "_"))
}

/// Nested tables become dotted keys.
fn flatten(prefix: String, value: Value, out: &mut Vec<(String, Value)>) {
    match value.kind {
        ValueKind::Table(table) => {
            for (key, value) in table {
                flatten(format!("{prefix}.{key}"), value, out);
            }
        }
        _ => out.push((prefix, value)),
    }
}

/// A TOML value as the text the table parses; an array of scalars is a comma-separated list.
fn scalar_text(value: Value) -> Result<String, String> {
    match value.kind {
        ValueKind::Array(items) => items
            .into_iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()
            .map(|items| items.join(",")),
        ValueKind::Table(_) | ValueKind::Nil => Err("not a value".into()),
        _ => value.into_string().map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn value_of<'a>(layers: &'a Layers, key: &str) -> (&'a str, Origin) {
        layers.get(KEYS.iter().position(|k| k.name == key).unwrap())
    }

    #[test]
    fn environment_names_map_to_keys_and_unknown_ones_are_refused() {
        let mut layers = Layers::new();
        layers
            .env(env(&[
                ("WEIR_LOG_SEGMENT_BYTES", "4096"),
                ("WEIR_MAX_CONNECTIONS_PER_IP", "3"),
                ("WEIR_num_partitions", "2"),
                ("WEIR_BOOTSTRAP", "elsewhere:9092"),
                ("PATH", "/bin"),
            ]))
            .unwrap();
        assert_eq!(value_of(&layers, "log.segment.bytes").0, "4096");
        assert_eq!(value_of(&layers, "max.connections.per.ip").0, "3");
        assert_eq!(value_of(&layers, "num.partitions").0, "2");
        assert_eq!(value_of(&layers, "node.id"), ("1", Origin::Default));
        let err = Layers::new()
            .env(env(&[("WEIR_LOG_SEGMENT_BYTE", "1")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config: unknown setting \"log.segment.byte\" \
             (from environment variable WEIR_LOG_SEGMENT_BYTE)"
        );
        let twice = Layers::new()
            .env(env(&[
                ("WEIR_ADMIN_LISTEN", "a:1"),
                ("WEIR_METRICS_LISTEN", "b:1"),
            ]))
            .unwrap_err();
        assert!(twice.to_string().contains("admin.listen"), "{twice}");
    }

    #[test]
    fn listener_prefixes_from_every_layer() {
        let mut layers = Layers::new();
        layers
            .env(env(&[
                (
                    "WEIR_LISTENER_NAME_SASL_SSL_SSL_KEYSTORE_LOCATION",
                    "/k.pem",
                ),
                ("WEIR_LISTENER_NAME_IN_SCRAM_SHA_512_SASL_JAAS_CONFIG", "x"),
            ]))
            .unwrap();
        layers
            .set("listener.name.sasl_ssl.ssl.keystore.location", "/other.pem")
            .unwrap();
        let names: Vec<String> = layers.listener_values.iter().map(|v| v.name()).collect();
        assert_eq!(
            names,
            vec![
                "listener.name.in.scram-sha-512.sasl.jaas.config",
                "listener.name.sasl_ssl.ssl.keystore.location"
            ]
        );
        assert_eq!(layers.listener_values[1].value, "/other.pem");
        for bad in [
            "listener.name.x.log.dirs",
            "listener.name.x",
            "listener.name.x.gssapi.sasl.jaas.config",
        ] {
            assert!(Layers::new().set(bad, "v").is_err(), "{bad}");
        }
    }

    #[test]
    fn every_key_has_its_own_environment_name() {
        let mut seen = HashSet::new();
        for key in KEYS {
            assert!(seen.insert(env_name(key.name)), "{}", key.name);
        }
    }

    #[test]
    fn toml_keys_dotted_nested_and_quoted_mean_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.toml");
        std::fs::write(
            &path,
            "log.segment.bytes = 4096\nmax.connections = 9\n\"max.connections.per.ip\" = 4\n\
             listeners = [\"PLAINTEXT://h:1\"]\n[group]\nmax.size = 7\n",
        )
        .unwrap();
        let mut layers = Layers::new();
        layers.file(&path).unwrap();
        assert_eq!(value_of(&layers, "log.segment.bytes").0, "4096");
        assert_eq!(value_of(&layers, "max.connections").0, "9");
        assert_eq!(value_of(&layers, "max.connections.per.ip").0, "4");
        assert_eq!(value_of(&layers, "listeners").0, "PLAINTEXT://h:1");
        assert_eq!(
            value_of(&layers, "group.max.size"),
            ("7", Origin::File(path.clone()))
        );

        std::fs::write(&path, "log.segment.bytes = 1\nlog.segmnet.bytes = 2\n").unwrap();
        let err = Layers::new().file(&path).unwrap_err().to_string();
        assert!(
            err.contains("log.segmnet.bytes") && err.contains("weir.toml"),
            "{err}"
        );
        std::fs::write(&path, "metrics.listen = \"a:1\"\nadmin.listen = \"b:1\"\n").unwrap();
        assert!(matches!(
            Layers::new().file(&path),
            Err(ConfigError::Twice {
                key: "admin.listen",
                ..
            })
        ));
        std::fs::write(&path, "log.segment.bytes = \n").unwrap();
        assert!(matches!(
            Layers::new().file(&path),
            Err(ConfigError::File { .. })
        ));
    }
}
