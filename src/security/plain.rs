//! SASL PLAIN (RFC 4616): one message, `[authzid] NUL user NUL password`.

/// The user and password of a PLAIN message. As in Kafka, an authorization id must be empty
/// or equal to the user name, and neither name nor password may be empty.
pub fn parse(message: &[u8]) -> Result<(String, String), &'static str> {
    let text = std::str::from_utf8(message).map_err(|_| "not UTF-8")?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not authzid NUL user NUL password");
    };
    if user.is_empty() || password.is_empty() {
        return Err("empty user name or password");
    }
    if !authzid.is_empty() && authzid != user {
        return Err("the authorization id differs from the user name");
    }
    Ok((user.to_string(), password.to_string()))
}

/// The message a client sends.
pub fn message(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            parse(&message("alice", "pw")).unwrap(),
            ("alice".into(), "pw".into())
        );
        assert!(parse(b"alice\0alice\0pw").is_ok());
        for bad in [
            &b"bob\0alice\0pw"[..],
            b"\0alice",
            b"\0\0pw",
            b"\0a\0",
            b"\0a\0b\0c",
            b"\xff",
        ] {
            assert!(parse(bad).is_err());
        }
    }
}
