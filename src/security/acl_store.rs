//! The ACL store: `acls.json` in the data folder.
//!
//! On disk, one JSON document, rewritten whole on every change (temp file, fsync, rename,
//! fsync of the folder), so a crash leaves the old or the new document, never a mix:
//!
//! ```json
//! {"version": 1, "acls": [
//!   {"resource_type": "TOPIC", "resource_name": "a.", "pattern_type": "PREFIXED",
//!    "principal": "User:alice", "host": "*", "operation": "WRITE", "permission_type": "ALLOW"}]}
//! ```
//!
//! Every field uses Kafka's names (`kafka-acls.sh` and the AdminClient print the same words).
//! A leftover `acls.tmp` (a crash before the rename) is ignored. A document that does not
//! parse, or an ACL Kafka would refuse, stops the broker at start with the file named: ACLs
//! are never dropped silently, since a lost DENY would widen access.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::acl::{Acl, AclFilter, Operation, PatternType, Permission, ResourceType};
use super::authorizer::AclSet;
use crate::metadata::write_atomically;

pub const FILE: &str = "acls.json";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AclStoreError {
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("ACL store: {0}")]
    Io(#[from] std::io::Error),
}

/// Every ACL, read at start and rewritten on each change.
pub struct AclStore {
    path: PathBuf,
    current: RwLock<Arc<AclSet>>,
    /// Serializes writers, so the file always holds the latest change.
    write: Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    acls: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    resource_type: String,
    resource_name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission_type: String,
}

