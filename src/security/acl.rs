//! Kafka's ACL model: resource patterns and access control entries (together a binding, [`Acl`]),
//! the filters DescribeAcls and DeleteAcls select bindings with, and the wire codes and names
//! Kafka gives each part. Whether a principal may act is decided in `authorizer`, not here.

use std::fmt;

/// The one name a CLUSTER resource has.
pub const CLUSTER_NAME: &str = "kafka-cluster";
/// A literal resource name matching every resource of its type.
pub const WILDCARD: &str = "*";
/// The principal matching every user.
pub const WILDCARD_PRINCIPAL: &str = "User:*";

/// Defines an enum whose variants carry Kafka's wire code and name.
macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn code(self) -> i8 {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            pub fn from_code(code: i8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// Kafka's name, e.g. `DESCRIBE_CONFIGS`.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Kafka's name in any case, with or without `_` or `-` (`DescribeConfigs`,
            /// `describe-configs`, `DESCRIBE_CONFIGS`), as kafka-acls.sh takes it.
            pub fn parse(text: &str) -> Option<$name> {
                let wanted = loose(text);
                Self::ALL.iter().copied().find(|v| loose(v.name()) == wanted)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

fn loose(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

coded! {
    /// What an ACL is about. `ANY` (1) exists only in filters: see [`AclFilter`].
    ResourceType {
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
        DelegationToken = 6, "DELEGATION_TOKEN";
        User = 7, "USER";
    }
}

coded! {
    /// An operation. `ANY` (1) exists only in filters.
    Operation {
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
        TwoPhaseCommit = 15, "TWO_PHASE_COMMIT";
    }
}

coded! {
    /// How an ACL's resource name matches. `ANY` (1) and `MATCH` (2) exist only in filters.
    PatternType {
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
}

coded! {
    /// Allow or deny. `ANY` (1) exists only in filters.
    Permission {
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
}

/// Kafka's `ANY` code in every filter field.
pub const ANY: i8 = 1;
/// Kafka's `MATCH` pattern type code.
pub const MATCH: i8 = 2;

impl ResourceType {
    /// The operations that mean something on this resource type (Kafka's
    /// `AclEntry.supportedOperations`): what authorized-operations bit fields are made of.
    pub fn operations(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write, TwoPhaseCommit],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
        }
    }
}

/// One ACL (Kafka's `AclBinding`): a resource pattern and an access control entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Acl {
    pub resource_type: ResourceType,
    pub name: String,
    pub pattern: PatternType,
    /// `Type:name`, e.g. `User:alice`; `User:*` is every user.
    pub principal: String,
    /// A client IP address, or `*` for any.
    pub host: String,
    pub operation: Operation,
    pub permission: Permission,
}

impl Acl {
    /// An ACL from CreateAcls' codes, checked as Kafka checks a new ACL: every part known and
    /// concrete, a name, `kafka-cluster` as the only cluster name, a `Type:name` principal.
    pub fn from_codes(
        resource_type: i8,
        name: &str,
        pattern: i8,
        principal: &str,
        host: &str,
        operation: i8,
        permission: i8,
    ) -> Result<Acl, String> {
        let resource_type = ResourceType::from_code(resource_type)
            .ok_or_else(|| format!("Invalid resourceType {resource_type}"))?;
        let pattern = PatternType::from_code(pattern)
            .ok_or_else(|| format!("Invalid patternType {pattern}"))?;
        let operation = Operation::from_code(operation)
            .ok_or_else(|| format!("Invalid operation {operation}"))?;
        let permission = Permission::from_code(permission)
            .ok_or_else(|| format!("Invalid permissionType {permission}"))?;
        let acl = Acl {
            resource_type,
            name: name.to_string(),
            pattern,
            principal: principal.to_string(),
            host: host.to_string(),
            operation,
            permission,
        };
        acl.check()?;
        Ok(acl)
    }

    /// Kafka's checks of a new ACL beyond its codes.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err("Resource name should not be empty".into());
        }
        if self.resource_type == ResourceType::Cluster && self.name != CLUSTER_NAME {
            return Err(format!(
                "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
            ));
        }
        split_principal(&self.principal)?;
        if self.host.is_empty() {
            return Err("Host should not be empty (use * for any host)".into());
        }
        Ok(())
    }
}

/// `Type:name` split at the first `:`.
pub fn split_principal(principal: &str) -> Result<(&str, &str), String> {
    match principal.split_once(':') {
        Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok((kind, name)),
        _ => Err(format!(
            "expected a principal in the format principalType:principalName but got {principal:?}"
        )),
    }
}

impl fmt::Display for Acl {
    /// As kafka-acls.sh prints a binding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(pattern=ResourcePattern(resourceType={}, name={}, patternType={}), entry=(principal={}, host={}, operation={}, permissionType={}))",
            self.resource_type, self.name, self.pattern, self.principal, self.host, self.operation, self.permission
        )
    }
}

