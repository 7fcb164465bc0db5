//! Listener and security settings in typed form: security protocols, the listeners to bind,
//! and each listener's TLS and SASL settings (global `ssl.*` / `sasl.*` keys, overridden per
//! listener by `listener.name.<name>.<key>`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::listener::Endpoint;
use crate::security::jaas::Jaas;
use crate::security::mapping::PrincipalMapper;
use crate::security::Mechanism;

/// Kafka's `security.protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn parse(name: &str) -> Option<SecurityProtocol> {
        let upper = name.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|p| p.name() == upper)
    }

    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// One entry of `listeners` or `advertised.listeners`: a listener name and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEndpoint {
    pub name: String,
    pub endpoint: Endpoint,
}

/// A listener to bind, with its security protocol resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub protocol: SecurityProtocol,
    pub endpoint: Endpoint,
}

/// A secret setting value: kept out of `Debug` output, logs and DescribeConfigs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[hidden]")
    }
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// The TLS and SASL settings of one listener.
#[derive(Debug, Clone)]
pub struct ListenerSecurity {
    pub keystore_location: Option<PathBuf>,
    pub keystore_certificate_chain: Option<Secret>,
    pub keystore_key: Option<Secret>,
    pub truststore_location: Option<PathBuf>,
    pub truststore_certificates: Option<Secret>,
    pub client_auth: ClientAuth,
    pub principal_mapper: PrincipalMapper,
    pub enabled_protocols: Vec<TlsVersion>,
    pub sasl_mechanisms: Vec<Mechanism>,
    /// `listener.name.<name>.<mechanism>.sasl.jaas.config`, parsed.
    pub jaas: BTreeMap<Mechanism, Jaas>,
}

impl Default for ListenerSecurity {
    fn default() -> Self {
        ListenerSecurity {
            keystore_location: None,
            keystore_certificate_chain: None,
            keystore_key: None,
            truststore_location: None,
            truststore_certificates: None,
            client_auth: ClientAuth::None,
            principal_mapper: PrincipalMapper::parse("DEFAULT")
                .unwrap_or_else(|e| unreachable!("the DEFAULT rule parses: {e}")),
            enabled_protocols: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            sasl_mechanisms: Vec::new(),
            jaas: BTreeMap::new(),
        }
    }
}

/// A comma-separated list of words; empty entries are dropped.
pub fn words(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|w| !w.is_empty())
}

/// `listener.security.protocol.map`: `NAME:PROTOCOL,...`.
pub fn parse_protocol_map(value: &str) -> Result<Vec<(String, SecurityProtocol)>, String> {
    let mut out: Vec<(String, SecurityProtocol)> = Vec::new();
    for entry in words(value) {
        let (name, protocol) = entry
            .split_once(':')
            .ok_or_else(|| format!("{entry:?} is not NAME:PROTOCOL"))?;
        let name = listener_name(name)?;
        let protocol = SecurityProtocol::parse(protocol).ok_or_else(|| {
            format!(
                "{protocol:?} is not a security protocol ({})",
                SecurityProtocol::ALL.map(SecurityProtocol::name).join(", ")
            )
        })?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("listener name {name} is mapped twice"));
        }
        out.push((name, protocol));
    }
    Ok(out)
}

/// A listener name as Kafka normalises it (upper case), checked for what a config key can hold.
pub fn listener_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{name:?} is not a listener name (letters, digits, '_' and '-')"
        ));
    }
    Ok(name.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_maps_parse_and_refuse() {
        let map = parse_protocol_map("internal:SASL_SSL, EXTERNAL:ssl").unwrap();
        assert_eq!(
            map,
            vec![
                ("INTERNAL".to_string(), SecurityProtocol::SaslSsl),
                ("EXTERNAL".to_string(), SecurityProtocol::Ssl)
            ]
        );
        assert!(parse_protocol_map("A:TLS").is_err());
        assert!(parse_protocol_map("A").is_err());
        assert!(parse_protocol_map("A:SSL,a:SSL").is_err());
        assert!(format!("{:?}", Secret::new("pw")) == "[hidden]");
    }
}
