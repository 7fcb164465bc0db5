//! `weir group list|describe|delete|seek`, like kafka-consumer-groups.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Buf;
use kafka_protocol::messages::consumer_group_describe_response::Assignment;
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest,
    DescribeGroupsRequest, GroupId, ListGroupsRequest,
};
use kafka_protocol::protocol::Decodable;
use serde::Serialize;

use super::error::{check, check_msg, CliError};
use super::offsets::{self, Tp, EARLIEST, LATEST};
use super::output::{or_dash, print, print_json, table};
use super::{seek, Connect};
use crate::client::{s, Client};

#[derive(clap::Args, Debug)]
pub struct GroupArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: GroupCommand,
}

#[derive(clap::Subcommand, Debug)]
enum GroupCommand {
    /// List consumer groups with their state.
    List,
    /// Show members, committed offsets and lag per partition.
    Describe {
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Delete groups (they must have no members).
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Move a group's committed offsets (kafka-consumer-groups --reset-offsets). Dry run unless
    /// --execute; the group must have no active members.
    Seek(seek::SeekArgs),
}

pub async fn run(args: GroupArgs) -> Result<(), CliError> {
    let connect = args.connect;
    match args.command {
        GroupCommand::List => list(&connect).await,
        GroupCommand::Describe { groups } => describe(&connect, &groups).await,
        GroupCommand::Delete { groups } => delete(&connect, &groups).await,
        GroupCommand::Seek(seek) => seek::run(&connect, seek).await,
    }
}

#[derive(Serialize)]
struct Listed {
    group: String,
    state: String,
    protocol_type: String,
}

/// Asks every broker (each lists the groups it coordinates).
async fn list(connect: &Connect) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let metadata = client.metadata(Some(&[])).await?;
    let mut groups = BTreeMap::new();
    for broker in &metadata.brokers {
        let response = client
            .call_node(broker.node_id.0, |_| ListGroupsRequest::default())
            .await?;
        check(response.error_code, || "cannot list groups".to_string())?;
        for g in response.groups {
            let state = g.group_state.as_str();
            groups.insert(
                g.group_id.0.as_str().to_string(),
                Listed {
                    group: g.group_id.0.as_str().to_string(),
                    state: if state.is_empty() { "-" } else { state }.to_string(),
                    protocol_type: g.protocol_type.as_str().to_string(),
                },
            );
        }
    }
    let groups: Vec<Listed> = groups.into_values().collect();
    if connect.json() {
        return print_json(&groups);
    }
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| vec![g.group.clone(), g.state.clone(), g.protocol_type.clone()])
        .collect();
    print(&table(&["GROUP", "STATE", "PROTOCOL-TYPE"], &rows))
}

#[derive(Serialize)]
pub(super) struct Described {
    pub group: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    /// Consumer groups of the KIP-848 protocol only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<ConsumerGroupInfo>,
    pub members: Vec<Member>,
    pub offsets: Vec<PartitionLag>,
}

/// What ConsumerGroupDescribe adds for a consumer group.
#[derive(Serialize)]
pub(super) struct ConsumerGroupInfo {
    group_epoch: i32,
    assignment_epoch: i32,
    assignor: String,
}

#[derive(Serialize)]
pub(super) struct Member {
    member_id: String,
    group_instance_id: Option<String>,
    client_id: String,
    host: String,
    assignment: BTreeMap<String, Vec<i32>>,
    /// Consumer groups only: the member's epoch and the assignment it reconciles towards.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_epoch: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_assignment: Option<BTreeMap<String, Vec<i32>>>,
}

#[derive(Serialize)]
pub(super) struct PartitionLag {
    topic: String,
    partition: i32,
    /// None: nothing committed.
    current_offset: Option<i64>,
    log_end_offset: i64,
    lag: Option<i64>,
    member_id: Option<String>,
}

/// The group's state and members: ConsumerGroupDescribe for a consumer group (when the broker
/// serves it), DescribeGroups otherwise.
pub(super) async fn describe_one(
    client: &mut Client,
    coordinator: i32,
    group: &str,
) -> Result<Described, CliError> {
    if let Some(described) = describe_consumer_group(client, coordinator, group).await? {
        return Ok(described);
    }
    let response = client
        .call_node(coordinator, |_| {
            DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))])
        })
        .await?;
    let described = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| CliError::kafka(format!("cannot describe group {group:?}"), -1, None))?;
    check_msg(
        described.error_code,
        described.error_message.as_ref(),
        || format!("cannot describe group {group:?}"),
    )?;
    let members = described
        .members
        .iter()
        .map(|m| Member {
            member_id: m.member_id.as_str().to_string(),
            group_instance_id: m.group_instance_id.as_ref().map(|i| i.as_str().to_string()),
            client_id: m.client_id.as_str().to_string(),
            host: m.client_host.as_str().to_string(),
            assignment: if described.protocol_type.as_str() == "consumer" {
                assignment(&m.member_assignment)
            } else {
                BTreeMap::new()
            },
            member_epoch: None,
            target_assignment: None,
        })
        .collect();
    Ok(Described {
        group: group.to_string(),
        state: described.group_state.as_str().to_string(),
        protocol_type: described.protocol_type.as_str().to_string(),
        protocol: described.protocol_data.as_str().to_string(),
        consumer: None,
        members,
        offsets: Vec::new(),
    })
}

