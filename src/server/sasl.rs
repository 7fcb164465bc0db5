//! The SASL state machine of one connection.
//!
//! On a SASL listener nothing but ApiVersions, SaslHandshake and SaslAuthenticate is served
//! until the client has authenticated; anything else closes the connection, as in Kafka.
//! SaslHandshake v0 is followed by raw tokens framed only by their length, v1 by
//! SaslAuthenticate requests (v0-v2). A failed authentication is answered with
//! SASL_AUTHENTICATION_FAILED after `connection.failed.authentication.delay.ms`, then the
//! connection closes. With `connections.max.reauth.ms` the session has a lifetime (KIP-368):
//! the client authenticates again on the same connection (as the same principal) before it
//! ends, and a connection that sends anything else after it ended is closed.
//!
//! This is the one place outside `handler/` that looks at request types: the gate must know
//! which requests it lets through before there is a principal to hand to a handler.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    ApiKey, RequestKind, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::clock::monotonic::Deadline;
use crate::clock::Clock;
use crate::config::{ListenerSecurity, Secret};
use crate::protocol::{self, ProtocolError, Request, ResponseBuffer};
use crate::security::oauthbearer::Validator;
use crate::security::scram::{ScramServer, Step};
use crate::security::{plain, Credentials, Mechanism, Principal, Scram};

/// What a SASL listener authenticates with.
pub struct SaslSettings {
    pub mechanisms: Vec<Mechanism>,
    /// PLAIN users of the listener's PlainLoginModule config.
    pub plain_users: BTreeMap<String, Secret>,
    pub oauthbearer: Validator,
    pub credentials: Arc<Credentials>,
    pub reauth: Option<Duration>,
}

