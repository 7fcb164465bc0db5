//! `weir acl`: list, add and remove ACLs, as `kafka-acls.sh` does, through DescribeAcls,
//! CreateAcls and DeleteAcls. Operations and resource types take Kafka's names in any case
//! (`Read`, `describe-configs`, `IDEMPOTENT_WRITE`).

use serde::Serialize;

use super::error::CliError;
use super::output::{print, print_json, table};
use super::Connect;
use crate::security::acl::{
    Acl, AclFilter, Operation, PatternFilter, PatternType, Permission, ResourceType, CLUSTER_NAME,
};

#[derive(clap::Args, Debug)]
pub struct AclArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: AclCommand,
}

/// The resources a command is about; several may be given.
#[derive(clap::Args, Debug, Default)]
struct Resources {
    /// A topic (`*` for every topic); repeatable.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// A consumer group (`*` for every group); repeatable.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// A transactional id (`*` for every one); repeatable.
    #[arg(long = "transactional-id")]
    transactional_ids: Vec<String>,
    /// The cluster.
    #[arg(long)]
    cluster: bool,
}

impl Resources {
    fn list(&self) -> Vec<(ResourceType, String)> {
        let named = |t: ResourceType, names: &[String]| {
            names
                .iter()
                .map(move |n| (t, n.clone()))
                .collect::<Vec<_>>()
        };
        let mut all = named(ResourceType::Topic, &self.topics);
        all.extend(named(ResourceType::Group, &self.groups));
        all.extend(named(
            ResourceType::TransactionalId,
            &self.transactional_ids,
        ));
        if self.cluster {
            all.push((ResourceType::Cluster, CLUSTER_NAME.to_string()));
        }
        all
    }
}

#[derive(clap::Subcommand, Debug)]
enum AclCommand {
    /// The ACLs of the resources given (every ACL without one).
    List {
        #[command(flatten)]
        resources: Resources,
        /// `literal`, `prefixed`, `any` or `match` (the ACLs that apply to the named
        /// resource) [default: any].
        #[arg(long, default_value = "any")]
        resource_pattern_type: String,
        /// Only the ACLs of this principal (`User:alice`).
        #[arg(long)]
        principal: Option<String>,
    },
    /// Adds ACLs: each principal x operation x resource.
    Add {
        #[command(flatten)]
        resources: Resources,
        /// `literal` or `prefixed`.
        #[arg(long, default_value = "literal")]
        resource_pattern_type: String,
        /// A principal allowed (`User:alice`, `User:*`); repeatable.
        #[arg(long = "allow-principal")]
        allow: Vec<String>,
        /// A principal denied; repeatable.
        #[arg(long = "deny-principal")]
        deny: Vec<String>,
        /// The client address the ACLs apply to [default: * (any)].
        #[arg(long, default_value = "*")]
        host: String,
        /// Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,
        /// AlterConfigs, IdempotentWrite, All; repeatable.
        #[arg(long = "operation", required = true)]
        operations: Vec<String>,
    },
    /// Removes the ACLs of the resources given that match the other options (any principal,
    /// host, operation or permission when not given).
    Remove {
        #[command(flatten)]
        resources: Resources,
        /// `literal`, `prefixed`, `any` or `match`.
        #[arg(long, default_value = "literal")]
        resource_pattern_type: String,
        /// Only ACLs allowing this principal; repeatable.
        #[arg(long = "allow-principal")]
        allow: Vec<String>,
        /// Only ACLs denying this principal; repeatable.
        #[arg(long = "deny-principal")]
        deny: Vec<String>,
        /// Only ACLs of this client address.
        #[arg(long)]
        host: Option<String>,
        /// Only ACLs of these operations; repeatable.
        #[arg(long = "operation")]
        operations: Vec<String>,
    },
}

#[derive(Serialize)]
struct Row {
    resource_type: String,
    name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission: String,
}

impl From<&Acl> for Row {
    fn from(a: &Acl) -> Row {
        Row {
            resource_type: a.resource_type.to_string(),
            name: a.name.clone(),
            pattern_type: a.pattern.to_string(),
            principal: a.principal.clone(),
            host: a.host.clone(),
            operation: a.operation.to_string(),
            permission: a.permission.to_string(),
        }
    }
}

fn pattern_filter(text: &str) -> Result<PatternFilter, CliError> {
    match text.to_ascii_lowercase().as_str() {
        "any" => Ok(PatternFilter::Any),
        "match" => Ok(PatternFilter::Match),
        other => PatternType::parse(other)
            .map(PatternFilter::Only)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--resource-pattern-type {text}: use literal, prefixed, any or match"
                ))
            }),
    }
}

fn operations(names: &[String]) -> Result<Vec<Operation>, CliError> {
    names
        .iter()
        .map(|n| {
            Operation::parse(n)
                .ok_or_else(|| CliError::Usage(format!("--operation {n}: not a Kafka operation")))
        })
        .collect()
}

