//! Listener addresses as Kafka writes them (`PLAINTEXT://host:port`, or a bare `host:port`).
//! A malformed address is refused with the reason, never guessed at.

use super::security::{listener_name, NamedEndpoint};

/// A host and port. `host` keeps IPv6 brackets off (`::1`); empty means every interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// The address to bind: an empty host listens on every interface.
    pub fn bind_addr(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            h if h.contains(':') => format!("[{h}]:{}", self.port),
            h => format!("{h}:{}", self.port),
        }
    }
}

/// `listeners` or `advertised.listeners`: comma-separated `NAME://host:port` entries, where a
/// bare `host:port` is the `PLAINTEXT` listener. Names are upper-cased as Kafka does, and each
/// appears once.
pub fn parse_listeners(value: &str) -> Result<Vec<NamedEndpoint>, String> {
    let mut out: Vec<NamedEndpoint> = Vec::new();
    for entry in value.split(',').map(str::trim) {
        if entry.is_empty() {
            return Err("an empty entry in the list".into());
        }
        let (name, address) = match entry.split_once("://") {
            Some((name, address)) => (listener_name(name)?, address),
            None => ("PLAINTEXT".to_string(), entry),
        };
        if out.iter().any(|l| l.name == name) {
            return Err(format!("listener name {name} appears twice"));
        }
        out.push(NamedEndpoint {
            name,
            endpoint: parse_host_port(address)?,
        });
    }
    Ok(out)
}

/// A `host:port` of weir's own (no scheme); empty gives `None`.
pub fn parse_address(value: &str) -> Result<Option<Endpoint>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.contains("://") {
        return Err("must be host:port, without a scheme".into());
    }
    parse_host_port(value).map(Some)
}

fn parse_host_port(address: &str) -> Result<Endpoint, String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} has no port (host:port)"));
    };
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .ok_or_else(|| format!("{address:?}: unclosed '[' around an IPv6 address"))?,
        None if host.contains(':') => {
            return Err(format!(
                "{address:?}: write an IPv6 address in brackets, [::1]:9092"
            ))
        }
        None => host,
    };
    if host.contains(['/', ' ', '[', ']']) {
        return Err(format!("{address:?}: {host:?} is not a host name"));
    }
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("{address:?}: the port must be a number from 0 to 65535"))?;
    Ok(Endpoint {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(host: &str, port: u16) -> Endpoint {
        Endpoint {
            host: host.to_string(),
            port,
        }
    }

    fn one(value: &str) -> Result<(String, Endpoint), String> {
        let mut all = parse_listeners(value)?;
        assert_eq!(all.len(), 1);
        let l = all.remove(0);
        Ok((l.name, l.endpoint))
    }

    #[test]
    fn kafka_and_bare_forms() {
        assert_eq!(
            one("PLAINTEXT://0.0.0.0:9093"),
            Ok(("PLAINTEXT".into(), ep("0.0.0.0", 9093)))
        );
        assert_eq!(one("plaintext://h:1"), Ok(("PLAINTEXT".into(), ep("h", 1))));
        assert_eq!(
            one("localhost:0"),
            Ok(("PLAINTEXT".into(), ep("localhost", 0)))
        );
        assert_eq!(one("[::1]:9092"), Ok(("PLAINTEXT".into(), ep("::1", 9092))));
        assert_eq!(
            one("SASL_SSL://:9094"),
            Ok(("SASL_SSL".into(), ep("", 9094)))
        );
        assert_eq!(one("internal://h:1"), Ok(("INTERNAL".into(), ep("h", 1))));
        let two = parse_listeners("PLAINTEXT://a:1, SSL://b:2").unwrap();
        assert_eq!(two[1].name, "SSL");
        assert_eq!(ep("", 9092).bind_addr(), "0.0.0.0:9092");
        assert_eq!(ep("::1", 1).bind_addr(), "[::1]:1");
    }

    #[test]
    fn malformed_listeners_are_refused_with_the_reason() {
        for bad in [
            "PLAINTEXT://host",
            "host",
            "host:port",
            "host:70000",
            "::1:9092",
            "[::1:9092",
            "PLAINTEXT://a:1,PLAINTEXT://b:2",
            "a:1,b:2",
            "PLAINTEXT://a:1,",
            "BAD NAME://a:1",
        ] {
            assert!(parse_listeners(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_listeners("a:1,b:2").unwrap_err().contains("twice"));
        assert!(parse_address("http://h:1").is_err());
        assert_eq!(parse_address("h:1"), Ok(Some(ep("h", 1))));
    }
}
