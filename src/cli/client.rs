//! A small async Kafka client for the command-line tools.
//!
//! One [`Connection`] per broker: connect with a timeout, negotiate versions with ApiVersions
//! (per API the highest version both sides know), then length-prefixed request/response frames
//! matched by correlation id. [`Client`] starts from a bootstrap address and follows Metadata
//! (partition leaders) and FindCoordinator (group coordinators), so it works against a
//! multi-broker Apache Kafka cluster as well as against weir.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FindCoordinatorRequest, MetadataRequest, MetadataResponse,
    RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::error::{check_msg, CliError};
use super::security::{ClientSecurity, Stream};

const CLIENT_ID: &str = "weir-cli";
/// Larger frames than this are refused rather than allocated.
const MAX_RESPONSE_BYTES: usize = 512 * 1024 * 1024;

/// Highest version the CLI builds, where lower than the codec's: these APIs name topics by id
/// from the next version on, and the CLI names them by name.
fn our_max(api: ApiKey) -> Option<i16> {
    match api {
        ApiKey::Produce | ApiKey::Fetch | ApiKey::Metadata => Some(12),
        _ => None,
    }
}

pub fn api_name(key: i16) -> String {
    ApiKey::try_from(key).map_or_else(|_| format!("api {key}"), |api| format!("{api:?}"))
}

/// `"name"` as a protocol string.
pub fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

pub fn topic_name(text: &str) -> TopicName {
    TopicName(s(text))
}

/// One broker connection with its negotiated versions.
pub struct Connection {
    addr: String,
    stream: Stream,
    correlation_id: i32,
    timeout: Duration,
    /// api key -> (broker min, broker max)
    versions: HashMap<i16, (i16, i16)>,
}

