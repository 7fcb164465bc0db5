//! Fault rules: which requests a test wants treated differently, how, and how often.
//!
//! A [`Rule`] is plain data (what the HTTP API takes as JSON, `weir ctl fault add` builds from
//! flags and the Rust API builds with its setters): a match, exactly one action and optional
//! limits. [`Rules`] keeps them in order; the first rule that matches a request and whose
//! limits allow it fires, and counts it. Limits are checked after the match, so a rule that
//! is used up or outside its window lets the request fall through to the next rule.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use serde::{Deserialize, Serialize};

use super::answer;
use super::names::{ApiName, ErrorName};
use crate::clock::monotonic::Stopwatch;

/// Where an injected error code goes in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The API's usual place for it: per partition where the API reports errors per
    /// partition (or per topic, group or resource), the top-level field otherwise.
    #[default]
    Auto,
    /// The response's top-level error field.
    TopLevel,
    /// Every partition (or topic, group, resource: the API's finest grain) of the request.
    Partitions,
}

/// One fault rule. Unset match fields match anything; exactly one action must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    // ---- match
    /// The API, by name (`Produce`, `FindCoordinator`) or key (`0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<i16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<i16>,
    /// Matches a request naming this topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Matches a request naming this partition (of `topic`, when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// The request header's client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The name of the listener the request came in on (`PLAINTEXT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,

    // ---- action (exactly one)
    /// Answer with this Kafka error code (name or number) instead of handling the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorName>,
    /// Where `error` goes.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub scope: Scope,
    /// Handle the request after this much real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close the connection instead of answering.
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    /// Never answer: the connection answers nothing more (as a stuck broker would).
    #[serde(default, skip_serializing_if = "is_false")]
    pub swallow: bool,
    /// Handle the request, answer with this throttle_time_ms and read nothing more from the
    /// connection for that long (Kafka's quota behaviour, KIP-219).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_ms: Option<u64>,

    // ---- limits
    /// Fire for the next this many matching requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Fire for each matching request with this probability (0 < p <= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed for `probability`, for a repeatable sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Start firing this long (real time) after the rule is added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Stop firing this long (real time) after the rule is added (`after_ms` included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
}

fn is_auto(scope: &Scope) -> bool {
    *scope == Scope::Auto
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a firing rule does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Error { code: i16, scope: Scope },
    Latency(Duration),
    Close,
    Swallow,
    Throttle(Duration),
}

impl Rule {
    /// A rule for requests of `api` (set an action before adding it).
    pub fn on(api: ApiKey) -> Rule {
        Rule {
            api: Some(ApiName(api)),
            ..Rule::default()
        }
    }

    /// A rule for requests of any API.
    pub fn any() -> Rule {
        Rule::default()
    }

    pub fn versions(mut self, min: i16, max: i16) -> Rule {
        self.min_version = Some(min);
        self.max_version = Some(max);
        self
    }

    pub fn topic(mut self, topic: &str) -> Rule {
        self.topic = Some(topic.to_string());
        self
    }

    pub fn partition(mut self, partition: i32) -> Rule {
        self.partition = Some(partition);
        self
    }

    pub fn group_id(mut self, group: &str) -> Rule {
        self.group_id = Some(group.to_string());
        self
    }

    pub fn transactional_id(mut self, id: &str) -> Rule {
        self.transactional_id = Some(id.to_string());
        self
    }

    pub fn client_id(mut self, id: &str) -> Rule {
        self.client_id = Some(id.to_string());
        self
    }

    pub fn listener(mut self, name: &str) -> Rule {
        self.listener = Some(name.to_string());
        self
    }

    /// Answer with `error` (e.g. `ResponseError::NotLeaderOrFollower.code()`).
    pub fn error(mut self, code: i16) -> Rule {
        self.error = Some(ErrorName(code));
        self
    }

    pub fn scope(mut self, scope: Scope) -> Rule {
        self.scope = scope;
        self
    }

    pub fn latency(mut self, delay: Duration) -> Rule {
        self.latency_ms = Some(millis(delay));
        self
    }

    pub fn close(mut self) -> Rule {
        self.close = true;
        self
    }

    pub fn swallow(mut self) -> Rule {
        self.swallow = true;
        self
    }

    pub fn throttle(mut self, time: Duration) -> Rule {
        self.throttle_ms = Some(millis(time));
        self
    }

    pub fn times(mut self, n: u64) -> Rule {
        self.times = Some(n);
        self
    }

    pub fn probability(mut self, p: f64, seed: Option<u64>) -> Rule {
        self.probability = Some(p);
        self.seed = seed;
        self
    }

