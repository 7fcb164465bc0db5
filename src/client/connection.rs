//! [`Connection`]: one broker connection with its negotiated API versions.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::AsyncWriteExt;

use super::error::{check_msg, ClientError};
use super::security::{ClientSecurity, Stream};
use super::wire::{self, api_name, WireError};

/// The client id sent unless [`Connection::with_client_id`] says otherwise.
pub const DEFAULT_CLIENT_ID: &str = "weir";
/// Larger response frames than this are refused rather than allocated.
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024 * 1024;

/// Highest version [`Connection::version`] picks where lower than the codec's: these APIs
/// name topics by id from the next version on, and this client names them by name.
fn our_max(api: ApiKey) -> Option<i16> {
    match api {
        ApiKey::Produce | ApiKey::Fetch | ApiKey::Metadata => Some(12),
        _ => None,
    }
}

/// One broker connection. [`Connection::connect`] negotiates versions with ApiVersions first
/// (per API the highest version both sides know); [`Connection::open`] sends nothing until
/// asked, so the first request is the caller's. Requests carry correlation ids 1, 2, ...
pub struct Connection {
    addr: String,
    stream: Stream,
    last_correlation_id: i32,
    timeout: Duration,
    client_id: String,
    /// api key -> (broker min, broker max)
    versions: HashMap<i16, (i16, i16)>,
    /// The ApiVersions version the broker answered during negotiation.
    negotiated_at: Option<i16>,
}

