//! The authorizer: whether a principal, connected from a host, may perform an operation on a
//! resource, by Apache Kafka's StandardAuthorizer rules. A pure function of the principal, the
//! host, the operation, the resource, the ACL set and two settings; no I/O, no clock.
//!
//! The rules, in order:
//! 1. A principal listed in `super.users` may do anything.
//! 2. The ACLs that apply to a resource are those of its type whose pattern matches its name:
//!    a LITERAL ACL of the same name, the LITERAL `*` ACL, and PREFIXED ACLs whose name starts
//!    the resource's name. Of those, an ACL applies to a request when its principal is the
//!    requester's (or `User:*`) and its host is the client's address (or `*`).
//! 3. A DENY ACL applies to its own operation (or every one, for ALL); an ALLOW ACL also to the
//!    operations it implies: READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies
//!    DESCRIBE_CONFIGS. Deny wins over allow.
//! 4. With no applying ACL: allowed only if the resource has no ACLs at all (for anyone) and
//!    `allow.everyone.if.no.acl.found` is set.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use super::acl::{split_principal, Acl, AclFilter, Operation, PatternType, Permission};
use super::acl::{ResourceType, WILDCARD};
use super::Principal;

/// The authorizer's settings: `super.users` and `allow.everyone.if.no.acl.found`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// `Type:name` of each super user.
    pub super_users: HashSet<String>,
    pub allow_everyone_if_no_acl_found: bool,
}

impl Rules {
    /// `super.users` as Kafka writes it: `User:alice;User:bob`.
    pub fn parse_super_users(text: &str) -> Result<HashSet<String>, String> {
        let mut users = HashSet::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            split_principal(item)?;
            users.insert(item.to_string());
        }
        Ok(users)
    }
}

/// Every ACL, indexed by resource type and name for the authorizer.
#[derive(Debug, Default)]
pub struct AclSet {
    acls: BTreeSet<Acl>,
    by_type: HashMap<ResourceType, Index>,
}

#[derive(Debug, Default)]
struct Index {
    literal: HashMap<String, Vec<Entry>>,
    prefixed: HashMap<String, Vec<Entry>>,
    /// The lengths of the prefixed names, longest first: the only prefixes worth looking up.
    prefix_lengths: BTreeSet<usize>,
    /// The LITERAL `*` ACLs.
    wildcard: Vec<Entry>,
}

/// The part of an ACL the authorizer compares with a request.
#[derive(Debug)]
struct Entry {
    kind: String,
    name: String,
    host: Host,
    operation: Operation,
    permission: Permission,
    /// The whole ACL, to name it in decisions.
    acl: Acl,
}

#[derive(Debug)]
enum Host {
    Any,
    Ip(IpAddr),
    /// Not an address: matches a client whose address prints the same way.
    Text(String),
}

impl AclSet {
    pub fn new(acls: impl IntoIterator<Item = Acl>) -> AclSet {
        let acls: BTreeSet<Acl> = acls.into_iter().collect();
        let mut by_type: HashMap<ResourceType, Index> = HashMap::new();
        for acl in &acls {
            let Ok((kind, name)) = split_principal(&acl.principal) else {
                // Refused on creation and on load; never applies to anyone.
                continue;
            };
            let host = if acl.host == WILDCARD {
                Host::Any
            } else {
                match acl.host.parse::<IpAddr>() {
                    Ok(ip) => Host::Ip(ip.to_canonical()),
                    Err(_) => Host::Text(acl.host.clone()),
                }
            };
            let entry = Entry {
                kind: kind.to_string(),
                name: name.to_string(),
                host,
                operation: acl.operation,
                permission: acl.permission,
                acl: acl.clone(),
            };
            let index = by_type.entry(acl.resource_type).or_default();
            match acl.pattern {
                PatternType::Literal if acl.name == WILDCARD => index.wildcard.push(entry),
                PatternType::Literal => index
                    .literal
                    .entry(acl.name.clone())
                    .or_default()
                    .push(entry),
                PatternType::Prefixed => {
                    index.prefix_lengths.insert(acl.name.len());
                    index
                        .prefixed
                        .entry(acl.name.clone())
                        .or_default()
                        .push(entry);
                }
            }
        }
        AclSet { acls, by_type }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Acl> {
        self.acls.iter()
    }

    pub fn len(&self) -> usize {
        self.acls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.acls.is_empty()
    }

    pub fn contains(&self, acl: &Acl) -> bool {
        self.acls.contains(acl)
    }

    /// The ACLs `filter` selects, in a stable order.
    pub fn matching<'a>(&'a self, filter: &'a AclFilter) -> impl Iterator<Item = &'a Acl> + 'a {
        self.acls.iter().filter(move |acl| filter.matches(acl))
    }

