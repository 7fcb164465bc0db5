//! `sasl.jaas.config` values as Kafka writes them:
//! `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";`
//!
//! One login module, a control flag, `name=value` options (values quoted or bare), and a
//! closing `;`. The values are secrets: errors name the option, never its value.

use std::collections::BTreeMap;

pub const PLAIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";
pub const SCRAM_MODULE: &str = "org.apache.kafka.common.security.scram.ScramLoginModule";
pub const OAUTHBEARER_MODULE: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

const FLAGS: &[&str] = &["required", "requisite", "sufficient", "optional"];

#[derive(Clone, PartialEq, Eq)]
pub struct Jaas {
    pub module: String,
    pub options: BTreeMap<String, String>,
}

impl std::fmt::Debug for Jaas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jaas")
            .field("module", &self.module)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Jaas {
    /// PLAIN users: the `user_<name>="<password>"` options.
    pub fn plain_users(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?, v.as_str())))
    }

    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }
}

/// Parses one JAAS login-module entry.
pub fn parse(text: &str) -> Result<Jaas, String> {
    let mut rest = text.trim();
    let module = take_word(&mut rest).ok_or("no login module class")?;
    let flag = take_word(&mut rest).ok_or("no control flag (required)")?;
    if !FLAGS.contains(&flag.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "control flag {flag:?} is not one of {}",
            FLAGS.join(", ")
        ));
    }
    let mut options = BTreeMap::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(';') {
            if !after.trim().is_empty() {
                return Err("one login module only: text after ';'".into());
            }
            break;
        }
        if rest.is_empty() {
            return Err("no closing ';'".into());
        }
        let (name, after) = rest
            .split_once('=')
            .ok_or("an option without '=' (name=\"value\")")?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err("an option without a name".into());
        }
        rest = after.trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => value.push(c),
                        None => return Err(format!("option {name}: unclosed quote")),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("option {name}: unclosed quote")),
                }
            };
            rest = &quoted[end + 1..];
            value
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == ';')
                .unwrap_or(rest.len());
            let value = rest[..end].to_string();
            rest = &rest[end..];
            value
        };
        if options.insert(name.to_string(), value).is_some() {
            return Err(format!("option {name} is given twice"));
        }
    }
    Ok(Jaas {
        module: module.to_string(),
        options,
    })
}

fn take_word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let text = rest.trim_start();
    let end = text
        .find(|c: char| c.is_whitespace() || c == ';')
        .unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    *rest = &text[end..];
    Some(&text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_plain_config() {
        let jaas = parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required\n  \
             username=\"admin\" password=\"a;b\\\"c\" user_admin=\"admin-secret\" user_alice=bare;",
        )
        .unwrap();
        assert_eq!(jaas.module, PLAIN_MODULE);
        assert_eq!(jaas.option("password"), Some("a;b\"c"));
        let users: Vec<_> = jaas.plain_users().collect();
        assert_eq!(users, vec![("admin", "admin-secret"), ("alice", "bare")]);
        assert!(!format!("{jaas:?}").contains("admin-secret"));
    }

    #[test]
    fn malformed_configs_are_refused_without_echoing_values() {
        for bad in [
            "",
            "Module",
            "Module maybe a=\"b\";",
            "Module required a=\"b\"",
            "Module required a=\"secret",
            "Module required a=\"b\"; Other required;",
            "Module required a=\"b\" a=\"c\";",
            "Module required =\"b\";",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