impl Connection {
    /// Connects and negotiates versions.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Connection, ClientError> {
        let mut conn = Connection::open(addr, timeout).await?;
        conn.negotiate().await?;
        Ok(conn)
    }

    /// Connects over TLS and SASL as `security` says, negotiates versions and authenticates.
    pub async fn connect_with(
        addr: &str,
        timeout: Duration,
        security: &ClientSecurity,
    ) -> Result<Connection, ClientError> {
        let mut conn = Connection::open_with(addr, timeout, security).await?;
        conn.negotiate().await?;
        conn.authenticate(security).await?;
        Ok(conn)
    }

    /// Connects without sending anything.
    pub async fn open(addr: &str, timeout: Duration) -> Result<Connection, ClientError> {
        Self::open_with(addr, timeout, &ClientSecurity::default()).await
    }

    /// Connects (completing the TLS handshake for TLS protocols) without sending anything.
    pub async fn open_with(
        addr: &str,
        timeout: Duration,
        security: &ClientSecurity,
    ) -> Result<Connection, ClientError> {
        let stream = match tokio::time::timeout(timeout, security.connect(addr)).await {
            Err(_) => {
                return Err(ClientError::ConnectTimeout {
                    addr: addr.to_string(),
                    timeout,
                })
            }
            Ok(Err(source)) => {
                return Err(ClientError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Ok(Ok(stream)) => stream,
        };
        Ok(Connection {
            addr: addr.to_string(),
            stream,
            last_correlation_id: 0,
            timeout,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            versions: HashMap::new(),
            negotiated_at: None,
        })
    }

    /// The client id every later request carries.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Connection {
        self.client_id = client_id.into();
        self
    }

    /// How long connecting, each request and each response may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Connection {
        self.timeout = timeout;
        self
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's (min, max) per API key, as ApiVersions reported them.
    pub fn broker_versions(&self) -> &HashMap<i16, (i16, i16)> {
        &self.versions
    }

    /// The ApiVersions version the broker answered during [`Connection::negotiate`].
    pub fn negotiated_at(&self) -> Option<i16> {
        self.negotiated_at
    }

    /// The socket, for bytes that are not a request at all.
    pub fn stream(&mut self) -> &mut Stream {
        &mut self.stream
    }

    /// Authenticates with SASL, as `security` says (nothing for protocols without SASL):
    /// SaslHandshake v1, then SaslAuthenticate until the mechanism is done.
    pub async fn authenticate(&mut self, security: &ClientSecurity) -> Result<(), ClientError> {
        use crate::security::{plain, scram::ScramClient};
        use kafka_protocol::messages::SaslHandshakeRequest;
        let Some((mechanism, user, password)) = &security.sasl else {
            return Ok(());
        };
        let addr = self.addr.clone();
        let context = || format!("SASL {mechanism} with {addr}");
        let handshake = self
            .call(
                1,
                &SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism.name())),
            )
            .await?;
        check_msg(handshake.error_code, None, context)?;
        let version = self
            .versions
            .get(&(ApiKey::SaslAuthenticate as i16))
            .map_or(0, |(_, max)| (*max).min(2));
        let failed = |e: String| ClientError::kafka(context(), 58, Some(e));
        match mechanism.scram() {
            None => {
                let response = self
                    .sasl_token(version, plain::message(user, password))
                    .await?;
                check_msg(
                    response.error_code,
                    response.error_message.as_ref(),
                    context,
                )
            }
            Some(scram) => {
                let mut client =
                    ScramClient::new(scram, user, password).map_err(|e| failed(e.to_string()))?;
                let first = self.sasl_token(version, client.first_message()).await?;
                check_msg(first.error_code, first.error_message.as_ref(), context)?;
                let last = client
                    .final_message(&first.auth_bytes)
                    .map_err(|e| failed(e.to_string()))?;
                let done = self.sasl_token(version, last).await?;
                check_msg(done.error_code, done.error_message.as_ref(), context)?;
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
    ) -> Result<kafka_protocol::messages::SaslAuthenticateResponse, ClientError> {
        let request = kafka_protocol::messages::SaslAuthenticateRequest::default()
            .with_auth_bytes(Bytes::from(bytes));
        self.call(version, &request).await
    }

    /// Asks at v3 first; a broker that does not know v3 answers UNSUPPORTED_VERSION in a
    /// v0-shaped body, so any failure there is retried at v0.
    pub async fn negotiate(&mut self) -> Result<(), ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_string(software_name(&self.client_id)))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let (version, response) = match self.call(3, &request).await {
            Ok(response) if response.error_code == 0 => (3, response),
            Ok(_) | Err(ClientError::Protocol { .. }) => {
                (0, self.call(0, &ApiVersionsRequest::default()).await?)
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
        self.negotiated_at = Some(version);
        Ok(())
    }

    /// The version used for `R`: the highest both sides know.
    pub fn version<R: Request>(&self) -> Result<i16, ClientError> {
        let ours = ApiKey::try_from(R::KEY)
            .ok()
            .and_then(our_max)
            .unwrap_or(R::VERSIONS.max);
        self.version_up_to::<R>(ours)
    }

    /// The highest version of `R` at most `max` that the broker and the codec both know.
    pub fn version_up_to<R: Request>(&self, max: i16) -> Result<i16, ClientError> {
        let ours = max.min(R::VERSIONS.max);
        let unsupported = |detail: String| ClientError::Unsupported {
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
    ) -> Result<R::Response, ClientError> {
        let version = self.version::<R>()?;
        self.call(version, &build(version)).await
    }

    /// Sends a request the broker does not answer (Produce with acks=0).
    pub async fn send_no_response<R: Request>(
        &mut self,
        build: impl FnOnce(i16) -> R,
    ) -> Result<(), ClientError> {
        let version = self.version::<R>()?;
        self.write_request(version, &build(version)).await?;
        Ok(())
    }

    /// Sends `request` at exactly `version` (whatever the broker advertised) and reads its
    /// response.
    pub async fn call<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        let id = self.write_request(version, request).await?;
        self.read_response::<R>(version, id).await
    }

    /// Writes `request` at `version` without waiting for its response; returns its correlation
    /// id. Several may be written before their responses are read (pipelining).
    pub async fn write_request<R: Request>(
        &mut self,
        version: i16,
        request: &R,
    ) -> Result<i32, ClientError> {
        let id = self.next_correlation_id();
        let header = wire::request_header::<R>(version, id, Some(&self.client_id));
        let frame =
            wire::request_frame(&header, request, version).map_err(|e| ClientError::Encode {
                api: format!("{} v{version}", api_name(R::KEY)),
                detail: e.to_string(),
            })?;
        self.write_bytes(&api_name(R::KEY), &frame).await?;
        Ok(id)
    }

    /// Reads the next response frame and decodes it as the answer to `R` at `version` with
    /// `correlation_id`.
    pub async fn read_response<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> Result<R::Response, ClientError> {
        let api = api_name(R::KEY);
        let frame = self
            .read_frame(&api)
            .await?
            .ok_or_else(|| ClientError::Io {
                addr: self.addr.clone(),
                api: api.clone(),
                source: std::io::ErrorKind::UnexpectedEof.into(),
            })?;
        wire::decode_response::<R>(frame, version, correlation_id).map_err(|e| {
            let detail = match e {
                WireError::Decode(d) | WireError::Encode(d) => d,
            };
            ClientError::Protocol {
                addr: self.addr.clone(),
                api: format!("{api} v{version}"),
                detail,
            }
        })
    }

    /// The next response frame as bytes; `None` when the broker closed the connection between
    /// frames. `what` names the request in errors.
    pub async fn read_frame(&mut self, what: &str) -> Result<Option<Bytes>, ClientError> {
        let read = wire::read_frame(&mut self.stream, MAX_RESPONSE_BYTES);
        deadline(&self.addr, what, self.timeout, read).await
    }

    /// Writes bytes as they are (`what` names them in errors).
    pub async fn write_bytes(&mut self, what: &str, bytes: &[u8]) -> Result<(), ClientError> {
        let write = self.stream.write_all(bytes);
        deadline(&self.addr, what, self.timeout, write).await
    }

    /// Takes the next correlation id, for a frame built by hand.
    pub fn next_correlation_id(&mut self) -> i32 {
        self.last_correlation_id = self.last_correlation_id.wrapping_add(1);
        self.last_correlation_id
    }
}

/// The client id when it is a valid client software name (KIP-511: letters, digits, `-` and
/// `.`, starting and ending with a letter or digit), else `weir`.
fn software_name(client_id: &str) -> String {
    let bytes = client_id.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    let valid = edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.');
    if valid {
        client_id.to_string()
    } else {
        DEFAULT_CLIENT_ID.to_string()
    }
}

async fn deadline<T>(
    addr: &str,
    api: &str,
    timeout: Duration,
    io: impl std::future::Future<Output = Result<T, std::io::Error>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(timeout, io).await {
        Err(_) => Err(ClientError::Timeout {
            addr: addr.to_string(),
            api: api.to_string(),
            timeout,
        }),
        Ok(Err(source)) => Err(ClientError::Io {
            addr: addr.to_string(),
            api: api.to_string(),
            source,
        }),
        Ok(Ok(value)) => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_names_follow_kip_511() {
        assert_eq!(software_name("weir-cli"), "weir-cli");
        assert_eq!(software_name("a.b-1"), "a.b-1");
        for bad in ["", "-x", "x-", "has space", "ünï"] {
            assert_eq!(software_name(bad), DEFAULT_CLIENT_ID, "{bad:?}");
        }
    }
}
