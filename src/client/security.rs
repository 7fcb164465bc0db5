//! How the client reaches a secured listener, configured as Kafka's tools take it
//! (`--command-config FILE`): a Kafka client properties file (`security.protocol`, `sasl.mechanism`, `sasl.jaas.config`,
//! `ssl.truststore.*`, `ssl.keystore.*`, `ssl.endpoint.identification.algorithm`), as Kafka's
//! own tools take it. TLS is rustls; SASL is PLAIN or SCRAM-SHA-256/512.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::SecurityProtocol;
use crate::security::{jaas, Mechanism};

/// The client side of a connection's security.
#[derive(Clone)]
pub struct ClientSecurity {
    pub protocol: SecurityProtocol,
    pub sasl: Option<(Mechanism, String, String)>,
    pub tls: Option<Arc<ClientConfig>>,
}

impl Default for ClientSecurity {
    fn default() -> Self {
        ClientSecurity {
            protocol: SecurityProtocol::Plaintext,
            sasl: None,
            tls: None,
        }
    }
}

const KNOWN: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.certificates",
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.endpoint.identification.algorithm",
];

impl ClientSecurity {
    /// Reads a Kafka client properties file.
    pub fn from_file(path: &Path) -> Result<ClientSecurity, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_properties(&parse_properties(&text))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_properties(props: &[(String, String)]) -> Result<ClientSecurity, String> {
        for (key, _) in props {
            if !KNOWN.contains(&key.as_str()) {
                return Err(format!(
                    "unsupported property {key:?} (supported: {})",
                    KNOWN.join(", ")
                ));
            }
        }
        let get = |key: &str| {
            props
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let protocol = match get("security.protocol") {
            Some(p) => SecurityProtocol::parse(p)
                .ok_or_else(|| format!("security.protocol {p:?} is not a security protocol"))?,
            None => SecurityProtocol::Plaintext,
        };
        for key in ["ssl.truststore.type", "ssl.keystore.type"] {
            if let Some(kind) = get(key).filter(|k| *k != "PEM") {
                return Err(format!("{key}={kind}: only PEM is supported"));
            }
        }
        let sasl = if protocol.sasl() {
            let mechanism = get("sasl.mechanism").unwrap_or("GSSAPI");
            let mechanism = Mechanism::parse(mechanism)
                .filter(|m| *m != Mechanism::OAuthBearer)
                .ok_or_else(|| {
                    format!("sasl.mechanism {mechanism}: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
                })?;
            let config = get("sasl.jaas.config").ok_or("sasl.jaas.config is required for SASL")?;
            let login = jaas::parse(config).map_err(|e| format!("sasl.jaas.config: {e}"))?;
            let user = login
                .option("username")
                .ok_or("sasl.jaas.config has no username")?;
            let password = login
                .option("password")
                .ok_or("sasl.jaas.config has no password")?;
            Some((mechanism, user.to_string(), password.to_string()))
        } else {
            None
        };
        let tls = if protocol.tls() {
            let trust = match (
                get("ssl.truststore.location"),
                get("ssl.truststore.certificates"),
            ) {
                (Some(path), _) => std::fs::read(path)
                    .map_err(|e| format!("ssl.truststore.location {path}: {e}"))?,
                (None, Some(pem)) => pem.as_bytes().to_vec(),
                (None, None) => return Err("ssl.truststore.location is required for TLS".into()),
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&trust) {
                let cert = cert.map_err(|e| format!("trust store: {e}"))?;
                roots.add(cert).map_err(|e| format!("trust store: {e}"))?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?;
            let roots = Arc::new(roots);
            let builder = if get("ssl.endpoint.identification.algorithm").is_none()
                && props
                    .iter()
                    .any(|(k, _)| k == "ssl.endpoint.identification.algorithm")
            {
                let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| e.to_string())?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
            } else {
                builder.with_root_certificates(roots)
            };
            let keystore = match (
                get("ssl.keystore.location"),
                get("ssl.keystore.certificate.chain"),
                get("ssl.keystore.key"),
            ) {
                (Some(path), _, _) => {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("ssl.keystore.location {path}: {e}"))?;
                    Some((pem.clone(), pem))
                }
                (None, Some(chain), Some(key)) => {
                    Some((chain.as_bytes().to_vec(), key.as_bytes().to_vec()))
                }
                _ => None,
            };
            let config = match keystore {
                Some((chain, key)) => {
                    let chain = CertificateDer::pem_slice_iter(&chain)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| format!("keystore certificates: {e}"))?;
                    let key = PrivateKeyDer::from_pem_slice(&key)
                        .map_err(|e| format!("keystore key: {e}"))?;
                    builder
                        .with_client_auth_cert(chain, key)
                        .map_err(|e| format!("keystore: {e}"))?
                }
                None => builder.with_no_client_auth(),
            };
            Some(Arc::new(config))
        } else {
            None
        };
        Ok(ClientSecurity {
            protocol,
            sasl,
            tls,
        })
    }

    /// Opens a TCP connection to `addr` and, for TLS protocols, completes the handshake.
    pub async fn connect(&self, addr: &str) -> io::Result<Stream> {
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let stream = TlsConnector::from(tls.clone()).connect(name, tcp).await?;
        Ok(Stream::Tls(Box::new(stream)))
    }
}

/// A Java `.properties` text: `key=value` (or `key: value`), `#`/`!` comments, `\` at the end
/// of a line continues it.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let entry = std::mem::take(&mut pending);
        let split = entry.find(['=', ':']).unwrap_or(entry.len());
        let key = entry[..split].trim().to_string();
        let value = entry.get(split + 1..).unwrap_or("").trim().to_string();
        out.push((key, value));
    }
    out
}

/// Checks the chain, not the host name (`ssl.endpoint.identification.algorithm=` empty).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A connection, plain or TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_as_java_reads_them() {
        let props = parse_properties(
            "# comment\nsecurity.protocol=SASL_SSL\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \\\n  required username=\"a\" password=\"b\";\n! other\nsasl.mechanism: SCRAM-SHA-512\n",
        );
        assert_eq!(props.len(), 3);
        assert_eq!(props[2], ("sasl.mechanism".into(), "SCRAM-SHA-512".into()));
        assert!(props[1].1.contains("required username=\"a\""));
        let err = ClientSecurity::from_properties(&[("bootstrap.servers".into(), "x".into())])
            .err()
            .unwrap();
        assert!(err.contains("bootstrap.servers"));
    }
}
