//! `weir cluster info`: cluster id, controller, brokers and, with `--api-versions`, what the
//! bootstrap broker serves and which version the tools use.

use kafka_protocol::messages::DescribeClusterRequest;
use serde::Serialize;

use super::error::{check_msg, CliError};
use super::output::{print, print_json, table};
use super::Connect;
use crate::client::api_name;

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    connect: Connect,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ClusterCommand {
    /// Cluster id, controller and brokers.
    Info {
        /// Also list the API versions the bootstrap broker serves.
        #[arg(long)]
        api_versions: bool,
    },
}

#[derive(Serialize)]
struct Info {
    bootstrap: String,
    cluster_id: Option<String>,
    controller_id: i32,
    brokers: Vec<Broker>,
    topics: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_versions: Option<Vec<ApiVersion>>,
}

#[derive(Serialize)]
struct Broker {
    id: i32,
    host: String,
    port: i32,
    rack: Option<String>,
}

#[derive(Serialize)]
struct ApiVersion {
    api: String,
    key: i16,
    min_version: i16,
    max_version: i16,
}

pub async fn run(args: ClusterArgs) -> Result<(), CliError> {
    let ClusterCommand::Info { api_versions } = args.command;
    let connect = args.connect;
    let mut client = connect.client().await?;
    let metadata = client.metadata(None).await?;
    let mut info = Info {
        bootstrap: client.addr().to_string(),
        cluster_id: metadata.cluster_id.as_ref().map(|c| c.as_str().to_string()),
        controller_id: metadata.controller_id.0,
        brokers: metadata
            .brokers
            .iter()
            .map(|b| Broker {
                id: b.node_id.0,
                host: b.host.as_str().to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(|r| r.as_str().to_string()),
            })
            .collect(),
        topics: metadata.topics.iter().filter(|t| !t.is_internal).count(),
        api_versions: None,
    };
    if client.supports::<DescribeClusterRequest>() {
        let response = client.call(|_| DescribeClusterRequest::default()).await?;
        check_msg(response.error_code, response.error_message.as_ref(), || {
            format!("cannot describe the cluster at {}", client.addr())
        })?;
        info.cluster_id = Some(response.cluster_id.as_str().to_string());
        info.controller_id = response.controller_id.0;
        info.brokers = response
            .brokers
            .iter()
            .map(|b| Broker {
                id: b.broker_id.0,
                host: b.host.as_str().to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(|r| r.as_str().to_string()),
            })
            .collect();
    }
    info.brokers.sort_by_key(|b| b.id);
    if api_versions {
        let mut versions: Vec<ApiVersion> = client
            .boot()
            .broker_versions()
            .iter()
            .map(|(key, (min, max))| ApiVersion {
                api: api_name(*key),
                key: *key,
                min_version: *min,
                max_version: *max,
            })
            .collect();
        versions.sort_by_key(|v| v.key);
        info.api_versions = Some(versions);
    }
    if connect.json() {
        return print_json(&info);
    }
    let mut text = format!(
        "Cluster id: {}\nController: {}\nTopics: {}\n\n",
        info.cluster_id.as_deref().unwrap_or("-"),
        info.controller_id,
        info.topics
    );
    let rows: Vec<Vec<String>> = info
        .brokers
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.host.clone(),
                b.port.to_string(),
                b.rack.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    text.push_str(&table(&["BROKER", "HOST", "PORT", "RACK"], &rows));
    if let Some(versions) = &info.api_versions {
        let rows: Vec<Vec<String>> = versions
            .iter()
            .map(|v| {
                vec![
                    v.api.clone(),
                    v.key.to_string(),
                    v.min_version.to_string(),
                    v.max_version.to_string(),
                ]
            })
            .collect();
        text.push('\n');
        text.push_str(&table(&["API", "KEY", "MIN", "MAX"], &rows));
    }
    print(&text)
}
