//! The authorizer against Kafka's StandardAuthorizer semantics, one rule per test.

use std::net::IpAddr;

use super::*;
use crate::security::acl::{Acl, Operation, PatternType, Permission, ResourceType};
use crate::security::acl::{CLUSTER_NAME, WILDCARD, WILDCARD_PRINCIPAL};
use crate::security::Principal;

use Operation::*;
use PatternType::{Literal, Prefixed};
use Permission::{Allow, Deny};
use ResourceType::{Cluster, Group, Topic, TransactionalId};

const HOST: &str = "10.0.0.1";

fn acl(
    kind: ResourceType,
    name: &str,
    pattern: PatternType,
    principal: &str,
    operation: Operation,
    permission: Permission,
) -> Acl {
    Acl {
        resource_type: kind,
        name: name.into(),
        pattern,
        principal: principal.into(),
        host: "*".into(),
        operation,
        permission,
    }
}

fn allow(name: &str, pattern: PatternType, principal: &str, operation: Operation) -> Acl {
    acl(Topic, name, pattern, principal, operation, Allow)
}

fn deny(name: &str, pattern: PatternType, principal: &str, operation: Operation) -> Acl {
    acl(Topic, name, pattern, principal, operation, Deny)
}

struct World {
    rules: Rules,
    acls: AclSet,
}

impl World {
    fn new(acls: Vec<Acl>) -> World {
        World {
            rules: Rules::default(),
            acls: AclSet::new(acls),
        }
    }

    fn decide(&self, who: &str, op: Operation, kind: ResourceType, name: &str) -> bool {
        self.decide_from(who, HOST, op, kind, name)
    }

    fn decide_from(
        &self,
        who: &str,
        host: &str,
        op: Operation,
        kind: ResourceType,
        name: &str,
    ) -> bool {
        let principal = Principal::user(who);
        let action = Action {
            principal: &principal,
            host: host.parse::<IpAddr>().unwrap(),
            operation: op,
            resource_type: kind,
            name,
        };
        authorize(&self.rules, &self.acls, &action).allowed()
    }

    fn topic(&self, who: &str, op: Operation, name: &str) -> bool {
        self.decide(who, op, Topic, name)
    }

    fn any_topic(&self, who: &str, op: Operation) -> bool {
        let principal = Principal::user(who);
        authorize_by_resource_type(
            &self.rules,
            &self.acls,
            &principal,
            HOST.parse().unwrap(),
            op,
            Topic,
        )
    }
}

#[test]
fn without_acls_everything_is_denied_unless_everyone_is_allowed() {
    let mut w = World::new(vec![]);
    assert!(!w.topic("alice", Read, "t"));
    w.rules.allow_everyone_if_no_acl_found = true;
    assert!(w.topic("alice", Read, "t"));
    assert!(w.decide("alice", Alter, Cluster, CLUSTER_NAME));
}

#[test]
fn any_acl_on_a_resource_takes_away_the_no_acl_default() {
    let mut w = World::new(vec![allow("t", Literal, "User:bob", Read)]);
    w.rules.allow_everyone_if_no_acl_found = true;
    assert!(!w.topic("alice", Read, "t"), "bob's ACL covers t");
    assert!(w.topic("alice", Read, "other"), "no ACL covers other");
    // A prefixed or wildcard ACL for someone else counts too.
    let mut w = World::new(vec![allow("o", Prefixed, "User:bob", Read)]);
    w.rules.allow_everyone_if_no_acl_found = true;
    assert!(!w.topic("alice", Read, "other"));
    assert!(w.topic("alice", Read, "t"));
}

#[test]
fn super_users_may_do_anything_even_when_denied() {
    let mut w = World::new(vec![deny(WILDCARD, Literal, WILDCARD_PRINCIPAL, All)]);
    w.rules.super_users = Rules::parse_super_users(" User:admin ; User:root;").unwrap();
    assert!(w.topic("admin", Write, "t"));
    assert!(w.topic("root", Delete, "t"));
    assert!(!w.topic("alice", Write, "t"));
    assert!(Rules::parse_super_users("admin").is_err());
}

#[test]
fn literal_prefixed_and_wildcard_patterns_match_as_in_kafka() {
    let w = World::new(vec![
        allow("orders", Literal, "User:alice", Read),
        allow("a.", Prefixed, "User:alice", Write),
        allow(WILDCARD, Literal, "User:alice", Describe),
    ]);
    assert!(w.topic("alice", Read, "orders"));
    assert!(
        !w.topic("alice", Read, "orders2"),
        "a literal is not a prefix"
    );
    assert!(!w.topic("alice", Read, "order"));
    assert!(w.topic("alice", Write, "a.x"));
    assert!(w.topic("alice", Write, "a."));
    assert!(!w.topic("alice", Write, "a"), "shorter than the prefix");
    assert!(!w.topic("alice", Write, "b.a.x"));
    assert!(w.topic("alice", Describe, "anything"));
    assert!(!w.topic("alice", Read, "anything"));
}

