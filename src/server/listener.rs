//! One bound listener: its name, and how its connections are secured (TLS, SASL, the
//! certificate-to-principal mapping).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::sasl::SaslSettings;
use crate::config::SecurityProtocol;
use crate::security::mapping::PrincipalMapper;
use crate::security::{tls, Principal};

pub struct ListenerContext {
    pub name: Arc<str>,
    pub protocol: SecurityProtocol,
    pub tls: Option<TlsAcceptor>,
    pub sasl: Option<Arc<SaslSettings>>,
    pub mapper: PrincipalMapper,
}

impl ListenerContext {
    /// The principal of a TLS connection before any SASL: from the client certificate's
    /// subject when there is one, else `User:ANONYMOUS`. `Err` when no mapping rule matches.
    pub fn tls_principal<S>(&self, stream: &TlsStream<S>) -> Result<Principal, String>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let Some(cert) = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
        else {
            return Ok(Principal::anonymous());
        };
        let dn =
            tls::subject_dn(cert).map_err(|e| format!("unreadable client certificate: {e}"))?;
        self.mapper
            .name(&dn)
            .map(Principal::user)
            .ok_or_else(|| format!("no ssl.principal.mapping.rules rule matches {dn:?}"))
    }
}

/// A listener bound to its address, ready to serve.
pub struct Bound {
    pub listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
    pub context: Arc<ListenerContext>,
}