impl SaslSettings {
    pub fn new(
        security: &ListenerSecurity,
        credentials: Arc<Credentials>,
        reauth_ms: u64,
    ) -> Result<SaslSettings, String> {
        let plain_users = security
            .jaas
            .get(&Mechanism::Plain)
            .map(|j| {
                j.plain_users()
                    .map(|(u, p)| (u.to_string(), Secret::new(p)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(SaslSettings {
            mechanisms: security.sasl_mechanisms.clone(),
            plain_users,
            oauthbearer: Validator::from_jaas(security.jaas.get(&Mechanism::OAuthBearer))?,
            credentials,
            reauth: (reauth_ms > 0).then(|| Duration::from_millis(reauth_ms)),
        })
    }
}

/// Where the exchange stands.
enum State {
    /// Waiting for SaslHandshake (ApiVersions may come first).
    Handshake,
    /// A mechanism was chosen; its tokens come raw (after handshake v0) or in SaslAuthenticate.
    Exchange {
        mechanism: Mechanism,
        raw: bool,
        exchange: Exchange,
    },
    /// Authenticated; a SaslHandshake starts re-authentication.
    Done,
}

enum Exchange {
    Single,
    Scram(Box<ScramServer>),
}

/// What the connection does with a request.
pub enum Admit {
    /// On to the handlers.
    Handler,
    /// The gate answers it (SaslHandshake, SaslAuthenticate).
    Gate,
    /// Close the connection, for this reason.
    Refuse(String),
}

/// What the connection does after the gate handled a message.
#[derive(Debug)]
pub enum Outcome {
    Continue,
    /// Authenticated (again) as this principal.
    Authenticated(Principal),
    /// Authentication failed: answer (what is in the output) after the failed-authentication
    /// delay, then close.
    Failed(String),
    /// Close now.
    Close(String),
}

/// The SASL side of one connection; `None` settings for listeners without SASL.
pub struct Gate {
    settings: Option<Arc<SaslSettings>>,
    state: State,
    principal: Option<Principal>,
    mechanism: Option<Mechanism>,
    /// When the session ends (`connections.max.reauth.ms`): real time, as the client times it.
    expires: Option<Deadline>,
    /// Token expiry (OAUTHBEARER) is judged on the broker clock.
    clock: Clock,
}

impl Gate {
    pub fn new(settings: Option<Arc<SaslSettings>>, clock: Clock) -> Gate {
        Gate {
            clock,
            settings,
            state: State::Handshake,
            principal: None,
            mechanism: None,
            expires: None,
        }
    }

    /// Whether the next frame is a raw SASL token (after SaslHandshake v0).
    pub fn wants_raw_token(&self) -> bool {
        matches!(self.state, State::Exchange { raw: true, .. })
    }

    /// Whether this listener authenticates with SASL and the client has not yet.
    pub fn pending(&self) -> bool {
        self.settings.is_some() && self.principal.is_none()
    }

    /// Decides who handles `request`.
    pub fn admit(&self, request: &Request) -> Admit {
        match request.api_key {
            ApiKey::SaslHandshake | ApiKey::SaslAuthenticate => return Admit::Gate,
            _ if self.settings.is_none() => return Admit::Handler,
            _ => {}
        }
        if self.principal.is_some() {
            if self.expires.is_some_and(|at| at.passed()) {
                return Admit::Refuse(
                    "the SASL session expired (connections.max.reauth.ms) and the client did \
                     not authenticate again"
                        .into(),
                );
            }
            return Admit::Handler;
        }
        if request.api_key == ApiKey::ApiVersions {
            return Admit::Handler;
        }
        Admit::Refuse(format!(
            "unexpected {:?} request before SASL authentication",
            request.api_key
        ))
    }

    /// Handles a SaslHandshake or SaslAuthenticate request, encoding its answer into `out`.
    pub async fn handle(
        &mut self,
        request: Request,
        out: &mut ResponseBuffer,
    ) -> Result<Outcome, ProtocolError> {
        let (api, version, correlation_id) = (
            request.api_key,
            request.version,
            request.header.correlation_id,
        );
        let (response, outcome) = match request.body {
            RequestKind::SaslHandshake(r) => self.handshake(version, r),
            RequestKind::SaslAuthenticate(r) => self.authenticate(version, r).await,
            _ => return Ok(Outcome::Close(format!("{api:?} is not a SASL request"))),
        };
        if let Some(response) = response {
            protocol::encode_response(out, api, version, correlation_id, &response)?;
        }
        Ok(outcome)
    }

    /// Handles a raw token (after SaslHandshake v0); the answer, if any, goes into `out`
    /// framed by its length.
    pub async fn raw_token(&mut self, token: Bytes, out: &mut ResponseBuffer) -> Outcome {
        match self.step(&token).await {
            Ok((challenge, done)) => {
                let tail = out.tail();
                tail.put_i32(i32::try_from(challenge.len()).unwrap_or(0));
                tail.extend_from_slice(&challenge);
                done.map_or(Outcome::Continue, |p| self.authenticated(p))
            }
            // No way to tell a v0 client why: the connection just closes (after the delay).
            Err(reason) => Outcome::Failed(reason),
        }
    }

    fn handshake(
        &mut self,
        version: i16,
        request: SaslHandshakeRequest,
    ) -> (Option<ResponseKind>, Outcome) {
        let respond = |code: i16, mechanisms: Vec<StrBytes>| {
            Some(ResponseKind::SaslHandshake(
                SaslHandshakeResponse::default()
                    .with_error_code(code)
                    .with_mechanisms(mechanisms),
            ))
        };
        let Some(settings) = self.settings.clone() else {
            return (
                respond(ResponseError::IllegalSaslState.code(), Vec::new()),
                Outcome::Continue,
            );
        };
        let reauthenticating = matches!(self.state, State::Done) && version >= 1;
        if !matches!(self.state, State::Handshake) && !reauthenticating {
            return (
                respond(ResponseError::IllegalSaslState.code(), Vec::new()),
                Outcome::Close("SaslHandshake in the middle of an authentication".into()),
            );
        }
        let enabled: Vec<StrBytes> = settings
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect();
        let asked = request.mechanism.as_str();
        let mechanism = match Mechanism::parse(asked).filter(|m| settings.mechanisms.contains(m)) {
            Some(m) => m,
            None => {
                return (
                    respond(ResponseError::UnsupportedSaslMechanism.code(), enabled),
                    Outcome::Failed(format!(
                        "unsupported SASL mechanism {asked:?} (enabled: {})",
                        names(&settings.mechanisms)
                    )),
                )
            }
        };
        if reauthenticating && self.mechanism != Some(mechanism) {
            return (
                respond(ResponseError::IllegalSaslState.code(), enabled),
                Outcome::Failed("re-authentication must keep the SASL mechanism".into()),
            );
        }
        let exchange = match mechanism.scram() {
            Some(scram) => Exchange::Scram(Box::new(ScramServer::new(scram))),
            None => Exchange::Single,
        };
        self.state = State::Exchange {
            mechanism,
            raw: version == 0,
            exchange,
        };
        (respond(0, enabled), Outcome::Continue)
    }

    async fn authenticate(
        &mut self,
        version: i16,
        request: SaslAuthenticateRequest,
    ) -> (Option<ResponseKind>, Outcome) {
        let respond = |code: i16, message: Option<String>, bytes: Vec<u8>, lifetime: i64| {
            Some(ResponseKind::SaslAuthenticate(
                SaslAuthenticateResponse::default()
                    .with_error_code(code)
                    .with_error_message(message.map(StrBytes::from_string))
                    .with_auth_bytes(Bytes::from(bytes))
                    .with_session_lifetime_ms(lifetime),
            ))
        };
        match self.state {
            State::Exchange { raw: false, .. } => {}
            State::Handshake if self.settings.is_some() => {
                return (
                    respond(
                        ResponseError::IllegalSaslState.code(),
                        Some("SaslAuthenticate before SaslHandshake".into()),
                        Vec::new(),
                        0,
                    ),
                    Outcome::Close("SaslAuthenticate before SaslHandshake".into()),
                )
            }
            _ => {
                return (
                    respond(
                        ResponseError::IllegalSaslState.code(),
                        Some(
                            "SaslAuthenticate request received after successful authentication"
                                .into(),
                        ),
                        Vec::new(),
                        0,
                    ),
                    Outcome::Continue,
                )
            }
        }
        match self.step(&request.auth_bytes).await {
            Ok((challenge, None)) => (respond(0, None, challenge, 0), Outcome::Continue),
            Ok((last, Some(principal))) => {
                let outcome = self.authenticated(principal);
                let lifetime = match (&outcome, self.expires) {
                    (Outcome::Authenticated(_), Some(at)) if version >= 1 => {
                        let left = at.remaining();
                        i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1)
                    }
                    _ => 0,
                };
                match outcome {
                    Outcome::Failed(reason) => (
                        respond(
                            ResponseError::SaslAuthenticationFailed.code(),
                            Some(reason.clone()),
                            Vec::new(),
                            0,
                        ),
                        Outcome::Failed(reason),
                    ),
                    outcome => (respond(0, None, last, lifetime), outcome),
                }
            }
            Err(reason) => (
                respond(
                    ResponseError::SaslAuthenticationFailed.code(),
                    Some(reason.clone()),
                    Vec::new(),
                    0,
                ),
                Outcome::Failed(reason),
            ),
        }
    }

    /// Feeds one client message to the mechanism: the server's answer, and the principal once
    /// the exchange is complete. The error is the message the client is told.
    async fn step(&mut self, message: &[u8]) -> Result<(Vec<u8>, Option<Principal>), String> {
        let Some(settings) = self.settings.clone() else {
            return Err("this listener does not use SASL".into());
        };
        let State::Exchange {
            mechanism,
            exchange,
            ..
        } = &mut self.state
        else {
            return Err("no SASL exchange in progress".into());
        };
        let mechanism = *mechanism;
        let failed = || {
            format!(
                "Authentication failed during authentication due to invalid credentials with \
                 SASL mechanism {mechanism}"
            )
        };
        let result = match exchange {
            Exchange::Scram(server) => {
                let Some(scram) = mechanism.scram() else {
                    return Err(failed());
                };
                let store = &settings.credentials;
                match server.step(message, |u| store.get(u, scram), |u| store.decoy(u, scram)) {
                    Ok(Step::Challenge(challenge)) => return Ok((challenge, None)),
                    Ok(Step::Done { user, response }) => Ok((response, user)),
                    Err(e) => Err(e.to_string()),
                }
            }
            Exchange::Single if mechanism == Mechanism::Plain => match plain::parse(message) {
                Ok((user, password)) => {
                    let settings = settings.clone();
                    let check_user = user.clone();
                    let ok = tokio::task::spawn_blocking(move || {
                        check_plain(&settings, &check_user, &password)
                    })
                    .await
                    .unwrap_or(false);
                    if ok {
                        Ok((Vec::new(), user))
                    } else {
                        Err(format!("invalid credentials for user {user:?}"))
                    }
                }
                Err(e) => Err(e.to_string()),
            },
            Exchange::Single => {
                let now = self.clock.now_ms();
                match settings.oauthbearer.validate(message, now) {
                    Ok(token) => {
                        if let Some(reauth) = settings.reauth {
                            let left = Duration::from_millis(
                                u64::try_from(token.expires_ms - now).unwrap_or(0),
                            );
                            self.expires = Some(Deadline::after(left.min(reauth)));
                        }
                        Ok((Vec::new(), token.principal))
                    }
                    Err(e) => Err(e),
                }
            }
        };
        match result {
            Ok((response, user)) => Ok((response, Some(Principal::user(user)))),
            Err(reason) => {
                tracing::debug!(%mechanism, "SASL exchange failed: {reason}");
                Err(if mechanism == Mechanism::OAuthBearer {
                    format!("Authentication failed: {reason}")
                } else {
                    failed()
                })
            }
        }
    }

    fn authenticated(&mut self, principal: Principal) -> Outcome {
        let State::Exchange { mechanism, .. } = self.state else {
            return Outcome::Close("authenticated outside an exchange".into());
        };
        if let Some(previous) = &self.principal {
            if *previous != principal {
                return Outcome::Failed(format!(
                    "Cannot change principals during re-authentication from {previous} to {principal}"
                ));
            }
        }
        self.state = State::Done;
        self.mechanism = Some(mechanism);
        let reauth = self.settings.as_ref().and_then(|s| s.reauth);
        if mechanism != Mechanism::OAuthBearer {
            self.expires = reauth.map(Deadline::after);
        }
        self.principal = Some(principal.clone());
        Outcome::Authenticated(principal)
    }
}

/// A PLAIN login: the listener's PlainLoginModule users, else the SCRAM store. Blocking
/// (PBKDF2 for stored credentials).
fn check_plain(settings: &SaslSettings, user: &str, password: &str) -> bool {
    use subtle::ConstantTimeEq;
    if let Some(expected) = settings.plain_users.get(user) {
        return bool::from(expected.expose().as_bytes().ct_eq(password.as_bytes()));
    }
    [Scram::Sha512, Scram::Sha256].into_iter().any(|scram| {
        settings
            .credentials
            .get(user, scram)
            .is_some_and(|c| c.verifies(scram, password))
    })
}

fn names(mechanisms: &[Mechanism]) -> String {
    mechanisms
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}
