//! The SCRAM credential store: `credentials.json` in the data folder.
//!
//! On disk, one JSON document, rewritten whole on every change (temp file, fsync, rename,
//! fsync of the folder), so a crash leaves the old or the new document, never a mix:
//!
//! ```json
//! {"version": 1, "credentials": [
//!   {"user": "alice", "mechanism": "SCRAM-SHA-512", "iterations": 4096,
//!    "salt": "<base64>", "stored_key": "<base64>", "server_key": "<base64>"}]}
//! ```
//!
//! The four SCRAM fields are Kafka's (`salt`, `stored_key`, `server_key`, `iterations`):
//! passwords are never stored. A leftover `credentials.tmp` (a crash before the rename) is
//! ignored. A document that does not parse stops the broker at start with the file named:
//! users are never dropped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::mechanism::Scram;
use super::scram::{random_bytes, salted_password, Credential};
use crate::metadata::write_atomically;

pub const FILE: &str = "credentials.json";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("credential store: {0}")]
    Io(#[from] std::io::Error),
}

/// One change of an AlterUserScramCredentials request (or `weir user`).
#[derive(Debug, Clone)]
pub enum Change {
    Upsert {
        user: String,
        mech: Scram,
        credential: Credential,
    },
    Delete {
        user: String,
        mech: Scram,
    },
}

/// Every user's SCRAM credentials, read at start and rewritten on each change.
pub struct Credentials {
    path: PathBuf,
    users: RwLock<BTreeMap<(String, Scram), Credential>>,
    /// Serializes writers, so the file always holds the latest change.
    write: Mutex<()>,
    /// Keys the stand-in credentials of unknown users (see `scram`), per broker start.
    decoy_key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    credentials: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    user: String,
    mechanism: String,
    iterations: i32,
    salt: String,
    stored_key: String,
    server_key: String,
}