impl Connection {
    pub async fn open(
        addr: &str,
        timeout: Duration,
        security: &ClientSecurity,
    ) -> Result<Connection, CliError> {
        let stream = match tokio::time::timeout(timeout, security.connect(addr)).await {
            Err(_) => {
                return Err(CliError::ConnectTimeout {
                    addr: addr.to_string(),
                    timeout,
                })
            }
            Ok(Err(source)) => {
                return Err(CliError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Ok(Ok(stream)) => stream,
        };
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            correlation_id: 0,
            timeout,
            versions: HashMap::new(),
        };
        conn.negotiate().await?;
        if let Some((mechanism, user, password)) = &security.sasl {
            conn.authenticate(*mechanism, user, password).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1, then SaslAuthenticate until the mechanism is done.
    async fn authenticate(
        &mut self,
        mechanism: crate::security::Mechanism,
        user: &str,
        password: &str,
    ) -> Result<(), CliError> {
        use crate::security::{plain, scram::ScramClient};
        use kafka_protocol::messages::SaslHandshakeRequest;
        let addr = self.addr.clone();
        let handshake = self
            .roundtrip_at(
                1,
                &SaslHandshakeRequest::default().with_mechanism(s(mechanism.name())),
            )
            .await?;
        check_msg(handshake.error_code, None, || {
            format!("{addr} does not serve SASL {mechanism}")
        })?;
        let version = self
            .versions
            .get(&(ApiKey::SaslAuthenticate as i16))
            .map_or(0, |(_, max)| (*max).min(2));
        let failed =
            |e: String| CliError::kafka(format!("SASL {mechanism} with {addr}"), 58, Some(e));
        match mechanism.scram() {
            None => {
                let response = self
                    .sasl_token(version, plain::message(user, password))
                    .await?;
                check_msg(response.error_code, response.error_message.as_ref(), || {
                    format!("SASL {mechanism} with {addr}")
                })
            }
            Some(scram) => {
                let mut client =
                    ScramClient::new(scram, user, password).map_err(|e| failed(e.to_string()))?;
                let first = self.sasl_token(version, client.first_message()).await?;
                check_msg(first.error_code, first.error_message.as_ref(), || {
                    format!("SASL {mechanism} with {addr}")
                })?;
                let last = client
                    .final_message(&first.auth_bytes)
                    .map_err(|e| failed(e.to_string()))?;
                let done = self.sasl_token(version, last).await?;
                check_msg(done.error_code, done.error_message.as_ref(), || {
                    format!("SASL {mechanism} with {addr}")
                })?;
                client
                    .verify_server(&done.auth_bytes)
                    .map_err(|e| failed(e.to_string()))
            }
        }
    }

    async fn sasl_token(
        &mut self,
        version: i16,
        bytes: Vec<u8>,
    ) -> Result<kafka_protocol::messages::SaslAuthenticateResponse, CliError> {
        let request = kafka_protocol::messages::SaslAuthenticateRequest::default()
            .with_auth_bytes(Bytes::from(bytes));
        self.roundtrip_at(version, &request).await
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's (min, max) per API key, as ApiVersions reported them.
    pub fn broker_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    /// Asks at v3 first; a broker that does not know v3 answers UNSUPPORTED_VERSION in a
    /// v0-shaped body, so any failure there is retried at v0.
    async fn negotiate(&mut self) -> Result<(), CliError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(s(CLIENT_ID))
            .with_client_software_version(s(env!("CARGO_PKG_VERSION")));
        let response = match self.roundtrip_at(3, &request).await {
            Ok(response) if response.error_code == 0 => response,
            Ok(_) | Err(CliError::Protocol { .. }) => {
                self.roundtrip_at(0, &ApiVersionsRequest::default()).await?
            }
            Err(e) => return Err(e),
        };
        let addr = self.addr.clone();
        check_msg(response.error_code, None, || {
            format!("ApiVersions from {addr}")
        })?;
        self.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    /// The version used for `R`: min(our max, broker max), if not below either minimum.
    pub fn version<R: Request>(&self) -> Result<i16, CliError> {
        let ours = ApiKey::try_from(R::KEY)
            .ok()
            .and_then(our_max)
            .map_or(R::VERSIONS.max, |max| max.min(R::VERSIONS.max));
        let unsupported = |detail: String| CliError::Unsupported {
            addr: self.addr.clone(),
            api: api_name(R::KEY),
            detail,
        };
        let (min, max) = self
            .versions
            .get(&R::KEY)
            .copied()
            .ok_or_else(|| unsupported(String::new()))?;
        let version = ours.min(max);
        if version < min.max(R::VERSIONS.min) {
            return Err(unsupported(format!(
                " at a version this tool knows (broker v{min}-v{max}, tool v{}-v{ours})",
                R::VERSIONS.min
            )));
        }
        Ok(version)
    }

    pub fn supports<R: Request>(&self) -> bool {
        self.version::<R>().is_ok()
    }

    /// Sends the request `build` makes for the negotiated version and returns the response.
    pub async fn send<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response, CliError> {
        let version = self.version::<R>()?;
        self.roundtrip_at(version, &build(version)).await
    }

    /// Sends a request the broker does not answer (Produce with acks=0).
    pub async fn send_no_response<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<(), CliError> {
        let version = self.version::<R>()?;
        let frame = self.frame(version, &build(version))?;
        let (addr, timeout) = (self.addr.clone(), self.timeout);
        let api = api_name(R::KEY);
        deadline(&addr, &api, timeout, self.stream.write_all(&frame)).await
    }

    async fn roundtrip_at<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Response, CliError> {
        let frame = self.frame(version, request)?;
        let api = api_name(R::KEY);
        let id = self.correlation_id;
        let (addr, timeout) = (self.addr.clone(), self.timeout);
        let stream = &mut self.stream;
        let io = async {
            stream.write_all(&frame).await?;
            read_frame(stream).await
        };
        let mut body = deadline(&addr, &api, timeout, io).await?;
        let protocol = |detail: String| CliError::Protocol {
            addr: addr.clone(),
            api: format!("{api} v{version}"),
            detail,
        };
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .map_err(|e| protocol(e.to_string()))?;
        if header.correlation_id != id {
            return Err(protocol(format!(
                "correlation id {} instead of {id}",
                header.correlation_id
            )));
        }
        R::Response::decode(&mut body, version).map_err(|e| protocol(e.to_string()))
    }

    fn frame<R: Request>(&mut self, version: i16, request: &R) -> Result<BytesMut, CliError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(s(CLIENT_ID)));
        let encode = |detail: String| CliError::Encode {
            api: format!("{} v{version}", api_name(R::KEY)),
            detail,
        };
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0; 4]);
        header
            .encode(&mut frame, R::header_version(version))
            .map_err(|e| encode(e.to_string()))?;
        request
            .encode(&mut frame, version)
            .map_err(|e| encode(e.to_string()))?;
        let len = i32::try_from(frame.len() - 4).map_err(|_| encode("request too large".into()))?;
        frame[..4].copy_from_slice(&len.to_be_bytes());
        Ok(frame)
    }
}