#[test]
fn every_user_is_user_star_and_other_principals_do_not_match() {
    let w = World::new(vec![
        allow("t", Literal, WILDCARD_PRINCIPAL, Read),
        allow("u", Literal, "User:alice", Read),
    ]);
    assert!(w.topic("bob", Read, "t"));
    assert!(!w.topic("bob", Read, "u"));
    let other_type = Principal {
        kind: "Group".into(),
        name: "alice".into(),
    };
    let action = Action {
        principal: &other_type,
        host: HOST.parse().unwrap(),
        operation: Read,
        resource_type: Topic,
        name: "u",
    };
    assert!(!authorize(&w.rules, &w.acls, &action).allowed());
}

#[test]
fn deny_wins_over_allow_whatever_the_patterns() {
    let w = World::new(vec![
        allow("a.", Prefixed, "User:alice", All),
        deny("a.secret", Literal, "User:alice", Write),
        deny("a.hidden.", Prefixed, WILDCARD_PRINCIPAL, All),
    ]);
    assert!(w.topic("alice", Write, "a.open"));
    assert!(!w.topic("alice", Write, "a.secret"));
    assert!(
        w.topic("alice", Read, "a.secret"),
        "the deny is for WRITE only"
    );
    assert!(!w.topic("alice", Read, "a.hidden.x"));
    let w = World::new(vec![
        allow("t", Literal, "User:alice", Read),
        deny(WILDCARD, Literal, "User:alice", Read),
    ]);
    assert!(!w.topic("alice", Read, "t"), "a wildcard deny wins too");
}

#[test]
fn allows_imply_describe_and_describe_configs_but_denies_do_not() {
    for op in [Read, Write, Delete, Alter] {
        let w = World::new(vec![allow("t", Literal, "User:alice", op)]);
        assert!(w.topic("alice", Describe, "t"), "{op} implies DESCRIBE");
        assert!(!w.topic("alice", DescribeConfigs, "t"));
    }
    for op in [Create, AlterConfigs, DescribeConfigs] {
        let w = World::new(vec![allow("t", Literal, "User:alice", op)]);
        assert!(
            !w.topic("alice", Describe, "t"),
            "{op} does not imply DESCRIBE"
        );
    }
    let w = World::new(vec![allow("t", Literal, "User:alice", AlterConfigs)]);
    assert!(w.topic("alice", DescribeConfigs, "t"));
    let w = World::new(vec![allow("t", Literal, "User:alice", Write)]);
    assert!(!w.topic("alice", Read, "t"), "WRITE does not imply READ");
    let w = World::new(vec![allow("t", Literal, "User:alice", Describe)]);
    assert!(
        !w.topic("alice", Read, "t"),
        "nothing is implied by DESCRIBE"
    );
    // A DENY READ does not deny DESCRIBE, which an ALLOW WRITE implies.
    let w = World::new(vec![
        allow("t", Literal, "User:alice", Write),
        deny("t", Literal, "User:alice", Read),
    ]);
    assert!(w.topic("alice", Describe, "t"));
    assert!(!w.topic("alice", Read, "t"));
}

#[test]
fn all_allows_and_denies_every_operation() {
    let w = World::new(vec![allow("t", Literal, "User:alice", All)]);
    for op in ResourceType::Topic.operations() {
        assert!(w.topic("alice", *op, "t"), "{op}");
    }
    let w = World::new(vec![
        allow("t", Literal, "User:alice", All),
        deny("t", Literal, "User:alice", All),
    ]);
    assert!(!w.topic("alice", Describe, "t"));
}

#[test]
fn hosts_are_star_or_the_exact_client_address() {
    let mut on_host = allow("t", Literal, "User:alice", Read);
    on_host.host = HOST.into();
    let mut v6 = allow("u", Literal, "User:alice", Read);
    // Java prints IPv6 addresses uncompressed; both spellings name the same address.
    v6.host = "0:0:0:0:0:0:0:1".into();
    let w = World::new(vec![on_host, v6]);
    assert!(w.decide_from("alice", HOST, Read, Topic, "t"));
    assert!(!w.decide_from("alice", "10.0.0.2", Read, Topic, "t"));
    assert!(w.decide_from("alice", "::ffff:10.0.0.1", Read, Topic, "t"));
    assert!(w.decide_from("alice", "::1", Read, Topic, "u"));
    assert!(!w.decide_from("alice", "127.0.0.1", Read, Topic, "u"));
}

