//! Listener addresses as Kafka writes them (`PLAINTEXT://host:port`, or a bare `host:port`).
//! A malformed address is refused with the reason, never guessed at.

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

/// The security protocols Kafka names; weir serves the first only (for now).
const PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

/// One Kafka listener; empty gives `None`.
pub fn parse_listener(value: &str) -> Result<Option<Endpoint>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let count = value.split(',').count();
    if count > 1 {
        return Err(format!("weir serves one listener, not {count}"));
    }
    let address = match value.split_once("://") {
        Some((name, address)) => {
            let name = name.to_ascii_uppercase();
            if name != "PLAINTEXT" {
                return Err(if PROTOCOLS.contains(&name.as_str()) {
                    format!("weir serves PLAINTEXT listeners only, not {name}")
                } else {
                    format!("unknown listener name {name:?} (weir serves PLAINTEXT)")
                });
            }
            address
        }
        None => value,
    };
    parse_host_port(address).map(Some)
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

    fn ep(host: &str, port: u16) -> Option<Endpoint> {
        Some(Endpoint {
            host: host.to_string(),
            port,
        })
    }

    #[test]
    fn kafka_and_bare_forms() {
        assert_eq!(
            parse_listener("PLAINTEXT://0.0.0.0:9093"),
            Ok(ep("0.0.0.0", 9093))
        );
        assert_eq!(parse_listener("plaintext://h:1"), Ok(ep("h", 1)));
        assert_eq!(parse_listener("localhost:0"), Ok(ep("localhost", 0)));
        assert_eq!(parse_listener("[::1]:9092"), Ok(ep("::1", 9092)));
        assert_eq!(parse_listener("PLAINTEXT://:9092"), Ok(ep("", 9092)));
        assert_eq!(parse_listener(""), Ok(None));
        assert_eq!(ep("", 9092).unwrap().bind_addr(), "0.0.0.0:9092");
        assert_eq!(ep("::1", 1).unwrap().bind_addr(), "[::1]:1");
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
            "SSL://h:9093",
            "INTERNAL://h:9093",
            "PLAINTEXT://a:1,PLAINTEXT://b:2",
        ] {
            assert!(parse_listener(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_listener("SSL://h:9093")
            .unwrap_err()
            .contains("PLAINTEXT"));
        assert!(parse_address("http://h:1").is_err());
        assert_eq!(parse_address("h:1"), Ok(ep("h", 1)));
    }
}