async fn deadline<T>(
    addr: &str,
    api: &str,
    timeout: Duration,
    io: impl std::future::Future<Output = Result<T, std::io::Error>>,
) -> Result<T, CliError> {
    match tokio::time::timeout(timeout, io).await {
        Err(_) => Err(CliError::Timeout {
            addr: addr.to_string(),
            api: api.to_string(),
            timeout,
        }),
        Ok(Err(source)) => Err(CliError::Io {
            addr: addr.to_string(),
            api: api.to_string(),
            source,
        }),
        Ok(Ok(value)) => Ok(value),
    }
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Bytes, std::io::Error> {
    let len = stream.read_i32().await?;
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_RESPONSE_BYTES)
        .ok_or_else(|| {
            let hint = if len.to_be_bytes() == *b"HTTP" {
                " (this is an HTTP server, not a Kafka broker)"
            } else {
                ""
            };
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("response frame length {len}{hint}"),
            )
        })?;
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;
    Ok(Bytes::from(body))
}

/// Connections to a cluster, found from a bootstrap list.
pub struct Client {
    timeout: Duration,
    security: ClientSecurity,
    boot: Connection,
    /// node id -> "host:port", from Metadata and FindCoordinator.
    nodes: HashMap<i32, String>,
    conns: HashMap<i32, Connection>,
}

impl Client {
    /// Connects to the first reachable address of a comma-separated bootstrap list.
    pub async fn connect(
        bootstrap: &str,
        timeout: Duration,
        security: ClientSecurity,
    ) -> Result<Client, CliError> {
        let mut last = None;
        for addr in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match Connection::open(addr, timeout, &security).await {
                Ok(boot) => {
                    return Ok(Client {
                        timeout,
                        security,
                        boot,
                        nodes: HashMap::new(),
                        conns: HashMap::new(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| CliError::Usage("--bootstrap is empty".into())))
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
    ) -> Result<R::Response, CliError> {
        self.boot.send(build).await
    }

    /// Sends to broker `node` (a leader or coordinator).
    pub async fn call_node<R: Request>(
        &mut self,
        node: i32,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response, CliError> {
        self.node(node).await?.send(build).await
    }

    pub async fn node(&mut self, node: i32) -> Result<&mut Connection, CliError> {
        if !self.nodes.contains_key(&node) {
            self.metadata(Some(&[])).await?;
        }
        let addr = self
            .nodes
            .get(&node)
            .cloned()
            .ok_or_else(|| CliError::Protocol {
                addr: self.boot.addr.clone(),
                api: "Metadata".into(),
                detail: format!("broker {node} is not listed"),
            })?;
        if addr == self.boot.addr {
            return Ok(&mut self.boot);
        }
        if !self.conns.contains_key(&node) {
            let conn = Connection::open(&addr, self.timeout, &self.security).await?;
            self.conns.insert(node, conn);
        }
        self.conns.get_mut(&node).ok_or_else(|| CliError::Connect {
            addr,
            source: std::io::Error::other("connection lost"),
        })
    }

    /// Metadata for `topics` (`None`: every topic), never creating topics. Records the brokers.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, CliError> {
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
    pub async fn coordinator(&mut self, group: &str) -> Result<i32, CliError> {
        let mut attempt = 0;
        loop {
            let response = self
                .boot
                .send(|version| {
                    let request = FindCoordinatorRequest::default();
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
                format!("cannot find the coordinator of group {group:?}")
            })?;
            self.nodes.insert(node, format!("{}:{port}", host.as_str()));
            return Ok(node);
        }
    }
}
