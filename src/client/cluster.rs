//! [`Client`]: connections to a cluster, found from a bootstrap list.

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::Request;

use super::connection::Connection;
use super::error::{check_msg, ClientError};
use super::security::ClientSecurity;
use super::{s, topic_name};

/// Starts from a bootstrap address and follows Metadata (partition leaders) and
/// FindCoordinator (group coordinators), so it works against a multi-broker Apache Kafka
/// cluster as well as against weir.
pub struct Client {
    timeout: Duration,
    client_id: String,
    security: ClientSecurity,
    boot: Connection,
    /// node id -> "host:port", from Metadata and FindCoordinator.
    nodes: HashMap<i32, String>,
    conns: HashMap<i32, Connection>,
}

impl Client {
    /// Connects to the first reachable address of a comma-separated bootstrap list; every
    /// connection identifies itself as `client_id`.
    pub async fn connect(
        bootstrap: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        Self::connect_with(bootstrap, client_id, timeout, ClientSecurity::default()).await
    }

    /// As [`Client::connect`], over TLS and SASL as `security` says (every connection).
    pub async fn connect_with(
        bootstrap: &str,
        client_id: &str,
        timeout: Duration,
        security: ClientSecurity,
    ) -> Result<Client, ClientError> {
        let mut last = None;
        for addr in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match open(addr, client_id, timeout, &security).await {
                Ok(boot) => {
                    return Ok(Client {
                        timeout,
                        client_id: client_id.to_string(),
                        security,
                        boot,
                        nodes: HashMap::new(),
                        conns: HashMap::new(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Connect {
            addr: bootstrap.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address given"),
        }))
    }

    /// The address of the bootstrap broker this client talks to.
    pub fn addr(&self) -> &str {
        self.boot.addr()
    }

    pub fn boot(&self) -> &Connection {
        &self.boot
    }

    pub fn supports<R: Request>(&self) -> bool {
        self.boot.supports::<R>()
    }

    /// Sends to the bootstrap broker.
    pub async fn call<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response, ClientError> {
        self.boot.send(build).await
    }

    /// Sends to broker `node` (a leader or coordinator).
    pub async fn call_node<R: Request>(
        &mut self,
        node: i32,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response, ClientError> {
        self.node(node).await?.send(build).await
    }

    pub async fn node(&mut self, node: i32) -> Result<&mut Connection, ClientError> {
        if !self.nodes.contains_key(&node) {
            self.metadata(Some(&[])).await?;
        }
        let addr = self
            .nodes
            .get(&node)
            .cloned()
            .ok_or_else(|| ClientError::Protocol {
                addr: self.boot.addr().to_string(),
                api: "Metadata".into(),
                detail: format!("broker {node} is not listed"),
            })?;
        if addr == self.boot.addr() {
            return Ok(&mut self.boot);
        }
        if !self.conns.contains_key(&node) {
            let conn = open(&addr, &self.client_id, self.timeout, &self.security).await?;
            self.conns.insert(node, conn);
        }
        self.conns
            .get_mut(&node)
            .ok_or_else(|| ClientError::Connect {
                addr,
                source: std::io::Error::other("connection lost"),
            })
    }

    /// Metadata for `topics` (`None`: every topic), never creating topics. Records the brokers.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, ClientError> {
        let response = self
            .boot
            .send(|version| {
                let topics = topics.map(|names| {
                    names
                        .iter()
                        .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                        .collect()
                });
                let request = MetadataRequest::default().with_topics(topics);
                if version >= 4 {
                    request.with_allow_auto_topic_creation(false)
                } else {
                    request
                }
            })
            .await?;
        for broker in &response.brokers {
            self.nodes.insert(
                broker.node_id.0,
                format!("{}:{}", broker.host.as_str(), broker.port),
            );
        }
        Ok(response)
    }

    /// The node id of the coordinator of `group`, retrying while it is loading.
    pub async fn coordinator(&mut self, group: &str) -> Result<i32, ClientError> {
        self.find_coordinator(group, 0, "group").await
    }

    /// The node id of the transaction coordinator of `transactional_id`.
    pub async fn txn_coordinator(&mut self, transactional_id: &str) -> Result<i32, ClientError> {
        self.find_coordinator(transactional_id, 1, "transactional id")
            .await
    }

    /// FindCoordinator for `key` of `key_type` (0 group, 1 transactional id).
    async fn find_coordinator(
        &mut self,
        group: &str,
        key_type: i8,
        what: &str,
    ) -> Result<i32, ClientError> {
        let mut attempt = 0;
        loop {
            let response = self
                .boot
                .send(|version| {
                    let request = FindCoordinatorRequest::default().with_key_type(key_type);
                    if version >= 4 {
                        request.with_coordinator_keys(vec![s(group)])
                    } else {
                        request.with_key(s(group))
                    }
                })
                .await?;
            let (code, message, node, host, port) = match response.coordinators.first() {
                Some(c) => (
                    c.error_code,
                    c.error_message.clone(),
                    c.node_id.0,
                    c.host.clone(),
                    c.port,
                ),
                None => (
                    response.error_code,
                    response.error_message.clone(),
                    response.node_id.0,
                    response.host.clone(),
                    response.port,
                ),
            };
            let retriable = code == 14 || code == 15; // loading, not available
            if retriable && attempt < 20 {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            check_msg(code, message.as_ref(), || {
                format!("cannot find the coordinator of {what} {group:?}")
            })?;
            self.nodes.insert(node, format!("{}:{port}", host.as_str()));
            return Ok(node);
        }
    }
}

async fn open(
    addr: &str,
    client_id: &str,
    timeout: Duration,
    security: &ClientSecurity,
) -> Result<Connection, ClientError> {
    let mut conn = Connection::open_with(addr, timeout, security)
        .await?
        .with_client_id(client_id);
    conn.negotiate().await?;
    conn.authenticate(security).await?;
    Ok(conn)
}
