//! `config/weir.toml`, the documented default config, written from the settings table so the
//! file cannot drift from what the broker accepts. A test keeps the committed file equal to
//! [`weir_toml`]; `UPDATE_WEIR_TOML=1 cargo test --lib weir_toml` rewrites it.

use std::fmt::Write as _;

use super::keys::{BrokerKey, Kind, KEYS};

const WIDTH: usize = 100;

const PREAMBLE: &str = "\
# weir configuration. Every key is optional: the value shown is the built-in default.
# Keys use Apache Kafka's broker config names. Precedence, lowest first:
#   built-in defaults < this file (--config) < WEIR_* environment variables < command-line flags.
# An environment variable is the key upper-cased with dots as underscores, prefixed WEIR_:
#   WEIR_LOG_SEGMENT_BYTES=1048576 sets log.segment.bytes.
# A key weir does not know, or a value that does not fit its key, stops the broker at start
# with a message naming the key.
# Per listener, as in Kafka: listener.name.<name>.<key> overrides an ssl.* key or
# sasl.enabled.mechanisms for that listener, and listener.name.<name>.<mechanism>.sasl.jaas.config
# holds a SASL mechanism's login module, e.g. PLAIN users:
#   \"listener.name.sasl_plaintext.plain.sasl.jaas.config\" = \"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\\\"alice-secret\\\";\"
";

/// The documented default config: every key with its doc and default, by section.
pub fn weir_toml() -> String {
    let mut out = String::from(PREAMBLE);
    let mut section = None;
    for key in KEYS {
        if section != Some(key.section) {
            section = Some(key.section);
            let title = format!("# --- {} ", key.section.title());
            let _ = write!(out, "\n{title:-<width$}\n", width = WIDTH - 4);
        }
        let mut doc = key.doc.to_string();
        if let Some(valid) = key.kind.valid_values() {
            let _ = write!(doc, " Valid values: {valid}.");
        }
        if !key.aliases.is_empty() {
            let _ = write!(doc, " Also accepted as: {}.", key.aliases.join(", "));
        }
        comment(&mut out, &doc);
        let _ = writeln!(out, "{} = {}", toml_key(key), toml_value(key));
    }
    out
}

/// `# `-prefixed lines of at most [`WIDTH`] characters.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > WIDTH && line.len() > 1 {
            let _ = writeln!(out, "{line}");
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    let _ = writeln!(out, "{line}");
}

/// A key that continues another key holding a value (`max.connections.per.ip` after
/// `max.connections`) cannot be written dotted in TOML: it is quoted instead.
fn toml_key(key: &BrokerKey) -> String {
    let continues_another = KEYS
        .iter()
        .any(|other| key.name.starts_with(&format!("{}.", other.name)));
    if continues_another {
        format!("{:?}", key.name)
    } else {
        key.name.to_string()
    }
}

fn toml_value(key: &BrokerKey) -> String {
    match key.kind {
        Kind::Int { .. } | Kind::Long { .. } | Kind::Bool(_) => key.default.to_string(),
        _ => format!("{:?}", key.default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn committed_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/weir.toml")
    }

    #[test]
    fn weir_toml_is_generated_from_the_settings_table() {
        let expected = weir_toml();
        let path = committed_path();
        if std::env::var_os("UPDATE_WEIR_TOML").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == expected,
            "config/weir.toml differs from the settings table; \
             rewrite it with `UPDATE_WEIR_TOML=1 cargo test --lib weir_toml`"
        );
    }

    #[test]
    fn weir_toml_lists_every_key_with_its_default_and_doc() {
        let committed = std::fs::read_to_string(committed_path()).unwrap();
        for key in KEYS {
            let line = format!("{} = {}\n", toml_key(key), toml_value(key));
            assert!(committed.contains(&line), "no {line:?} in config/weir.toml");
            let first_words: Vec<&str> = key.doc.split_whitespace().take(4).collect();
            assert!(
                committed.contains(&format!("# {}", first_words.join(" "))),
                "no doc for {}",
                key.name
            );
        }
        // Read as a config file, it sets every key to its default and nothing else.
        let loaded = Config::load_with_env(Some(&committed_path()), &[], false).unwrap();
        let defaults = Config::load_with_env(None, &[], false).unwrap();
        for (file, default) in loaded.settings.iter().zip(&defaults.settings) {
            assert_eq!(file.value, default.value, "{}", file.key.name);
        }
        assert_eq!(format!("{loaded:?}"), format!("{defaults:?}"));
    }
}
