//! TLS for SSL and SASL_SSL listeners, with rustls: the server config built from a listener's
//! `ssl.*` settings (PEM files or inline PEM), and the principal of a client certificate.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::{ClientAuth, ListenerSecurity, TlsVersion};

/// Why a listener's TLS settings cannot be used: the key at fault and the reason (never the
/// value: some are secrets).
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct TlsError {
    pub key: &'static str,
    pub reason: String,
}

fn err(key: &'static str, reason: impl Into<String>) -> TlsError {
    TlsError {
        key,
        reason: reason.into(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server config of a TLS listener. Reads the PEM files it names (blocking).
pub fn server_config(s: &ListenerSecurity) -> Result<Arc<ServerConfig>, TlsError> {
    let (chain, key) = keystore(s)?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = s
        .enabled_protocols
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .map_err(|e| err("ssl.enabled.protocols", e.to_string()))?;
    let builder = match s.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let roots = Arc::new(truststore(s)?.ok_or_else(|| {
                err(
                    "ssl.client.auth",
                    "client authentication needs a trust store \
                     (ssl.truststore.location or ssl.truststore.certificates)",
                )
            })?);
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
            let verifier = if auth == ClientAuth::Requested {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| err("ssl.truststore.location", e.to_string()))?,
            )
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        err(
            "ssl.keystore.key",
            format!("does not fit the certificate: {e}"),
        )
    })?;
    Ok(Arc::new(config))
}

type Keystore = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn keystore(s: &ListenerSecurity) -> Result<Keystore, TlsError> {
    let (chain, key) = match (
        &s.keystore_location,
        &s.keystore_certificate_chain,
        &s.keystore_key,
    ) {
        (Some(path), None, None) => {
            let bytes = std::fs::read(path)
                .map_err(|e| err("ssl.keystore.location", format!("{}: {e}", path.display())))?;
            let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
                err(
                    "ssl.keystore.location",
                    format!("{}: no unencrypted private key: {e}", path.display()),
                )
            })?;
            (certificates(&bytes, "ssl.keystore.location")?, key)
        }
        (None, Some(chain), Some(key)) => {
            let key = PrivateKeyDer::from_pem_slice(key.expose().as_bytes()).map_err(|e| {
                err(
                    "ssl.keystore.key",
                    format!("no unencrypted private key: {e}"),
                )
            })?;
            (
                certificates(chain.expose().as_bytes(), "ssl.keystore.certificate.chain")?,
                key,
            )
        }
        (None, None, None) => {
            return Err(err(
                "ssl.keystore.location",
                "a TLS listener needs a certificate: ssl.keystore.location, or \
                 ssl.keystore.certificate.chain with ssl.keystore.key",
            ))
        }
        _ => {
            return Err(err(
                "ssl.keystore.location",
                "set either ssl.keystore.location or ssl.keystore.certificate.chain with \
                 ssl.keystore.key, not both",
            ))
        }
    };
    Ok((chain, key))
}

fn truststore(s: &ListenerSecurity) -> Result<Option<RootCertStore>, TlsError> {
    let (certs, key) = match (&s.truststore_location, &s.truststore_certificates) {
        (Some(path), None) => {
            let bytes = std::fs::read(path).map_err(|e| {
                err(
                    "ssl.truststore.location",
                    format!("{}: {e}", path.display()),
                )
            })?;
            (
                certificates(&bytes, "ssl.truststore.location")?,
                "ssl.truststore.location",
            )
        }
        (None, Some(pem)) => (
            certificates(pem.expose().as_bytes(), "ssl.truststore.certificates")?,
            "ssl.truststore.certificates",
        ),
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(err(
                "ssl.truststore.location",
                "set either ssl.truststore.location or ssl.truststore.certificates, not both",
            ))
        }
    };
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| err(key, format!("not a usable CA certificate: {e}")))?;
    }
    Ok(Some(roots))
}

fn certificates(pem: &[u8], key: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(key, format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(err(key, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// A certificate's subject as RFC 2253 writes it (and Java's `X500Principal.getName()`):
/// most specific attribute first, `CN=alice,OU=eng,O=acme,C=US`.
pub fn subject_dn(der: &[u8]) -> Result<String, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let mut rdns = Vec::new();
    for rdn in cert.subject().iter() {
        let mut attrs = Vec::new();
        for attr in rdn.iter() {
            let oid = attr.attr_type().to_id_string();
            let value = match (short_name(&oid), attr.as_str()) {
                (Some(name), Ok(text)) => format!("{name}={}", escape(text)),
                _ => {
                    let der = attr.attr_value().to_der_vec().unwrap_or_default();
                    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{}=#{hex}", short_name(&oid).unwrap_or(&oid))
                }
            };
            attrs.push(value);
        }
        rdns.push(attrs.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

use x509_parser::der_parser::asn1_rs::ToDer;

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '=' | '+' | '<' | '>' | '#' | ';' | '"' | '\\')
            || (c == ' ' && (i == 0 || i == last));
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_subjects_map_to_principals() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "NZ");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "weir, inc");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dn = subject_dn(cert.der()).unwrap();
        // rcgen writes the RDNs as CN, C, O; RFC 2253 lists them last first.
        assert_eq!(dn, "O=weir\\, inc,C=NZ,CN=alice");
        let mapper =
            crate::security::mapping::PrincipalMapper::parse("RULE:^.*,CN=([^,]+)$/$1/").unwrap();
        assert_eq!(mapper.name(&dn).as_deref(), Some("alice"));
    }

    #[test]
    fn escapes_like_rfc_2253() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" x "), "\\ x\\ ");
        assert_eq!(escape("plain"), "plain");
    }
}
