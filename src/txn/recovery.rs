//! Starting the coordinator: the transaction log is replayed; open transactions get their
//! partitions back (their producers may write there again, and their timeouts run from when
//! they started); transactions found in a Prepare state are finished (markers written again,
//! offsets settled); then every partition is checked for a transaction left open that no
//! transaction of the coordinator owns (a write the transaction log never recorded, possible
//! only if the OS lost data the broker had written), which is aborted so its partition's last
//! stable offset cannot stay stuck.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::api::{GroupOffsets, PartitionLookup};
use super::config::TxnConfig;
use super::coordinator::{Shared, TxnCoordinator, COORDINATOR_EPOCH};
use super::error::TxnError;
use super::metadata::{TxnMetadata, TxnPartition};
use super::state::TxnState;
use super::store::Store;
use super::writer::StoreWriter;
use crate::clock::Clock;
use crate::log::{Marker, Outcome};
use crate::metadata::ProducerIds;

impl TxnCoordinator {
    /// Opens the transaction log in `dir`, recovers, and starts the coordinator's timers.
    /// Must run inside a tokio runtime, after the partitions are open and before clients are
    /// served.
    pub async fn start(
        dir: &Path,
        cfg: TxnConfig,
        clock: Clock,
        partitions: Arc<dyn PartitionLookup>,
        producer_ids: Arc<ProducerIds>,
        groups: Arc<dyn GroupOffsets>,
    ) -> Result<TxnCoordinator, TxnError> {
        let dir = dir.to_path_buf();
        let threshold = cfg.log_compaction_bytes;
        let (store, loaded) = tokio::task::spawn_blocking(move || Store::open(&dir, threshold))
            .await
            .map_err(|e| TxnError::Storage(Arc::new(std::io::Error::other(e.to_string()))))?
            .map_err(|e| TxnError::Storage(Arc::new(e)))?;
        let owned = owned_partitions(&loaded);
        let open: Vec<TxnMetadata> = loaded
            .values()
            .filter(|m| m.state.is_open())
            .cloned()
            .collect();
        let writer = StoreWriter::spawn(store).map_err(|e| TxnError::Storage(Arc::new(e)))?;
        let shared = Shared::new(cfg, clock, writer, partitions, producer_ids, groups, loaded);
        let coordinator = TxnCoordinator {
            shared: Arc::new(shared),
        };
        for meta in open {
            if meta.state == TxnState::Ongoing {
                let parts = meta.partitions.iter().cloned().collect();
                coordinator
                    .shared
                    .verify_partitions(parts, meta.producer_id, meta.producer_epoch)
                    .await;
                continue;
            }
            tracing::info!(transactional_id = %meta.transactional_id, state = %meta.state,
                "finishing a transaction the broker stopped in the middle of");
            if let Ok(Some(mut slot)) = coordinator.shared.slot(&meta.transactional_id, false).await
            {
                coordinator.finish(&mut slot).await;
            }
        }
        coordinator.abort_unowned(owned).await;
        tokio::spawn(coordinator.clone().run_timers());
        Ok(coordinator)
    }

    /// Aborts every transaction open in a partition that no transaction of `owned` (producer
    /// id -> partitions) claims.
    async fn abort_unowned(&self, owned: HashMap<i64, BTreeSet<TxnPartition>>) {
        let lookup = self.shared.partitions.clone();
        let done = tokio::task::spawn_blocking(move || {
            for (topic, partition) in lookup.all() {
                let tp = TxnPartition::new(topic.clone(), partition.index);
                for p in partition.producers() {
                    let claimed = owned
                        .get(&p.producer_id)
                        .is_some_and(|parts| parts.contains(&tp));
                    if p.current_txn_start_offset < 0 || claimed {
                        continue;
                    }
                    tracing::warn!(%topic, partition = partition.index, producer_id = p.producer_id,
                        start_offset = p.current_txn_start_offset,
                        "aborting a transaction no transactional id owns");
                    let marker = Marker {
                        producer_id: p.producer_id,
                        producer_epoch: p.epoch,
                        outcome: Outcome::Abort,
                        coordinator_epoch: p.coordinator_epoch.max(COORDINATOR_EPOCH),
                    };
                    if let Err(e) = partition.append_marker(&marker) {
                        tracing::error!(%topic, partition = partition.index, error = %e,
                            "aborting an unowned transaction failed");
                    }
                }
            }
        })
        .await;
        if let Err(e) = done {
            tracing::error!(error = %e, "checking partitions for unowned transactions failed");
        }
    }
}

/// The partitions each producer id's open (or ending) transaction holds.
fn owned_partitions(
    loaded: &BTreeMap<String, TxnMetadata>,
) -> HashMap<i64, BTreeSet<TxnPartition>> {
    let mut owned: HashMap<i64, BTreeSet<TxnPartition>> = HashMap::new();
    for meta in loaded.values().filter(|m| m.state.is_open()) {
        owned
            .entry(meta.producer_id)
            .or_default()
            .extend(meta.partitions.iter().cloned());
    }
    owned
}