impl AclStore {
    /// Reads the store in `dir` (an empty store when there is no file). Blocking.
    pub fn open(dir: &Path) -> Result<AclStore, AclStoreError> {
        let path = dir.join(FILE);
        let acls = match std::fs::read(&path) {
            Ok(bytes) => decode(&bytes).map_err(|reason| AclStoreError::Corrupt {
                path: path.clone(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(AclStore {
            path,
            current: RwLock::new(Arc::new(AclSet::new(acls))),
            write: Mutex::new(()),
        })
    }

    /// The ACLs as they are now; later changes make a new set.
    pub fn snapshot(&self) -> Arc<AclSet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Adds `acls` (those already present stay as they are, as in Kafka) and persists them
    /// before they take effect. Blocking.
    pub fn create(&self, acls: Vec<Acl>) -> std::io::Result<()> {
        self.change(|current| {
            let fresh: Vec<Acl> = acls
                .into_iter()
                .filter(|acl| !current.contains(acl))
                .collect();
            if fresh.is_empty() {
                return None;
            }
            Some(current.iter().cloned().chain(fresh).collect())
        })
        .map(|_| ())
    }

    /// Removes every ACL any of `filters` matches, persisted before it takes effect; per
    /// filter, the ACLs it matched (an ACL two filters match is listed under both, as Kafka
    /// lists it). Blocking.
    pub fn delete(&self, filters: &[AclFilter]) -> std::io::Result<Vec<Vec<Acl>>> {
        let mut matched = Vec::new();
        self.change(|current| {
            matched = filters
                .iter()
                .map(|f| current.matching(f).cloned().collect::<Vec<_>>())
                .collect();
            if matched.iter().all(Vec::is_empty) {
                return None;
            }
            let kept = current
                .iter()
                .filter(|acl| !filters.iter().any(|f| f.matches(acl)))
                .cloned()
                .collect();
            Some(kept)
        })?;
        Ok(matched)
    }

    /// Applies `edit` to the current set under the writer lock; `None` means no change.
    fn change(
        &self,
        edit: impl FnOnce(&AclSet) -> Option<Vec<Acl>>,
    ) -> std::io::Result<Arc<AclSet>> {
        let _writer = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.snapshot();
        let Some(next) = edit(&current) else {
            return Ok(current);
        };
        let next = Arc::new(AclSet::new(next));
        write_atomically(&self.path, &encode(&next))?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = next.clone();
        Ok(next)
    }
}

fn encode(acls: &AclSet) -> Vec<u8> {
    let acls = acls
        .iter()
        .map(|acl| Entry {
            resource_type: acl.resource_type.name().to_string(),
            resource_name: acl.name.clone(),
            pattern_type: acl.pattern.name().to_string(),
            principal: acl.principal.clone(),
            host: acl.host.clone(),
            operation: acl.operation.name().to_string(),
            permission_type: acl.permission.name().to_string(),
        })
        .collect();
    let mut bytes = serde_json::to_vec_pretty(&Document {
        version: VERSION,
        acls,
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn decode(bytes: &[u8]) -> Result<Vec<Acl>, String> {
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if doc.version != VERSION {
        return Err(format!("unknown version {}", doc.version));
    }
    doc.acls
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let word = |what: &str, text: &str| format!("ACL {i}: unknown {what} {text:?}");
            let acl = Acl {
                resource_type: ResourceType::parse(&e.resource_type)
                    .ok_or_else(|| word("resource_type", &e.resource_type))?,
                name: e.resource_name,
                pattern: PatternType::parse(&e.pattern_type)
                    .ok_or_else(|| word("pattern_type", &e.pattern_type))?,
                principal: e.principal,
                host: e.host,
                operation: Operation::parse(&e.operation)
                    .ok_or_else(|| word("operation", &e.operation))?,
                permission: Permission::parse(&e.permission_type)
                    .ok_or_else(|| word("permission_type", &e.permission_type))?,
            };
            acl.check().map_err(|reason| format!("ACL {i}: {reason}"))?;
            Ok(acl)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::acl::PatternFilter;

    fn acl(name: &str, principal: &str, permission: Permission) -> Acl {
        Acl {
            resource_type: ResourceType::Topic,
            name: name.into(),
            pattern: PatternType::Prefixed,
            principal: principal.into(),
            host: "*".into(),
            operation: Operation::Write,
            permission,
        }
    }

    #[test]
    fn changes_persist_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let store = AclStore::open(dir.path()).unwrap();
        let a = acl("a.", "User:alice", Permission::Allow);
        let b = acl("b.", "User:bob", Permission::Deny);
        store.create(vec![a.clone(), b.clone(), a.clone()]).unwrap();
        assert_eq!(store.snapshot().len(), 2, "a duplicate is one ACL");
        let mut by_bob = AclFilter::any();
        by_bob.principal = Some("User:bob".into());
        let deleted = store.delete(&[by_bob.clone(), by_bob]).unwrap();
        assert_eq!(deleted, vec![vec![b.clone()], vec![b]]);
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(
            text.contains("\"PREFIXED\"") && text.contains("User:alice"),
            "{text}"
        );
        let again = AclStore::open(dir.path()).unwrap();
        assert_eq!(again.snapshot().iter().collect::<Vec<_>>(), vec![&a]);
    }

    #[test]
    fn a_delete_matching_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = AclStore::open(dir.path()).unwrap();
        let mut filter = AclFilter::any();
        filter.pattern = PatternFilter::Match;
        assert_eq!(store.delete(&[filter]).unwrap(), vec![Vec::<Acl>::new()]);
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn a_torn_temp_file_is_ignored_and_a_torn_store_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = AclStore::open(dir.path()).unwrap();
        store
            .create(vec![acl("a.", "User:alice", Permission::Allow)])
            .unwrap();
        let full = std::fs::read(dir.path().join(FILE)).unwrap();
        // A crash before the rename leaves half a temp file beside the store.
        std::fs::write(dir.path().join("acls.tmp"), &full[..full.len() / 2]).unwrap();
        assert_eq!(AclStore::open(dir.path()).unwrap().snapshot().len(), 1);
        // A store cut short (a disk that lied about fsync) is refused, naming the file.
        std::fs::write(dir.path().join(FILE), &full[..full.len() / 2]).unwrap();
        let err = AclStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains(FILE), "{err}");
    }

    #[test]
    fn an_acl_kafka_would_refuse_stops_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let text = r#"{"version": 1, "acls": [{"resource_type": "CLUSTER", "resource_name": "x",
            "pattern_type": "LITERAL", "principal": "User:a", "host": "*", "operation": "ALTER",
            "permission_type": "ALLOW"}]}"#;
        std::fs::write(dir.path().join(FILE), text).unwrap();
        let err = AclStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("kafka-cluster"), "{err}");
        let text = text.replace("\"ALTER\"", "\"FLY\"");
        std::fs::write(dir.path().join(FILE), text).unwrap();
        let err = AclStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("FLY"), "{err}");
    }
}