#[test]
fn resource_types_are_separate() {
    let w = World::new(vec![
        acl(Group, "ga", Literal, "User:alice", Read, Allow),
        acl(Cluster, CLUSTER_NAME, Literal, "User:alice", Create, Allow),
        acl(TransactionalId, "tx", Prefixed, "User:alice", Write, Allow),
    ]);
    assert!(w.decide("alice", Read, Group, "ga"));
    assert!(!w.decide("alice", Read, Topic, "ga"));
    assert!(w.decide("alice", Create, Cluster, CLUSTER_NAME));
    assert!(w.decide("alice", Describe, TransactionalId, "tx-1"));
    assert!(!w.decide("alice", Write, Group, "ga"));
}

#[test]
fn prefixes_work_on_characters_not_bytes() {
    let w = World::new(vec![allow("é", Prefixed, "User:alice", Read)]);
    assert!(w.topic("alice", Read, "éa"));
    assert!(!w.topic("alice", Read, "e"));
    assert!(
        !w.topic("alice", Read, "\u{e8}"),
        "same first byte, other character"
    );
}

#[test]
fn write_on_any_topic_follows_kafkas_authorize_by_resource_type() {
    assert!(!World::new(vec![]).any_topic("alice", Write));
    let w = World::new(vec![allow("t", Literal, "User:alice", Write)]);
    assert!(w.any_topic("alice", Write));
    assert!(!w.any_topic("bob", Write));
    assert!(!w.any_topic("alice", Read));
    let w = World::new(vec![allow("t", Literal, "User:alice", All)]);
    assert!(w.any_topic("alice", Write), "ALL counts");
    // Dominated allows: a deny of the same literal, or of any prefix of the name.
    let w = World::new(vec![
        allow("t", Literal, "User:alice", Write),
        deny("t", Literal, "User:alice", Write),
    ]);
    assert!(!w.any_topic("alice", Write));
    let w = World::new(vec![
        allow("abc", Prefixed, "User:alice", Write),
        deny("ab", Prefixed, "User:alice", Write),
    ]);
    assert!(!w.any_topic("alice", Write));
    let w = World::new(vec![
        allow("ab", Prefixed, "User:alice", Write),
        deny("abc", Prefixed, "User:alice", Write),
    ]);
    assert!(w.any_topic("alice", Write), "a longer deny leaves room");
    let w = World::new(vec![
        allow("t", Literal, "User:alice", Write),
        deny(WILDCARD, Literal, WILDCARD_PRINCIPAL, Write),
    ]);
    assert!(!w.any_topic("alice", Write));
    let w = World::new(vec![allow(WILDCARD, Literal, WILDCARD_PRINCIPAL, Write)]);
    assert!(w.any_topic("bob", Write));
    let mut w = World::new(vec![deny(WILDCARD, Literal, WILDCARD_PRINCIPAL, All)]);
    w.rules.super_users.insert("User:admin".into());
    assert!(w.any_topic("admin", Write));
    let mut w = World::new(vec![]);
    w.rules.allow_everyone_if_no_acl_found = true;
    assert!(w.any_topic("alice", Write), "no ACL covers any topic");
}

#[test]
fn authorized_operations_are_a_bit_per_allowed_supported_operation() {
    let w = World::new(vec![allow("t", Literal, "User:alice", Read)]);
    let principal = Principal::user("alice");
    let bits = authorized_operations(
        &w.rules,
        &w.acls,
        &principal,
        HOST.parse().unwrap(),
        Topic,
        "t",
    );
    assert_eq!(bits, (1 << Read.code()) | (1 << Describe.code()));
    assert_eq!(
        all_operations(Cluster),
        (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
    );
}

#[test]
fn decisions_name_their_rule() {
    let w = World::new(vec![deny("t", Literal, "User:alice", Read)]);
    let principal = Principal::user("alice");
    let action = Action {
        principal: &principal,
        host: HOST.parse().unwrap(),
        operation: Read,
        resource_type: Topic,
        name: "t",
    };
    let decision = authorize(&w.rules, &w.acls, &action);
    assert!(matches!(decision, Decision::Denied(_)));
    assert!(decision.to_string().contains("DENY"), "{decision}");
    let action = Action {
        operation: Write,
        ..action
    };
    assert_eq!(authorize(&w.rules, &w.acls, &action), Decision::NotAllowed);
}
