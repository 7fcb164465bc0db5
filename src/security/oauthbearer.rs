//! OAUTHBEARER (RFC 7628) with Kafka's default validator for tests: unsecured JWS tokens
//! (`alg: none`, no signature) whose claims are checked but not trusted cryptographically.
//! Never enable it where real security matters, as Kafka's documentation warns.
//!
//! Options (from `listener.name.<name>.oauthbearer.sasl.jaas.config`, Kafka's names):
//! `unsecuredValidatorPrincipalClaimName` (default `sub`), `unsecuredValidatorScopeClaimName`
//! (default `scope`), `unsecuredValidatorRequiredScope` (space-separated),
//! `unsecuredValidatorAllowableClockSkewMs` (default 0).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::Value;

use super::jaas::Jaas;

/// What a valid token says.
#[derive(Debug, PartialEq, Eq)]
pub struct Token {
    pub principal: String,
    /// Expiry, milliseconds since the epoch.
    pub expires_ms: i64,
}

/// The validator's settings.
#[derive(Debug, Clone, Default)]
pub struct Validator {
    principal_claim: Option<String>,
    scope_claim: Option<String>,
    required_scope: Vec<String>,
    skew_ms: i64,
}

impl Validator {
    pub fn from_jaas(jaas: Option<&Jaas>) -> Result<Validator, String> {
        let Some(jaas) = jaas else {
            return Ok(Validator::default());
        };
        let skew_ms = match jaas.option("unsecuredValidatorAllowableClockSkewMs") {
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or("unsecuredValidatorAllowableClockSkewMs must be a whole number >= 0")?,
            None => 0,
        };
        Ok(Validator {
            principal_claim: jaas
                .option("unsecuredValidatorPrincipalClaimName")
                .map(str::to_string),
            scope_claim: jaas
                .option("unsecuredValidatorScopeClaimName")
                .map(str::to_string),
            required_scope: jaas
                .option("unsecuredValidatorRequiredScope")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            skew_ms,
        })
    }

    /// Checks the client's initial response at wall-clock time `now_ms`.
    pub fn validate(&self, message: &[u8], now_ms: i64) -> Result<Token, String> {
        let text = std::str::from_utf8(message).map_err(|_| "not UTF-8")?;
        let (gs2, rest) = text.split_once('\u{1}').ok_or("no key-value pairs")?;
        let mut gs2 = gs2.splitn(3, ',');
        if gs2.next() != Some("n") {
            return Err("channel binding is not supported".into());
        }
        let authzid = gs2
            .next()
            .unwrap_or("")
            .strip_prefix("a=")
            .map(str::to_string);
        let auth = rest
            .split('\u{1}')
            .find_map(|kv| kv.strip_prefix("auth="))
            .ok_or("no auth=Bearer <token>")?;
        let jws = auth
            .strip_prefix("Bearer ")
            .ok_or("the auth value is not a Bearer token")?
            .trim();
        let mut parts = jws.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the token is not a compact JWS (header.payload.signature)".into());
        };
        let decode = |part: &str| -> Result<Value, String> {
            let bytes = B64URL
                .decode(part.trim_end_matches('='))
                .map_err(|_| "a token part is not base64url")?;
            serde_json::from_slice(&bytes).map_err(|_| "a token part is not JSON".to_string())
        };
        let header = decode(header)?;
        if header.get("alg").and_then(Value::as_str) != Some("none") || !signature.is_empty() {
            return Err("only unsecured tokens (alg none, no signature) are accepted".into());
        }
        let claims = decode(payload)?;
        let principal_claim = self.principal_claim.as_deref().unwrap_or("sub");
        let principal = claims
            .get(principal_claim)
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("no {principal_claim} claim"))?
            .to_string();
        if authzid.as_deref().is_some_and(|a| a != principal) {
            return Err("the authorization id differs from the token's principal".into());
        }
        let seconds = |name: &str| claims.get(name).and_then(Value::as_f64);
        let exp = seconds("exp").ok_or("no exp claim")?;
        let expires_ms = (exp * 1000.0) as i64;
        if expires_ms + self.skew_ms <= now_ms {
            return Err("the token has expired".into());
        }
        if let Some(iat) = seconds("iat") {
            if (iat * 1000.0) as i64 - self.skew_ms > now_ms {
                return Err("the token was issued in the future".into());
            }
        }
        let scope_claim = self.scope_claim.as_deref().unwrap_or("scope");
        let scope: Vec<&str> = match claims.get(scope_claim) {
            Some(Value::String(s)) => s.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if let Some(missing) = self
            .required_scope
            .iter()
            .find(|s| !scope.contains(&s.as_str()))
        {
            return Err(format!("the token lacks the required scope {missing:?}"));
        }
        Ok(Token {
            principal,
            expires_ms,
        })
    }
}

/// An unsecured token's client message, for tests and the command-line client.
pub fn client_message(principal: &str, expires_s: i64) -> Vec<u8> {
    let header = B64URL.encode(br#"{"alg":"none"}"#);
    let payload = B64URL.encode(format!(r#"{{"sub":"{principal}","exp":{expires_s}}}"#));
    format!("n,,\u{1}auth=Bearer {header}.{payload}.\u{1}\u{1}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsecured_tokens_are_checked() {
        let v = Validator::default();
        let token = v
            .validate(&client_message("alice", 2_000), 1_000_000)
            .unwrap();
        assert_eq!(
            token,
            Token {
                principal: "alice".into(),
                expires_ms: 2_000_000
            }
        );
        assert!(v
            .validate(&client_message("alice", 2_000), 2_000_000)
            .is_err());
        let signed = String::from_utf8(client_message("a", 2_000))
            .unwrap()
            .replace(".\u{1}", ".c2ln\u{1}");
        assert!(v.validate(signed.as_bytes(), 0).is_err());
        for bad in [
            &b""[..],
            b"n,,\x01auth=Basic x\x01\x01",
            b"n,,\x01auth=Bearer a.b\x01\x01",
            b"y,,\x01\x01",
        ] {
            assert!(v.validate(bad, 0).is_err());
        }
        let jaas = crate::security::jaas::parse(
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope=\"write\";",
        )
        .unwrap();
        let strict = Validator::from_jaas(Some(&jaas)).unwrap();
        assert!(strict
            .validate(&client_message("alice", 2_000), 0)
            .unwrap_err()
            .contains("scope"));
    }
}
