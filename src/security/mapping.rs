//! `ssl.principal.mapping.rules`: how a client certificate's subject becomes a principal name.
//!
//! Kafka's syntax: a comma- or newline-separated list of `DEFAULT` or
//! `RULE:pattern/replacement/` with an optional `L` or `U` (lower- or upper-case the result).
//! The subject is written as RFC 2253 (`CN=alice,OU=eng,O=acme`); the first rule whose pattern
//! matches the whole subject gives the name, `DEFAULT` gives the subject itself. When no rule
//! matches, the client is refused, as in Kafka.

use regex::Regex;

#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
enum Rule {
    Default,
    Replace {
        pattern: Regex,
        replacement: String,
        case: Case,
    },
}

#[derive(Debug, Clone, Copy)]
enum Case {
    Keep,
    Lower,
    Upper,
}

impl PrincipalMapper {
    pub fn parse(text: &str) -> Result<PrincipalMapper, String> {
        let mut rules = Vec::new();
        let mut rest = text.trim_start_matches([' ', '\t', '\n', ',']);
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("DEFAULT") {
                rules.push(Rule::Default);
                rest = after;
            } else if let Some(after) = rest.strip_prefix("RULE:") {
                let (pattern, after) = until_slash(after)?;
                let (replacement, after) = until_slash(after)?;
                let (case, after) = match after.chars().next() {
                    Some('L') => (Case::Lower, &after[1..]),
                    Some('U') => (Case::Upper, &after[1..]),
                    _ => (Case::Keep, after),
                };
                let pattern = Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
                rules.push(Rule::Replace {
                    pattern,
                    replacement: java_replacement(&replacement),
                    case,
                });
                rest = after;
            } else {
                return Err(format!(
                    "{rest:?} is neither DEFAULT nor RULE:pattern/replacement/"
                ));
            }
            let trimmed = rest.trim_start_matches([' ', '\t']);
            rest = match trimmed.chars().next() {
                None => "",
                Some(',' | '\n') => trimmed[1..].trim_start_matches([' ', '\t', '\n']),
                Some(_) => return Err(format!("unexpected {trimmed:?} after a rule")),
            };
        }
        if rules.is_empty() {
            return Err("no rules (use DEFAULT)".into());
        }
        Ok(PrincipalMapper { rules })
    }

    /// The principal name for subject `dn`, or `None` when no rule matches.
    pub fn name(&self, dn: &str) -> Option<String> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(dn.to_string()),
            Rule::Replace {
                pattern,
                replacement,
                case,
            } => {
                if !pattern.is_match(dn) {
                    return None;
                }
                let name = pattern.replace(dn, replacement.as_str()).into_owned();
                Some(match case {
                    Case::Keep => name,
                    Case::Lower => name.to_lowercase(),
                    Case::Upper => name.to_uppercase(),
                })
            }
        })
    }
}

/// Text up to the next unescaped '/', unescaping `\/`; and what follows the '/'.
fn until_slash(text: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' => return Ok((out, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '/')) => out.push('/'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Err(format!("{text:?}: a rule is RULE:pattern/replacement/"))
}

/// Java's replacement syntax (`$1`, `\$`) in the regex crate's (`${1}`, `$$`).
fn java_replacement(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keeps_the_subject() {
        let m = PrincipalMapper::parse("DEFAULT").unwrap();
        assert_eq!(m.name("CN=alice,O=acme").unwrap(), "CN=alice,O=acme");
    }

    #[test]
    fn rules_apply_in_order_like_kafkas_examples() {
        let m = PrincipalMapper::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,\nRULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT",
        )
        .unwrap();
        assert_eq!(
            m.name("CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")
                .unwrap(),
            "serviceuser"
        );
        assert_eq!(
            m.name("CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown")
                .unwrap(),
            "adminuser@admin"
        );
        assert_eq!(m.name("OU=x,CN=bob.smith").unwrap(), "BOB.SMITH");
        assert_eq!(m.name("O=none").unwrap(), "O=none");
    }

    #[test]
    fn no_match_without_default_and_bad_rules() {
        let m = PrincipalMapper::parse("RULE:^CN=(.*)$/$1/").unwrap();
        assert_eq!(m.name("O=x"), None);
        assert_eq!(m.name("CN=a\\/b").as_deref(), Some("a\\/b"));
        for bad in ["", "RULE:x", "RULE:(/a/", "NOPE", "DEFAULT x"] {
            assert!(PrincipalMapper::parse(bad).is_err(), "{bad}");
        }
    }
}