/// ConsumerGroupDescribe of one group; `None` when the broker does not serve it or the group is
/// not a consumer group (GROUP_ID_NOT_FOUND).
async fn describe_consumer_group(
    client: &mut Client,
    coordinator: i32,
    group: &str,
) -> Result<Option<Described>, CliError> {
    let serves = client
        .node(coordinator)
        .await?
        .broker_versions()
        .contains_key(&(ApiKey::ConsumerGroupDescribe as i16));
    if !serves {
        return Ok(None);
    }
    let response = client
        .call_node(coordinator, |_| {
            ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))])
        })
        .await?;
    let Some(g) = response.groups.into_iter().next() else {
        return Ok(None);
    };
    const GROUP_ID_NOT_FOUND: i16 = 69;
    if g.error_code == GROUP_ID_NOT_FOUND {
        return Ok(None);
    }
    check_msg(g.error_code, g.error_message.as_ref(), || {
        format!("cannot describe group {group:?}")
    })?;
    let by_topic = |a: &Assignment| -> BTreeMap<String, Vec<i32>> {
        a.topic_partitions
            .iter()
            .map(|t| (t.topic_name.0.as_str().to_string(), t.partitions.clone()))
            .collect()
    };
    Ok(Some(Described {
        group: group.to_string(),
        state: g.group_state.as_str().to_string(),
        protocol_type: "consumer".to_string(),
        protocol: g.assignor_name.as_str().to_string(),
        consumer: Some(ConsumerGroupInfo {
            group_epoch: g.group_epoch,
            assignment_epoch: g.assignment_epoch,
            assignor: g.assignor_name.as_str().to_string(),
        }),
        members: g
            .members
            .iter()
            .map(|m| Member {
                member_id: m.member_id.as_str().to_string(),
                group_instance_id: m.instance_id.as_ref().map(|i| i.as_str().to_string()),
                client_id: m.client_id.as_str().to_string(),
                host: m.client_host.as_str().to_string(),
                assignment: by_topic(&m.assignment),
                member_epoch: Some(m.member_epoch),
                target_assignment: Some(by_topic(&m.target_assignment)),
            })
            .collect(),
        offsets: Vec::new(),
    }))
}

/// "t:0,1 u:3", or "-".
fn partitions_text(a: &BTreeMap<String, Vec<i32>>) -> String {
    let parts: Vec<String> = a
        .iter()
        .filter(|(_, ps)| !ps.is_empty())
        .map(|(t, ps)| {
            let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
            format!("{t}:{}", ps.join(","))
        })
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(" ")
    }
}

/// Decodes a ConsumerProtocol assignment: a leading int16 version, then the body.
fn assignment(bytes: &bytes::Bytes) -> BTreeMap<String, Vec<i32>> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return BTreeMap::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(a) => a
            .assigned_partitions
            .into_iter()
            .map(|tp| (tp.topic.0.as_str().to_string(), tp.partitions))
            .collect(),
        Err(_) => BTreeMap::new(),
    }
}