/// Each (principal, permission) pair given, or one `None` for any.
fn principals(allow: &[String], deny: &[String]) -> Vec<Option<(String, Permission)>> {
    let given: Vec<_> = allow
        .iter()
        .map(|p| Some((p.clone(), Permission::Allow)))
        .chain(deny.iter().map(|p| Some((p.clone(), Permission::Deny))))
        .collect();
    if given.is_empty() {
        vec![None]
    } else {
        given
    }
}

pub async fn run(args: AclArgs) -> Result<(), CliError> {
    let connect = args.connect;
    match args.command {
        AclCommand::List {
            resources,
            resource_pattern_type,
            principal,
        } => {
            let pattern = pattern_filter(&resource_pattern_type)?;
            let mut filters: Vec<AclFilter> = resources
                .list()
                .into_iter()
                .map(|(t, name)| AclFilter {
                    resource_type: Some(t),
                    name: Some(name),
                    pattern,
                    ..AclFilter::any()
                })
                .collect();
            if filters.is_empty() {
                filters.push(AclFilter {
                    pattern,
                    ..AclFilter::any()
                });
            }
            let mut client = connect.client().await?;
            let mut acls = Vec::new();
            for mut filter in filters {
                filter.principal = principal.clone();
                for acl in client.describe_acls(&filter).await? {
                    if !acls.contains(&acl) {
                        acls.push(acl);
                    }
                }
            }
            show(&connect, &acls)
        }
        AclCommand::Add {
            resources,
            resource_pattern_type,
            allow,
            deny,
            host,
            operations: names,
        } => {
            let pattern = PatternType::parse(&resource_pattern_type).ok_or_else(|| {
                CliError::Usage(format!(
                    "--resource-pattern-type {resource_pattern_type}: use literal or prefixed"
                ))
            })?;
            let ops = operations(&names)?;
            let targets = resources.list();
            if targets.is_empty() {
                return Err(CliError::Usage(
                    "name a resource: --topic, --group, --transactional-id or --cluster".into(),
                ));
            }
            if allow.is_empty() && deny.is_empty() {
                return Err(CliError::Usage(
                    "name a principal: --allow-principal or --deny-principal".into(),
                ));
            }
            let mut acls = Vec::new();
            for (resource_type, name) in &targets {
                for (principal, permission) in principals(&allow, &deny).into_iter().flatten() {
                    for op in &ops {
                        let acl = Acl {
                            resource_type: *resource_type,
                            name: name.clone(),
                            pattern,
                            principal: principal.clone(),
                            host: host.clone(),
                            operation: *op,
                            permission,
                        };
                        acl.check().map_err(CliError::Usage)?;
                        acls.push(acl);
                    }
                }
            }
            let mut client = connect.client().await?;
            for result in client.create_acls(&acls).await? {
                result?;
            }
            if connect.json() {
                return print_json(&acls.iter().map(Row::from).collect::<Vec<_>>());
            }
            let mut text = String::new();
            for acl in &acls {
                text.push_str(&format!("added {acl}\n"));
            }
            print(&text)
        }
        AclCommand::Remove {
            resources,
            resource_pattern_type,
            allow,
            deny,
            host,
            operations: names,
        } => {
            let pattern = pattern_filter(&resource_pattern_type)?;
            let ops = operations(&names)?;
            let targets = resources.list();
            if targets.is_empty() {
                return Err(CliError::Usage(
                    "name a resource: --topic, --group, --transactional-id or --cluster".into(),
                ));
            }
            let ops: Vec<Option<Operation>> = if ops.is_empty() {
                vec![None]
            } else {
                ops.into_iter().map(Some).collect()
            };
            let mut filters = Vec::new();
            for (resource_type, name) in &targets {
                for who in principals(&allow, &deny) {
                    for op in &ops {
                        filters.push(AclFilter {
                            resource_type: Some(*resource_type),
                            name: Some(name.clone()),
                            pattern,
                            principal: who.as_ref().map(|(p, _)| p.clone()),
                            host: host.clone(),
                            operation: *op,
                            permission: who.as_ref().map(|(_, perm)| *perm),
                        });
                    }
                }
            }
            let mut client = connect.client().await?;
            let removed = client.delete_acls(&filters).await?;
            if connect.json() {
                return print_json(&removed.iter().map(Row::from).collect::<Vec<_>>());
            }
            let mut text = String::new();
            for acl in &removed {
                text.push_str(&format!("removed {acl}\n"));
            }
            if removed.is_empty() {
                text.push_str("no ACL matched\n");
            }
            print(&text)
        }
    }
}

fn show(connect: &Connect, acls: &[Acl]) -> Result<(), CliError> {
    let rows: Vec<Row> = acls.iter().map(Row::from).collect();
    if connect.json() {
        return print_json(&rows);
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.resource_type,
                r.name,
                r.pattern_type,
                r.principal,
                r.host,
                r.operation,
                r.permission,
            ]
        })
        .collect();
    print(&table(
        &[
            "RESOURCE",
            "NAME",
            "PATTERN",
            "PRINCIPAL",
            "HOST",
            "OPERATION",
            "PERMISSION",
        ],
        &cells,
    ))
}