/// How a filter matches resource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternFilter {
    /// Any pattern type; a given name must equal the ACL's name.
    Any,
    /// The ACLs that would apply to a resource of that name: equal literals, the `*` literal and
    /// prefixes of it.
    Match,
    /// Only this pattern type, with an equal name.
    Only(PatternType),
}

/// Which ACLs DescribeAcls lists or DeleteAcls removes (Kafka's `AclBindingFilter`); `None` is
/// Kafka's `ANY` (or a null string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub name: Option<String>,
    pub pattern: PatternFilter,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: Option<Operation>,
    pub permission: Option<Permission>,
}

impl AclFilter {
    /// Every ACL.
    pub fn any() -> AclFilter {
        AclFilter {
            resource_type: None,
            name: None,
            pattern: PatternFilter::Any,
            principal: None,
            host: None,
            operation: None,
            permission: None,
        }
    }

    /// A filter from DescribeAcls' or DeleteAcls' codes; an unknown code is refused (Kafka
    /// refuses UNKNOWN elements).
    #[allow(clippy::too_many_arguments)]
    pub fn from_codes(
        resource_type: i8,
        name: Option<&str>,
        pattern: i8,
        principal: Option<&str>,
        host: Option<&str>,
        operation: i8,
        permission: i8,
    ) -> Result<AclFilter, String> {
        let resource_type = match resource_type {
            ANY => None,
            code => Some(
                ResourceType::from_code(code)
                    .ok_or_else(|| format!("Unknown resource type filter {code}"))?,
            ),
        };
        let pattern = match pattern {
            ANY => PatternFilter::Any,
            MATCH => PatternFilter::Match,
            code => PatternFilter::Only(
                PatternType::from_code(code)
                    .ok_or_else(|| format!("Unknown pattern type filter {code}"))?,
            ),
        };
        let operation = match operation {
            ANY => None,
            code => Some(
                Operation::from_code(code)
                    .ok_or_else(|| format!("Unknown operation filter {code}"))?,
            ),
        };
        let permission = match permission {
            ANY => None,
            code => Some(
                Permission::from_code(code)
                    .ok_or_else(|| format!("Unknown permission type filter {code}"))?,
            ),
        };
        Ok(AclFilter {
            resource_type,
            name: name.map(str::to_string),
            pattern,
            principal: principal.map(str::to_string),
            host: host.map(str::to_string),
            operation,
            permission,
        })
    }

    pub fn matches(&self, acl: &Acl) -> bool {
        self.matches_pattern(acl) && self.matches_entry(acl)
    }

    fn matches_pattern(&self, acl: &Acl) -> bool {
        if self.resource_type.is_some_and(|t| t != acl.resource_type) {
            return false;
        }
        let Some(name) = &self.name else {
            return match self.pattern {
                PatternFilter::Only(p) => p == acl.pattern,
                PatternFilter::Any | PatternFilter::Match => true,
            };
        };
        match self.pattern {
            PatternFilter::Only(p) => p == acl.pattern && *name == acl.name,
            PatternFilter::Any => *name == acl.name,
            PatternFilter::Match => match acl.pattern {
                PatternType::Literal => *name == acl.name || acl.name == WILDCARD,
                PatternType::Prefixed => name.starts_with(&acl.name),
            },
        }
    }