    /// The groups of entries whose pattern matches `name`: literal, prefixes, wildcard.
    fn applying<'a>(&'a self, kind: ResourceType, name: &str) -> Vec<&'a [Entry]> {
        let Some(index) = self.by_type.get(&kind) else {
            return Vec::new();
        };
        let mut groups = Vec::new();
        if let Some(entries) = index.literal.get(name) {
            groups.push(entries.as_slice());
        }
        for len in index.prefix_lengths.iter().rev() {
            // A prefix that would split a character cannot be the name of a prefixed ACL.
            if let Some(entries) = name.get(..*len).and_then(|p| index.prefixed.get(p)) {
                groups.push(entries.as_slice());
            }
        }
        if !index.wildcard.is_empty() {
            groups.push(index.wildcard.as_slice());
        }
        groups
    }
}

/// One question for the authorizer.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub principal: &'a Principal,
    /// The client's address.
    pub host: IpAddr,
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub name: &'a str,
}

/// The authorizer's answer, with the rule that gave it (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    SuperUser,
    Allowed(&'a Acl),
    Denied(&'a Acl),
    /// The resource has no ACLs at all: `allow.everyone.if.no.acl.found` decided.
    NoAcls {
        allowed: bool,
    },
    /// The resource has ACLs, none of which allows this.
    NotAllowed,
}

impl Decision<'_> {
    pub fn allowed(&self) -> bool {
        match self {
            Decision::SuperUser | Decision::Allowed(_) => true,
            Decision::NoAcls { allowed } => *allowed,
            Decision::Denied(_) | Decision::NotAllowed => false,
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::SuperUser => f.write_str("super user"),
            Decision::Allowed(acl) => write!(f, "allowed by {acl}"),
            Decision::Denied(acl) => write!(f, "denied by {acl}"),
            Decision::NoAcls { allowed: true } => {
                f.write_str("no ACLs on the resource (allow.everyone.if.no.acl.found)")
            }
            Decision::NoAcls { allowed: false } => f.write_str("no ACLs on the resource"),
            Decision::NotAllowed => f.write_str("no ACL allows it"),
        }
    }
}

/// Kafka's StandardAuthorizer decision for `action`.
pub fn authorize<'a>(rules: &Rules, acls: &'a AclSet, action: &Action) -> Decision<'a> {
    if rules.super_users.contains(&action.principal.to_string()) {
        return Decision::SuperUser;
    }
    let host = action.host.to_canonical();
    let mut has_acls = false;
    let mut allowed = None;
    for group in acls.applying(action.resource_type, action.name) {
        has_acls |= !group.is_empty();
        for entry in group {
            match applies(entry, action, host) {
                Some(Permission::Deny) => return Decision::Denied(&entry.acl),
                Some(Permission::Allow) if allowed.is_none() => {
                    allowed = Some(&entry.acl);
                }
                _ => {}
            }
        }
    }
    match allowed {
        Some(acl) => Decision::Allowed(acl),
        None if !has_acls => Decision::NoAcls {
            allowed: rules.allow_everyone_if_no_acl_found,
        },
        None => Decision::NotAllowed,
    }
}

/// Whether `entry` applies to `action`, and how.
fn applies(entry: &Entry, action: &Action, host: IpAddr) -> Option<Permission> {
    let principal = action.principal;
    let same = entry.kind == principal.kind && entry.name == principal.name;
    let everyone = entry.kind == super::principal::USER_TYPE && entry.name == "*";
    if !same && !everyone {
        return None;
    }
    let host_matches = match &entry.host {
        Host::Any => true,
        Host::Ip(ip) => *ip == host,
        Host::Text(text) => *text == host.to_string(),
    };
    if !host_matches {
        return None;
    }
    let wanted = action.operation;
    let covers = entry.operation == Operation::All
        || entry.operation == wanted
        || (entry.permission == Permission::Allow && implies(entry.operation, wanted));
    covers.then_some(entry.permission)
}

/// Operations an ALLOW ACL grants besides its own (never for DENY ACLs).
fn implies(granted: Operation, wanted: Operation) -> bool {
    use Operation::*;
    match wanted {
        Describe => matches!(granted, Read | Write | Delete | Alter),
        DescribeConfigs => granted == AlterConfigs,
        _ => false,
    }
}

