//! SCRAM (RFC 5802, RFC 7677) with SHA-256 and SHA-512: the stored credential, the server's
//! side of the exchange, and the client's side (for weir's own command-line client).
//!
//! Hashes, HMAC and PBKDF2 come from the RustCrypto crates; proofs are compared in constant
//! time. As Kafka does, passwords are used as their UTF-8 bytes (no SASLprep), the only
//! channel-binding flags accepted are `n` and `y`, and an authorization id must equal the
//! user name. An unknown user gets a challenge from a made-up credential and fails at the
//! proof, exactly like a wrong password, so the exchange does not tell which users exist.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::mechanism::Scram;

/// A SCRAM credential as Kafka stores it: never the password, only what verifies it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// From a password, with a fresh random salt.
    pub fn new(mech: Scram, password: &str, iterations: i32) -> Result<Credential, ScramError> {
        let salt = random_bytes(32)?;
        let salted = salted_password(mech, password.as_bytes(), &salt, iterations);
        Ok(Credential::from_salted_password(
            mech, &salted, salt, iterations,
        ))
    }

    /// From a salted password (what AlterUserScramCredentials carries).
    pub fn from_salted_password(
        mech: Scram,
        salted: &[u8],
        salt: Vec<u8>,
        iterations: i32,
    ) -> Credential {
        let client_key = hmac(mech, salted, b"Client Key");
        Credential {
            stored_key: hash(mech, &client_key),
            server_key: hmac(mech, salted, b"Server Key"),
            salt,
            iterations,
        }
    }

    /// Whether `password` is the one this credential was made from (for PLAIN logins
    /// checked against the SCRAM store).
    pub fn verifies(&self, mech: Scram, password: &str) -> bool {
        let salted = salted_password(mech, password.as_bytes(), &self.salt, self.iterations);
        let stored = hash(mech, &hmac(mech, &salted, b"Client Key"));
        bool::from(stored.ct_eq(&self.stored_key))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScramError {
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("channel binding is not supported")]
    ChannelBinding,
    #[error("the authorization id differs from the user name")]
    Authzid,
    #[error("delegation tokens are not supported")]
    TokenAuth,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("the server's signature does not verify")]
    ServerSignature,
    #[error("the server refused the proof: {0}")]
    ServerError(String),
    #[error("no secure random numbers: {0}")]
    Random(String),
}

/// Hi(password, salt, i): PBKDF2 with HMAC of the mechanism's hash.
pub fn salted_password(mech: Scram, password: &[u8], salt: &[u8], iterations: i32) -> Vec<u8> {
    let rounds = u32::try_from(iterations.max(1)).unwrap_or(1);
    match mech {
        Scram::Sha256 => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, rounds).to_vec(),
        Scram::Sha512 => pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, rounds).to_vec(),
    }
}

fn hmac(mech: Scram, key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    match mech {
        Scram::Sha256 => match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
        Scram::Sha512 => match Hmac::<Sha512>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
    }
}

