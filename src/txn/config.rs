//! Settings of the transaction coordinator (Kafka's names, set in the broker's settings table).

/// How the transaction coordinator behaves. `Default` gives Kafka's defaults.
#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for.
    pub max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an idle transactional id is forgotten after this long.
    pub id_expiration_ms: i64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often transactions
    /// past their timeout are looked for (and aborted).
    pub abort_interval_ms: i64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired
    /// transactional ids are looked for.
    pub remove_interval_ms: i64,
    /// The finalized level of the `transaction.version` feature: 2 enables transactions v2
    /// (KIP-890) for clients that see it; the coordinator's own aborts follow it too.
    pub transaction_version: i16,
    /// `transaction.state.log.segment.bytes`: the transaction log is compacted once it is this
    /// large and more than 4x its live records.
    pub log_compaction_bytes: u64,
    /// fsync the transaction log before answering (as partition logs are fsynced at
    /// `log.flush.interval.messages=1`); otherwise it is left to the OS like they are.
    pub fsync: bool,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout_ms: 900_000,
            id_expiration_ms: 7 * 24 * 60 * 60 * 1000,
            abort_interval_ms: 10_000,
            remove_interval_ms: 60 * 60 * 1000,
            transaction_version: 2,
            log_compaction_bytes: 100 * 1024 * 1024,
            fsync: false,
        }
    }
}

impl TxnConfig {
    /// Whether the coordinator's own aborts (timeouts, fencing) follow transactions v2.
    pub fn server_tv2(&self) -> bool {
        self.transaction_version >= 2
    }
}