impl Credentials {
    /// Reads the store in `dir` (an empty store when there is no file). Blocking.
    pub fn open(dir: &Path) -> Result<Credentials, CredentialError> {
        let path = dir.join(FILE);
        let users = match std::fs::read(&path) {
            Ok(bytes) => decode(&bytes).map_err(|reason| CredentialError::Corrupt {
                path: path.clone(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        let decoy_key = random_bytes(32).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Credentials {
            path,
            users: RwLock::new(users),
            write: Mutex::new(()),
            decoy_key,
        })
    }

    pub fn get(&self, user: &str, mech: Scram) -> Option<Credential> {
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        users.get(&(user.to_string(), mech)).cloned()
    }

    /// A credential no password matches, the same for a user name throughout a broker's
    /// run, standing in for users that have none.
    pub fn decoy(&self, user: &str, mech: Scram) -> Credential {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.decoy_key) {
            Ok(mac) => mac,
            Err(_) => return Credential::from_salted_password(mech, &[], Vec::new(), 4096),
        };
        mac.update(user.as_bytes());
        let salt = mac.finalize().into_bytes().to_vec();
        // A salted password nobody knows: the broker's secret key.
        let salted = salted_password(mech, &self.decoy_key, &salt, 1);
        Credential::from_salted_password(mech, &salted, salt, Scram::MIN_ITERATIONS)
    }

    /// Every user with their mechanisms and iteration counts, by name.
    pub fn describe(&self) -> BTreeMap<String, Vec<(Scram, i32)>> {
        let users = self.users.read().unwrap_or_else(|p| p.into_inner());
        let mut out: BTreeMap<String, Vec<(Scram, i32)>> = BTreeMap::new();
        for ((user, mech), credential) in users.iter() {
            out.entry(user.clone())
                .or_default()
                .push((*mech, credential.iterations));
        }
        out
    }

    pub fn exists(&self, user: &str, mech: Scram) -> bool {
        self.get(user, mech).is_some()
    }

    /// Applies `changes` together and persists them before they take effect. Blocking.
    pub fn apply(&self, changes: Vec<Change>) -> Result<(), CredentialError> {
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = self.users.read().unwrap_or_else(|p| p.into_inner()).clone();
        for change in changes {
            match change {
                Change::Upsert {
                    user,
                    mech,
                    credential,
                } => {
                    next.insert((user, mech), credential);
                }
                Change::Delete { user, mech } => {
                    next.remove(&(user, mech));
                }
            }
        }
        write_atomically(&self.path, &encode(&next))?;
        *self.users.write().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(())
    }
}

fn encode(users: &BTreeMap<(String, Scram), Credential>) -> Vec<u8> {
    let credentials = users
        .iter()
        .map(|((user, mech), c)| Entry {
            user: user.clone(),
            mechanism: mech.name().to_string(),
            iterations: c.iterations,
            salt: B64.encode(&c.salt),
            stored_key: B64.encode(&c.stored_key),
            server_key: B64.encode(&c.server_key),
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&Document {
        version: VERSION,
        credentials,
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn decode(bytes: &[u8]) -> Result<BTreeMap<(String, Scram), Credential>, String> {
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if doc.version != VERSION {
        return Err(format!("unknown version {}", doc.version));
    }
    let mut users = BTreeMap::new();
    for entry in doc.credentials {
        let mech = Scram::parse(&entry.mechanism)
            .ok_or_else(|| format!("unknown mechanism {:?}", entry.mechanism))?;
        let field = |name: &str, value: &str| {
            B64.decode(value)
                .map_err(|_| format!("{name} of {:?} is not base64", entry.user))
        };
        let credential = Credential {
            salt: field("salt", &entry.salt)?,
            stored_key: field("stored_key", &entry.stored_key)?,
            server_key: field("server_key", &entry.server_key)?,
            iterations: entry.iterations,
        };
        users.insert((entry.user, mech), credential);
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(user: &str, mech: Scram, password: &str) -> Change {
        Change::Upsert {
            user: user.into(),
            mech,
            credential: Credential::new(mech, password, 4096).unwrap(),
        }
    }

    #[test]
    fn changes_persist_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::open(dir.path()).unwrap();
        store
            .apply(vec![
                upsert("alice", Scram::Sha512, "a"),
                upsert("bob", Scram::Sha256, "b"),
            ])
            .unwrap();
        store
            .apply(vec![Change::Delete {
                user: "bob".into(),
                mech: Scram::Sha256,
            }])
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!text.contains("\"a\""), "no password on disk");
        let again = Credentials::open(dir.path()).unwrap();
        assert!(again
            .get("alice", Scram::Sha512)
            .unwrap()
            .verifies(Scram::Sha512, "a"));
        assert!(!again.exists("bob", Scram::Sha256));
        assert_eq!(again.describe().len(), 1);
    }

    #[test]
    fn a_torn_temp_file_is_ignored_and_a_torn_store_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::open(dir.path()).unwrap();
        store
            .apply(vec![upsert("alice", Scram::Sha256, "a")])
            .unwrap();
        let full = std::fs::read(dir.path().join(FILE)).unwrap();
        // A crash before the rename leaves half a temp file beside the store.
        std::fs::write(dir.path().join("credentials.tmp"), &full[..full.len() / 2]).unwrap();
        let again = Credentials::open(dir.path()).unwrap();
        assert!(again.exists("alice", Scram::Sha256));
        // A store cut short (a disk that lied about fsync) is refused, naming the file.
        std::fs::write(dir.path().join(FILE), &full[..full.len() / 2]).unwrap();
        let err = Credentials::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains(FILE), "{err}");
    }

    #[test]
    fn decoys_are_stable_per_user_and_match_no_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::open(dir.path()).unwrap();
        let a = store.decoy("ghost", Scram::Sha256);
        assert_eq!(a, store.decoy("ghost", Scram::Sha256));
        assert_ne!(a.salt, store.decoy("other", Scram::Sha256).salt);
        assert!(!a.verifies(Scram::Sha256, ""));
    }
}