fn hash(mech: Scram, data: &[u8]) -> Vec<u8> {
    match mech {
        Scram::Sha256 => Sha256::digest(data).to_vec(),
        Scram::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn hash_len(mech: Scram) -> usize {
    match mech {
        Scram::Sha256 => 32,
        Scram::Sha512 => 64,
    }
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>, ScramError> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).map_err(|e| ScramError::Random(e.to_string()))?;
    Ok(bytes)
}

/// 32 random letters and digits (Kafka's nonces are alphanumeric too; some clients mishandle
/// other printable characters).
fn nonce() -> Result<String, ScramError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    Ok(random_bytes(32)?
        .into_iter()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect())
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// The user name of a SCRAM message: `=2C` is ',' and `=3D` is '='; any other '=' is invalid.
fn decode_name(encoded: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3);
        match escape {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad '=' escape in the user name")),
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn encode_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// `key=value` attributes of a SCRAM message, in order.
fn attributes(message: &str) -> Vec<(&str, &str)> {
    message
        .split(',')
        .map(|part| part.split_once('=').unwrap_or((part, "")))
        .collect()
}

/// What the server does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge and wait for the client's next message.
    Challenge(Vec<u8>),
    /// Authenticated as `user`; send `response` (the server-final message).
    Done { user: String, response: Vec<u8> },
}

/// The server's side of one SCRAM exchange.
pub struct ScramServer {
    mech: Scram,
    state: ServerState,
}

enum ServerState {
    First,
    Final {
        user: String,
        /// gs2 header as the client sent it (what `c=` must encode).
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        credential: Credential,
    },
    Finished,
}

impl ScramServer {
    pub fn new(mech: Scram) -> ScramServer {
        ScramServer {
            mech,
            state: ServerState::First,
        }
    }

    /// Handles the client's next message. `lookup` finds the stored credential of a user;
    /// `decoy` makes a stand-in for users that have none (see the module docs).
    pub fn step(
        &mut self,
        message: &[u8],
        lookup: impl FnOnce(&str) -> Option<Credential>,
        decoy: impl FnOnce(&str) -> Credential,
    ) -> Result<Step, ScramError> {
        let message =
            std::str::from_utf8(message).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        match std::mem::replace(&mut self.state, ServerState::Finished) {
            ServerState::First => {
                let (gs2_header, bare) = split_gs2(message)?;
                let (user, client_nonce) = parse_client_first(bare)?;
                let credential = lookup(&user).unwrap_or_else(|| decoy(&user));
                let nonce = format!("{client_nonce}{}", nonce()?);
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    B64.encode(&credential.salt),
                    credential.iterations
                );
                let challenge = server_first.clone().into_bytes();
                self.state = ServerState::Final {
                    user,
                    gs2_header: gs2_header.to_string(),
                    client_first_bare: bare.to_string(),
                    server_first,
                    nonce,
                    credential,
                };
                Ok(Step::Challenge(challenge))
            }
            ServerState::Final {
                user,
                gs2_header,
                client_first_bare,
                server_first,
                nonce,
                credential,
            } => {
                let (without_proof, proof) = message
                    .rsplit_once(",p=")
                    .ok_or(ScramError::Malformed("no proof"))?;
                let attrs = attributes(without_proof);
                let binding = match attrs.first() {
                    Some(("c", value)) => B64
                        .decode(value)
                        .map_err(|_| ScramError::Malformed("channel binding is not base64"))?,
                    _ => return Err(ScramError::Malformed("no channel binding")),
                };
                if binding != gs2_header.as_bytes() {
                    return Err(ScramError::Malformed(
                        "channel binding differs from the gs2 header",
                    ));
                }
                match attrs.get(1) {
                    Some(("r", value)) if *value == nonce => {}
                    _ => return Err(ScramError::Malformed("nonce differs")),
                }
                let proof = B64
                    .decode(proof)
                    .map_err(|_| ScramError::Malformed("proof is not base64"))?;
                if proof.len() != hash_len(self.mech) {
                    return Err(ScramError::InvalidCredentials);
                }
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let signature = hmac(self.mech, &credential.stored_key, auth_message.as_bytes());
                let client_key = xor(&proof, &signature);
                let stored = hash(self.mech, &client_key);
                if !bool::from(stored.ct_eq(&credential.stored_key)) {
                    return Err(ScramError::InvalidCredentials);
                }
                let server_signature =
                    hmac(self.mech, &credential.server_key, auth_message.as_bytes());
                Ok(Step::Done {
                    user,
                    response: format!("v={}", B64.encode(server_signature)).into_bytes(),
                })
            }
            ServerState::Finished => Err(ScramError::Malformed("message after the exchange ended")),
        }
    }
}

/// Splits `gs2-header client-first-bare`, refusing channel binding.
fn split_gs2(message: &str) -> Result<(&str, &str), ScramError> {
    let mut parts = message.splitn(3, ',');
    let flag = parts.next().unwrap_or("");
    let authzid = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
    let bare = parts.next().ok_or(ScramError::Malformed("no gs2 header"))?;
    match flag {
        "n" | "y" => {}
        f if f.starts_with("p=") => return Err(ScramError::ChannelBinding),
        _ => return Err(ScramError::Malformed("bad channel-binding flag")),
    }
    let header = &message[..flag.len() + authzid.len() + 2];
    if !authzid.is_empty() {
        let id = authzid
            .strip_prefix("a=")
            .ok_or(ScramError::Malformed("bad authorization id"))?;
        let id = decode_name(id)?;
        // Checked against the user name once it is known.
        let (user, _) = parse_client_first(bare)?;
        if id != user {
            return Err(ScramError::Authzid);
        }
    }
    Ok((header, bare))
}

/// `n=user,r=nonce[,ext=value...]` -> (user, nonce).
fn parse_client_first(bare: &str) -> Result<(String, &str), ScramError> {
    let attrs = attributes(bare);
    let user = match attrs.first() {
        Some(("n", name)) if !name.is_empty() => decode_name(name)?,
        Some(("m", _)) => return Err(ScramError::Malformed("mandatory extension")),
        _ => return Err(ScramError::Malformed("no user name")),
    };
    let nonce = match attrs.get(1) {
        Some(("r", nonce)) if !nonce.is_empty() => *nonce,
        _ => return Err(ScramError::Malformed("no nonce")),
    };
    for (key, value) in &attrs[2..] {
        if *key == "tokenauth" && value.eq_ignore_ascii_case("true") {
            return Err(ScramError::TokenAuth);
        }
    }
    Ok((user, nonce))
}

/// The client's side of one SCRAM exchange.
pub struct ScramClient {
    mech: Scram,
    password: String,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    pub fn new(mech: Scram, user: &str, password: &str) -> Result<ScramClient, ScramError> {
        let nonce = nonce()?;
        Ok(ScramClient {
            mech,
            password: password.to_string(),
            client_first_bare: format!("n={},r={nonce}", encode_name(user)),
            nonce,
            server_signature: None,
        })
    }