    fn matches_entry(&self, acl: &Acl) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == acl.principal)
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && self.operation.is_none_or(|o| o == acl.operation)
            && self.permission.is_none_or(|p| p == acl.permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(name: &str, pattern: PatternType) -> Acl {
        Acl {
            resource_type: ResourceType::Topic,
            name: name.into(),
            pattern,
            principal: "User:alice".into(),
            host: "*".into(),
            operation: Operation::Read,
            permission: Permission::Allow,
        }
    }

    #[test]
    fn names_and_codes_round_trip_and_parse_loosely() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_code(op.code()), Some(*op));
            assert_eq!(Operation::parse(op.name()), Some(*op));
        }
        assert_eq!(
            Operation::parse("DescribeConfigs"),
            Some(Operation::DescribeConfigs)
        );
        assert_eq!(
            Operation::parse("idempotent-write"),
            Some(Operation::IdempotentWrite)
        );
        assert_eq!(
            ResourceType::parse("transactional_id"),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(Operation::from_code(ANY), None);
        assert_eq!(PatternType::from_code(MATCH), None);
    }

    #[test]
    fn new_acls_are_checked_as_kafka_checks_them() {
        let ok =
            |t, name: &str, p, principal: &str| Acl::from_codes(t, name, p, principal, "*", 3, 3);
        assert!(ok(2, "t", 3, "User:alice").is_ok());
        assert!(ok(4, CLUSTER_NAME, 3, "User:alice").is_ok());
        assert!(ok(4, "other", 3, "User:alice").is_err());
        assert!(ok(2, "", 3, "User:alice").is_err());
        assert!(ok(1, "t", 3, "User:alice").is_err(), "ANY resource type");
        assert!(ok(2, "t", 2, "User:alice").is_err(), "MATCH pattern");
        assert!(ok(2, "t", 1, "User:alice").is_err(), "ANY pattern");
        assert!(ok(2, "t", 3, "alice").is_err(), "no principal type");
        assert!(
            Acl::from_codes(2, "t", 3, "User:a", "*", 1, 3).is_err(),
            "ANY op"
        );
        assert!(
            Acl::from_codes(2, "t", 3, "User:a", "*", 3, 1).is_err(),
            "ANY perm"
        );
    }

    #[test]
    fn filters_match_as_kafka_filters_do() {
        let literal = acl("orders", PatternType::Literal);
        let prefixed = acl("ord", PatternType::Prefixed);
        let wildcard = acl(WILDCARD, PatternType::Literal);
        let mut f = AclFilter::any();
        assert!(f.matches(&literal) && f.matches(&prefixed) && f.matches(&wildcard));
        f.name = Some("orders".into());
        assert!(f.matches(&literal) && !f.matches(&prefixed) && !f.matches(&wildcard));
        f.pattern = PatternFilter::Match;
        assert!(f.matches(&literal) && f.matches(&prefixed) && f.matches(&wildcard));
        f.pattern = PatternFilter::Only(PatternType::Prefixed);
        assert!(!f.matches(&literal) && !f.matches(&prefixed));
        f.name = Some("ord".into());
        assert!(f.matches(&prefixed));
        f.principal = Some("User:bob".into());
        assert!(!f.matches(&prefixed));
        let mut f = AclFilter::any();
        f.operation = Some(Operation::Write);
        assert!(!f.matches(&literal));
        f.operation = Some(Operation::Read);
        f.permission = Some(Permission::Deny);
        assert!(!f.matches(&literal));
        f.resource_type = Some(ResourceType::Group);
        f.permission = None;
        assert!(!f.matches(&literal));
    }
}