async fn describe(connect: &Connect, groups: &[String]) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let mut all = Vec::new();
    for group in groups {
        let coordinator = client.coordinator(group).await?;
        let mut described = describe_one(&mut client, coordinator, group).await?;
        let committed = offsets::committed(&mut client, coordinator, group).await?;
        if described.state == "Dead" && committed.is_empty() {
            return Err(CliError::kafka(
                format!("group {group:?} does not exist (broker {})", client.addr()),
                69,
                None,
            ));
        }
        described.offsets = lag(&mut client, &described, &committed).await?;
        all.push(described);
    }
    if connect.json() {
        return print_json(&all);
    }
    let mut text = String::new();
    for d in &all {
        text.push_str(&format!(
            "Group: {}  State: {}  Protocol: {}  Members: {}\n",
            d.group,
            d.state,
            if d.protocol.is_empty() {
                "-"
            } else {
                &d.protocol
            },
            d.members.len()
        ));
        if let Some(c) = &d.consumer {
            text.push_str(&format!(
                "Type: consumer  Group epoch: {}  Assignment epoch: {}  Assignor: {}\n",
                c.group_epoch, c.assignment_epoch, c.assignor
            ));
            let rows: Vec<Vec<String>> = d
                .members
                .iter()
                .map(|m| {
                    vec![
                        m.member_id.clone(),
                        m.member_epoch.map_or("-".into(), |e| e.to_string()),
                        m.client_id.clone(),
                        m.host.clone(),
                        partitions_text(&m.assignment),
                        m.target_assignment
                            .as_ref()
                            .map_or("-".into(), partitions_text),
                    ]
                })
                .collect();
            text.push_str(&table(
                &[
                    "CONSUMER-ID",
                    "EPOCH",
                    "CLIENT-ID",
                    "HOST",
                    "ASSIGNED",
                    "TARGET",
                ],
                &rows,
            ));
            text.push('\n');
        }
        let rows: Vec<Vec<String>> = d
            .offsets
            .iter()
            .map(|o| {
                let member = o
                    .member_id
                    .as_ref()
                    .and_then(|id| d.members.iter().find(|m| &m.member_id == id));
                vec![
                    o.topic.clone(),
                    o.partition.to_string(),
                    o.current_offset.map_or("-".into(), |c| c.to_string()),
                    or_dash(o.log_end_offset),
                    o.lag.map_or("-".into(), |l| l.to_string()),
                    member.map_or("-".into(), |m| m.member_id.clone()),
                    member.map_or("-".into(), |m| m.host.clone()),
                    member.map_or("-".into(), |m| m.client_id.clone()),
                ]
            })
            .collect();
        text.push_str(&table(
            &[
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID",
            ],
            &rows,
        ));
        text.push('\n');
    }
    print(text.trim_end_matches('\n')).and_then(|()| print("\n"))
}

/// One row per partition that is committed or assigned: committed offset, log end, lag.
async fn lag(
    client: &mut Client,
    described: &Described,
    committed: &BTreeMap<Tp, i64>,
) -> Result<Vec<PartitionLag>, CliError> {
    let mut owner: BTreeMap<Tp, String> = BTreeMap::new();
    for m in &described.members {
        for (topic, parts) in &m.assignment {
            for p in parts {
                owner.insert((topic.clone(), *p), m.member_id.clone());
            }
        }
    }
    let wanted: BTreeSet<Tp> = committed.keys().chain(owner.keys()).cloned().collect();
    let topics: Vec<String> = wanted
        .iter()
        .map(|(t, _)| t.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut ends = BTreeMap::new();
    if !topics.is_empty() {
        let metadata = client.metadata(Some(&topics)).await?;
        // Topics deleted since the commit are left without a log end rather than failing.
        let known: Vec<&String> = topics
            .iter()
            .filter(|t| {
                metadata.topics.iter().any(|m| {
                    m.error_code == 0 && m.name.as_ref().is_some_and(|n| n.0.as_str() == t.as_str())
                })
            })
            .collect();
        let leaders: BTreeMap<Tp, i32> = offsets::leaders(
            &offsets::topic_partitions(client.addr(), &metadata).unwrap_or_default(),
        )
        .into_iter()
        .filter(|(tp, _)| wanted.contains(tp) && known.contains(&&tp.0))
        .collect();
        ends = offsets::list_offsets(client, &leaders, LATEST).await?;
    }
    Ok(wanted
        .into_iter()
        .map(|tp| {
            let current = committed.get(&tp).copied();
            let end = ends.get(&tp).copied().unwrap_or(-1);
            PartitionLag {
                lag: current.filter(|_| end >= 0).map(|c| (end - c).max(0)),
                current_offset: current,
                log_end_offset: end,
                member_id: owner.get(&tp).cloned(),
                topic: tp.0,
                partition: tp.1,
            }
        })
        .collect())
}

async fn delete(connect: &Connect, groups: &[String]) -> Result<(), CliError> {
    let mut client = connect.client().await?;
    let mut deleted = Vec::new();
    for group in groups {
        let coordinator = client.coordinator(group).await?;
        let response = client
            .call_node(coordinator, |_| {
                DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(group))])
            })
            .await?;
        for result in response.results {
            check(result.error_code, || {
                format!("cannot delete group {group:?}")
            })?;
        }
        deleted.push(group.clone());
    }
    if connect.json() {
        return print_json(&serde_json::json!({ "deleted": deleted }));
    }
    let text: String = deleted
        .iter()
        .map(|g| format!("Deleted group {g}\n"))
        .collect();
    print(&text)
}

/// Earliest and latest offsets of `leaders`' partitions.
pub(super) async fn bounds(
    client: &mut Client,
    leaders: &BTreeMap<Tp, i32>,
) -> Result<(BTreeMap<Tp, i64>, BTreeMap<Tp, i64>), CliError> {
    let low = offsets::list_offsets(client, leaders, EARLIEST).await?;
    let high = offsets::list_offsets(client, leaders, LATEST).await?;
    Ok((low, high))
}