    /// Active only between `after` and `after + for_` from now (real time).
    pub fn window(mut self, after: Duration, for_: Duration) -> Rule {
        self.after_ms = Some(millis(after));
        self.for_ms = Some(millis(for_));
        self
    }

    /// Checks the rule and says what it does.
    pub fn action(&self) -> Result<Action, String> {
        let mut actions = Vec::new();
        if let Some(code) = self.error {
            actions.push(Action::Error {
                code: code.0,
                scope: self.scope,
            });
        }
        if let Some(ms) = self.latency_ms {
            actions.push(Action::Latency(Duration::from_millis(ms)));
        }
        if self.close {
            actions.push(Action::Close);
        }
        if self.swallow {
            actions.push(Action::Swallow);
        }
        if let Some(ms) = self.throttle_ms {
            if ms > i32::MAX as u64 {
                return Err(format!("throttle_ms {ms} does not fit throttle_time_ms"));
            }
            actions.push(Action::Throttle(Duration::from_millis(ms)));
        }
        let action = match actions[..] {
            [one] => one,
            [] => return Err(ACTIONS.to_string()),
            _ => return Err(format!("only one action per rule: {ACTIONS}")),
        };
        if self.error.is_none() && self.scope != Scope::Auto {
            return Err("scope applies to an error action only".into());
        }
        if let Action::Error { code: 0, .. } = action {
            return Err("error 0 is NONE: name an error code".into());
        }
        if let (Some(min), Some(max)) = (self.min_version, self.max_version) {
            if min > max {
                return Err(format!("min_version {min} is above max_version {max}"));
            }
        }
        if let Some(p) = self.probability {
            if !(p > 0.0 && p <= 1.0) {
                return Err(format!("probability {p} must be above 0 and at most 1"));
            }
        }
        if self.seed.is_some() && self.probability.is_none() {
            return Err("seed applies to probability only".into());
        }
        if self.times == Some(0) {
            return Err("times 0 would never fire".into());
        }
        if let (Some(api), Action::Error { scope, .. }) = (self.api, action) {
            answer::check_scope(api.0, scope)?;
        }
        Ok(action)
    }
}

const ACTIONS: &str = "set one of error, latency_ms, close, swallow, throttle_ms";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What a request looks like to the rules. Topics and groups come from [`Facts`], computed
/// only when a rule asks for them.
pub struct Subject<'a> {
    pub api: ApiKey,
    pub version: i16,
    pub client_id: &'a str,
    pub listener: &'a str,
}

/// The names a request carries, for matching (and capture).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// (topic, partitions); partitions empty when the API names topics only.
    pub topics: Vec<(String, Vec<i32>)>,
    pub group_ids: Vec<String>,
    pub transactional_id: Option<String>,
}

/// A rule in service: its definition, its state and its counters.
struct Armed {
    id: u64,
    rule: Rule,
    action: Action,
    added: Stopwatch,
    fired: AtomicU64,
    rng: Option<Mutex<fastrand::Rng>>,
}

/// A rule as listed: its definition, id and how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    pub id: u64,
    #[serde(flatten)]
    pub rule: Rule,
    pub fired: u64,
    /// Firings left when `times` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

/// A rule that fired for a request.
#[derive(Debug, Clone)]
pub struct Fired {
    pub rule: u64,
    pub action: Action,
    /// The rule's topic and partition, which also say where a Metadata error goes.
    pub topic: Option<String>,
    pub partition: Option<i32>,
}

/// The ordered rule list. Readers take a snapshot (an `Arc`), so matching never waits on a
/// change and changes never wait on matching.
#[derive(Default)]
pub struct Rules {
    list: RwLock<Arc<Vec<Arc<Armed>>>>,
    next_id: AtomicU64,
}

impl Rules {
    /// Adds `rule` at the end (or at `position`, 0 = first) and returns its id.
    pub fn add(&self, rule: Rule, position: Option<usize>) -> Result<u64, String> {
        let action = rule.action()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let rng = rule.probability.map(|_| {
            Mutex::new(
                rule.seed
                    .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
            )
        });
        let armed = Arc::new(Armed {
            id,
            rule,
            action,
            added: Stopwatch::start(),
            fired: AtomicU64::new(0),
            rng,
        });
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let mut next = Vec::clone(&list);
        let at = position.unwrap_or(next.len()).min(next.len());
        next.insert(at, armed);
        *list = Arc::new(next);
        Ok(id)
    }