/// Whether the principal may perform `operation` on at least one resource of `resource_type`
/// (Kafka's `authorizeByResourceType`, used by InitProducerId for idempotent producers: WRITE on
/// any topic). A super user (or anyone, when no ACL covers a resource named `hardcode` and
/// `allow.everyone.if.no.acl.found` is set) may; otherwise an ALLOW ACL of the principal and
/// host for the operation must exist that no DENY ACL dominates: a DENY on the same literal,
/// on a prefix of its name, or a DENY on `*`.
pub fn authorize_by_resource_type(
    rules: &Rules,
    acls: &AclSet,
    principal: &Principal,
    host: IpAddr,
    operation: Operation,
    resource_type: ResourceType,
) -> bool {
    let probe = Action {
        principal,
        host,
        operation,
        resource_type,
        name: "hardcode",
    };
    if authorize(rules, acls, &probe).allowed() {
        return true;
    }
    let host = host.to_canonical();
    let mut deny_literal = HashSet::new();
    let mut deny_prefixed = HashSet::new();
    let mut allow = Vec::new();
    let Some(index) = acls.by_type.get(&resource_type) else {
        return false;
    };
    let literal = index.literal.values().flatten();
    let prefixed = index.prefixed.values().flatten();
    for entry in literal.chain(prefixed).chain(index.wildcard.iter()) {
        let principal_matches = (entry.kind == principal.kind && entry.name == principal.name)
            || (entry.kind == super::principal::USER_TYPE && entry.name == "*");
        let host_matches = match &entry.host {
            Host::Any => true,
            Host::Ip(ip) => *ip == host,
            Host::Text(text) => *text == host.to_string(),
        };
        let op_matches = entry.operation == operation || entry.operation == Operation::All;
        if !principal_matches || !host_matches || !op_matches {
            continue;
        }
        let acl = &entry.acl;
        match (entry.permission, acl.pattern) {
            (Permission::Deny, PatternType::Literal) if acl.name == WILDCARD => return false,
            (Permission::Deny, PatternType::Literal) => {
                deny_literal.insert(acl.name.as_str());
            }
            (Permission::Deny, PatternType::Prefixed) => {
                deny_prefixed.insert(acl.name.as_str());
            }
            (Permission::Allow, PatternType::Literal) if acl.name == WILDCARD => return true,
            (Permission::Allow, pattern) => allow.push((pattern, acl.name.as_str())),
        }
    }
    allow.into_iter().any(|(pattern, name)| {
        let denied_literal = pattern == PatternType::Literal && deny_literal.contains(name);
        let denied_prefix = name
            .char_indices()
            .map(|(i, c)| &name[..i + c.len_utf8()])
            .any(|prefix| deny_prefixed.contains(prefix));
        !denied_literal && !denied_prefix
    })
}

/// The operations the principal may perform on a resource, as Kafka's authorized-operations
/// bit field (bit n for operation code n), from the type's supported operations.
pub fn authorized_operations(
    rules: &Rules,
    acls: &AclSet,
    principal: &Principal,
    host: IpAddr,
    resource_type: ResourceType,
    name: &str,
) -> i32 {
    resource_type
        .operations()
        .iter()
        .filter(|op| {
            let action = Action {
                principal,
                host,
                operation: **op,
                resource_type,
                name,
            };
            authorize(rules, acls, &action).allowed()
        })
        .fold(0, |bits, op| bits | (1 << op.code()))
}

/// Every supported operation of the type: the bit field when there is no authorizer.
pub fn all_operations(resource_type: ResourceType) -> i32 {
    resource_type
        .operations()
        .iter()
        .fold(0, |bits, op| bits | (1 << op.code()))
}

/// One consistent view for deciding: the rules and the ACLs as they were when it was taken.
#[derive(Debug, Clone)]
pub struct Authorizer {
    pub rules: Arc<Rules>,
    pub acls: Arc<AclSet>,
}

impl Authorizer {
    pub fn authorize(&self, action: &Action) -> Decision<'_> {
        authorize(&self.rules, &self.acls, action)
    }

    pub fn authorize_by_resource_type(
        &self,
        principal: &Principal,
        host: IpAddr,
        operation: Operation,
        resource_type: ResourceType,
    ) -> bool {
        authorize_by_resource_type(
            &self.rules,
            &self.acls,
            principal,
            host,
            operation,
            resource_type,
        )
    }

    pub fn authorized_operations(
        &self,
        principal: &Principal,
        host: IpAddr,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        authorized_operations(
            &self.rules,
            &self.acls,
            principal,
            host,
            resource_type,
            name,
        )
    }
}

#[cfg(test)]
mod tests;