    pub fn first_message(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message answering the server-first message.
    pub fn final_message(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ScramError> {
        let server_first =
            std::str::from_utf8(server_first).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let attrs = attributes(server_first);
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for (key, value) in attrs {
            match key {
                "r" => nonce = Some(value),
                "s" => salt = B64.decode(value).ok(),
                "i" => iterations = value.parse::<i32>().ok(),
                "e" => return Err(ScramError::ServerError(value.to_string())),
                _ => {}
            }
        }
        let nonce = nonce
            .filter(|n| n.starts_with(&self.nonce) && n.len() > self.nonce.len())
            .ok_or(ScramError::Malformed("server nonce"))?;
        let salt = salt.ok_or(ScramError::Malformed("salt"))?;
        let iterations = iterations
            .filter(|i| *i >= 1)
            .ok_or(ScramError::Malformed("iterations"))?;
        let salted = salted_password(self.mech, self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(self.mech, &salted, b"Client Key");
        let stored_key = hash(self.mech, &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(self.mech, &stored_key, auth_message.as_bytes());
        let server_key = hmac(self.mech, &salted, b"Server Key");
        self.server_signature = Some(hmac(self.mech, &server_key, auth_message.as_bytes()));
        let proof = xor(&client_key, &signature);
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message.
    pub fn verify_server(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let text =
            std::str::from_utf8(server_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        if let Some(error) = text.strip_prefix("e=") {
            return Err(ScramError::ServerError(error.to_string()));
        }
        let got = text
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v).ok())
            .ok_or(ScramError::Malformed("server-final"))?;
        match &self.server_signature {
            Some(expected) if bool::from(expected.ct_eq(&got)) => Ok(()),
            _ => Err(ScramError::ServerSignature),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677's SCRAM-SHA-256 example, checked from the server's side.
    #[test]
    fn rfc_7677_example_verifies() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = salted_password(Scram::Sha256, b"pencil", &salt, 4096);
        let credential = Credential::from_salted_password(Scram::Sha256, &salted, salt, 4096);
        let client_first_bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let without_proof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac(Scram::Sha256, &credential.server_key, auth.as_bytes());
        assert_eq!(
            B64.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        let client_key = hmac(Scram::Sha256, &salted, b"Client Key");
        let proof = xor(
            &client_key,
            &hmac(Scram::Sha256, &credential.stored_key, auth.as_bytes()),
        );
        assert_eq!(
            B64.encode(proof),
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(credential.verifies(Scram::Sha256, "pencil"));
        assert!(!credential.verifies(Scram::Sha256, "pencil2"));
    }

    fn exchange(mech: Scram, stored: &str, tried: &str) -> Result<String, ScramError> {
        let credential = Credential::new(mech, stored, 4096).unwrap();
        let mut server = ScramServer::new(mech);
        let mut client = ScramClient::new(mech, "al=ice,", tried).unwrap();
        let lookup = |u: &str| (u == "al=ice,").then(|| credential.clone());
        let decoy = |_: &str| Credential::new(mech, "x", 4096).unwrap();
        let Step::Challenge(first) = server.step(&client.first_message(), lookup, decoy)? else {
            panic!("expected a challenge");
        };
        let last = client.final_message(&first)?;
        match server.step(&last, |_| None, decoy)? {
            Step::Done { user, response } => {
                client.verify_server(&response)?;
                Ok(user)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn client_and_server_agree_for_both_hashes() {
        for mech in Scram::BOTH {
            assert_eq!(exchange(mech, "secret", "secret").unwrap(), "al=ice,");
            assert_eq!(
                exchange(mech, "secret", "wrong"),
                Err(ScramError::InvalidCredentials)
            );
        }
    }

    #[test]
    fn unknown_users_fail_at_the_proof() {
        let mut server = ScramServer::new(Scram::Sha256);
        let mut client = ScramClient::new(Scram::Sha256, "nobody", "pw").unwrap();
        let decoy = |_: &str| Credential::new(Scram::Sha256, "x", 4096).unwrap();
        let Step::Challenge(first) = server
            .step(&client.first_message(), |_| None, decoy)
            .unwrap()
        else {
            panic!()
        };
        let last = client.final_message(&first).unwrap();
        assert_eq!(
            server.step(&last, |_| None, decoy),
            Err(ScramError::InvalidCredentials)
        );
    }

    #[test]
    fn hostile_first_messages_are_refused() {
        let decoy = |_: &str| Credential::new(Scram::Sha256, "x", 4096).unwrap();
        for bad in [
            &b""[..],
            b"n,,",
            b"p=tls-unique,,n=a,r=x",
            b"n,a=bob,n=alice,r=x",
            b"n,,n=a=zz,r=x",
            b"n,,n=a,r=x,tokenauth=true",
            b"n,,m=ext,n=a,r=x",
            b"n,,r=x",
            b"\xff\xfe",
        ] {
            let mut server = ScramServer::new(Scram::Sha256);
            assert!(
                server.step(bad, |_| None, decoy).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(decode_name("a=2Cb=3Dc").unwrap(), "a,b=c");
    }
}