    /// Removes one rule; false if there is none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let before = list.len();
        let next: Vec<_> = list.iter().filter(|a| a.id != id).cloned().collect();
        let removed = next.len() != before;
        *list = Arc::new(next);
        removed
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let n = list.len();
        *list = Arc::new(Vec::new());
        n
    }

    pub fn is_empty(&self) -> bool {
        self.snapshot().is_empty()
    }

    pub fn list(&self) -> Vec<Listed> {
        self.snapshot()
            .iter()
            .map(|a| {
                let fired = a.fired.load(Ordering::Relaxed);
                Listed {
                    id: a.id,
                    rule: a.rule.clone(),
                    fired,
                    remaining: a.rule.times.map(|n| n.saturating_sub(fired)),
                }
            })
            .collect()
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Armed>>> {
        self.list.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The first rule that matches and may fire, counted as fired. `facts` is called at most
    /// once, and only if a rule needs names from the request body.
    pub fn decide(&self, subject: &Subject<'_>, facts: &mut dyn FnMut() -> Facts) -> Option<Fired> {
        let list = self.snapshot();
        let mut known: Option<Facts> = None;
        for armed in list.iter() {
            let rule = &armed.rule;
            if !matches_header(rule, armed.action, subject) {
                continue;
            }
            if needs_facts(rule) {
                let facts = known.get_or_insert_with(&mut *facts);
                if !matches_facts(rule, facts) {
                    continue;
                }
            }
            if armed.take() {
                return Some(Fired {
                    rule: armed.id,
                    action: armed.action,
                    topic: rule.topic.clone(),
                    partition: rule.partition,
                });
            }
        }
        None
    }
}

impl Armed {
    /// Whether the limits let the rule fire now; if so, counts the firing.
    fn take(&self) -> bool {
        let rule = &self.rule;
        let age = self.added.elapsed();
        let after = Duration::from_millis(rule.after_ms.unwrap_or(0));
        if age < after {
            return false;
        }
        if let Some(for_ms) = rule.for_ms {
            if age >= after + Duration::from_millis(for_ms) {
                return false;
            }
        }
        if let (Some(p), Some(rng)) = (rule.probability, &self.rng) {
            let roll = rng.lock().unwrap_or_else(|e| e.into_inner()).f64();
            if roll >= p {
                return false;
            }
        }
        match rule.times {
            None => {
                self.fired.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(limit) => self
                .fired
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok(),
        }
    }
}

fn matches_header(rule: &Rule, action: Action, s: &Subject<'_>) -> bool {
    let answerable = match action {
        Action::Error { scope, .. } => answer::check_scope(s.api, scope).is_ok(),
        _ => true,
    };
    answerable
        && rule.api.is_none_or(|a| a.0 == s.api)
        && rule.min_version.is_none_or(|v| s.version >= v)
        && rule.max_version.is_none_or(|v| s.version <= v)
        && rule.client_id.as_deref().is_none_or(|c| c == s.client_id)
        && rule
            .listener
            .as_deref()
            .is_none_or(|l| l.eq_ignore_ascii_case(s.listener))
}

fn needs_facts(rule: &Rule) -> bool {
    rule.topic.is_some()
        || rule.partition.is_some()
        || rule.group_id.is_some()
        || rule.transactional_id.is_some()
}

fn matches_facts(rule: &Rule, facts: &Facts) -> bool {
    let topic_ok = match (&rule.topic, rule.partition) {
        (None, None) => true,
        (topic, partition) => facts.topics.iter().any(|(name, parts)| {
            topic.as_deref().is_none_or(|t| t == name)
                && partition.is_none_or(|p| parts.contains(&p))
        }),
    };
    topic_ok
        && rule
            .group_id
            .as_deref()
            .is_none_or(|g| facts.group_ids.iter().any(|id| id == g))
        && rule
            .transactional_id
            .as_deref()
            .is_none_or(|t| facts.transactional_id.as_deref() == Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(api: ApiKey) -> Subject<'static> {
        Subject {
            api,
            version: 9,
            client_id: "app",
            listener: "PLAINTEXT",
        }
    }

    fn facts(topic: &str, partitions: &[i32]) -> Facts {
        Facts {
            topics: vec![(topic.to_string(), partitions.to_vec())],
            ..Facts::default()
        }
    }

    #[test]
    fn first_matching_rule_fires_and_a_used_up_rule_falls_through() {
        let rules = Rules::default();
        let first = rules
            .add(Rule::on(ApiKey::Produce).topic("t").error(6).times(2), None)
            .unwrap();
        let second = rules
            .add(
                Rule::on(ApiKey::Produce).latency(Duration::from_millis(5)),
                None,
            )
            .unwrap();
        let calls = std::cell::Cell::new(0);
        let mut f = || {
            calls.set(calls.get() + 1);
            facts("t", &[0])
        };
        let s = subject(ApiKey::Produce);
        assert_eq!(rules.decide(&s, &mut f).unwrap().rule, first);
        assert_eq!(rules.decide(&s, &mut f).unwrap().rule, first);
        let third = rules.decide(&s, &mut f).unwrap();
        assert_eq!(third.rule, second);
        assert_eq!(third.action, Action::Latency(Duration::from_millis(5)));
        assert_eq!(calls.get(), 3, "facts computed once per request");
        assert!(rules.decide(&subject(ApiKey::Fetch), &mut f).is_none());
        let listed = rules.list();
        assert_eq!((listed[0].fired, listed[0].remaining), (2, Some(0)));
        assert_eq!(listed[1].fired, 1);
        assert!(rules.remove(first) && !rules.remove(first));
        assert_eq!(rules.clear(), 1);
        assert!(rules.is_empty());
    }

    #[test]
    fn matches_on_every_field() {
        let rules = Rules::default();
        rules
            .add(
                Rule::on(ApiKey::OffsetCommit)
                    .versions(2, 9)
                    .topic("t")
                    .partition(1)
                    .group_id("g")
                    .client_id("app")
                    .listener("plaintext")
                    .close(),
                None,
            )
            .unwrap();
        let s = subject(ApiKey::OffsetCommit);
        fn with(
            topic: &'static str,
            p: &'static [i32],
            group: &'static str,
        ) -> impl FnMut() -> Facts {
            move || Facts {
                group_ids: vec![group.to_string()],
                ..facts(topic, p)
            }
        }
        assert!(rules.decide(&s, &mut with("t", &[0, 1], "g")).is_some());
        assert!(rules.decide(&s, &mut with("t", &[0], "g")).is_none());
        assert!(rules.decide(&s, &mut with("u", &[1], "g")).is_none());
        assert!(rules.decide(&s, &mut with("t", &[1], "h")).is_none());
        let old = Subject {
            version: 1,
            ..subject(ApiKey::OffsetCommit)
        };
        assert!(rules.decide(&old, &mut with("t", &[1], "g")).is_none());
        let other = Subject {
            client_id: "x",
            ..subject(ApiKey::OffsetCommit)
        };
        assert!(rules.decide(&other, &mut with("t", &[1], "g")).is_none());
    }

    #[test]
    fn probability_and_window_limit_firing() {
        let rules = Rules::default();
        rules
            .add(Rule::any().close().probability(0.5, Some(7)), None)
            .unwrap();
        let s = subject(ApiKey::Metadata);
        let fired = (0..1000)
            .filter(|_| rules.decide(&s, &mut Facts::default).is_some())
            .count();
        assert!((400..600).contains(&fired), "{fired}");

        let later = Rules::default();
        later
            .add(
                Rule::any()
                    .close()
                    .window(Duration::from_secs(3600), Duration::from_secs(1)),
                None,
            )
            .unwrap();
        assert!(later.decide(&s, &mut Facts::default).is_none());
        let over = Rules::default();
        over.add(
            Rule::any().close().window(Duration::ZERO, Duration::ZERO),
            None,
        )
        .unwrap();
        assert!(over.decide(&s, &mut Facts::default).is_none());
    }

    #[test]
    fn invalid_rules_are_refused_with_a_reason() {
        let bad = [
            Rule::on(ApiKey::Produce),
            Rule::on(ApiKey::Produce).close().swallow(),
            Rule::on(ApiKey::Produce).error(0),
            Rule::on(ApiKey::Produce).error(6).scope(Scope::TopLevel),
            Rule::on(ApiKey::Heartbeat)
                .error(6)
                .scope(Scope::Partitions),
            Rule::on(ApiKey::Produce).close().scope(Scope::TopLevel),
            Rule::on(ApiKey::Produce).close().times(0),
            Rule::on(ApiKey::Produce).close().probability(1.5, None),
            Rule::on(ApiKey::Produce).close().versions(5, 3),
        ];
        for rule in bad {
            assert!(rule.action().is_err(), "{rule:?}");
        }
    }

    #[test]
    fn rules_read_and_write_as_json() {
        let rule: Rule = serde_json::from_str(
            r#"{"api":"produce","topic":"t","error":"NOT_LEADER_OR_FOLLOWER","times":3}"#,
        )
        .unwrap();
        assert_eq!(rule, Rule::on(ApiKey::Produce).topic("t").error(6).times(3));
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["api"], "Produce");
        assert_eq!(json["error"], "NOT_LEADER_OR_FOLLOWER");
        let by_number: Rule =
            serde_json::from_str(r#"{"api":0,"error":6,"times":3,"topic":"t"}"#).unwrap();
        assert_eq!(by_number, rule);
        assert!(serde_json::from_str::<Rule>(r#"{"api":"Nope","close":true}"#).is_err());
        assert!(serde_json::from_str::<Rule>(r#"{"api":"Produce","clsoe":true}"#).is_err());
    }
}
