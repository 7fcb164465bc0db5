//! A member of a classic group: its protocols, assignment, timeouts and parked requests.

use bytes::Bytes;

use super::record::MemberRecord;

/// Identifies a parked JoinGroup or SyncGroup request; the actor maps it to a reply channel.
pub type Ticket = u64;

/// One member of a group.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i64,
    pub rebalance_timeout_ms: i64,
    /// (name, metadata) in order of preference.
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    /// A JoinGroup parked until the round completes.
    pub awaiting_join: Option<Ticket>,
    /// A SyncGroup parked until the leader's assignment arrives.
    pub awaiting_sync: Option<Ticket>,
    /// When the member is next checked for liveness (session timeout, or the new-member join
    /// timeout while a new member waits in its first round).
    pub heartbeat_deadline: Option<i64>,
    /// Added in the current join round and not yet through a completed round.
    pub is_new: bool,
    /// Join order: the first joined member is preferred as leader, and lists keep this order.
    pub seq: u64,
}

impl Member {
    /// The member's metadata for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// Whether a rejoin with `protocols` changes nothing (same names, order and metadata).
    pub fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// The member's most preferred protocol among `candidates`.
    pub fn vote<'a>(&self, candidates: &[&'a str]) -> Option<&'a str> {
        self.protocols
            .iter()
            .find_map(|(name, _)| candidates.iter().find(|c| **c == name.as_str()).copied())
    }

    /// Whether the member needs no heartbeat right now: a known member parked in a join round
    /// or waiting for the leader's assignment is alive by definition (Kafka's
    /// `hasSatisfiedHeartbeat`). New members are not: they may have gone away while parked.
    pub fn has_satisfied_heartbeat(&self) -> bool {
        !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some())
    }

    pub fn to_record(&self) -> MemberRecord {
        MemberRecord {
            member_id: self.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
            client_id: self.client_id.clone(),
            client_host: self.client_host.clone(),
            session_timeout_ms: self.session_timeout_ms,
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            protocols: self.protocols.clone(),
            assignment: self.assignment.clone(),
        }
    }

    /// A member loaded from the store, its session timer started at `now_ms`.
    pub fn from_record(r: MemberRecord, seq: u64, now_ms: i64) -> Member {
        Member {
            heartbeat_deadline: Some(now_ms + r.session_timeout_ms),
            member_id: r.member_id,
            group_instance_id: r.group_instance_id,
            client_id: r.client_id,
            client_host: r.client_host,
            session_timeout_ms: r.session_timeout_ms,
            rebalance_timeout_ms: r.rebalance_timeout_ms,
            protocols: r.protocols,
            assignment: r.assignment,
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            seq,
        }
    }
}

/// A fresh member id like Kafka's: `<group.instance.id or client.id>-<random uuid>`. Random,
/// not time-based: ids stay unique on a clock that stands still.
pub fn new_member_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(protocols: &[(&str, &str)]) -> Member {
        Member {
            member_id: "m".into(),
            group_instance_id: None,
            client_id: String::new(),
            client_host: String::new(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocols: protocols
                .iter()
                .map(|(n, m)| (n.to_string(), Bytes::from(m.to_string())))
                .collect(),
            assignment: Bytes::new(),
            awaiting_join: None,
            awaiting_sync: None,
            heartbeat_deadline: None,
            is_new: false,
            seq: 0,
        }
    }

    #[test]
    fn vote_follows_preference_order() {
        let m = member(&[("sticky", "a"), ("range", "b")]);
        assert_eq!(m.vote(&["range", "sticky"]), Some("sticky"));
        assert_eq!(m.vote(&["range"]), Some("range"));
        assert_eq!(m.vote(&["roundrobin"]), None);
        assert_eq!(m.metadata("range"), Bytes::from("b"));
        assert!(m.metadata("x").is_empty());
    }

    #[test]
    fn member_ids_are_unique_and_prefixed() {
        let a = new_member_id("rdkafka");
        let b = new_member_id("rdkafka");
        assert_ne!(a, b);
        assert!(a.starts_with("rdkafka-"));
        assert_eq!(a.len(), "rdkafka-".len() + 36);
    }

    #[test]
    fn liveness_rules() {
        let mut m = member(&[("range", "")]);
        assert!(!m.has_satisfied_heartbeat());
        m.awaiting_join = Some(1);
        assert!(m.has_satisfied_heartbeat());
        m.is_new = true;
        assert!(!m.has_satisfied_heartbeat());
    }
}
