//! Partition logs: Kafka-style storage for one partition per [`PartitionLog`].
//!
//! A partition is a folder of segments. Each segment is a `.log` file of record batches stored
//! as produced (the broker only writes the base offset), a sparse `.index` from offsets to file
//! positions and a `.timeindex` from timestamps to offsets. The last segment is active and
//! rolls by size and age; retention deletes whole old segments. On open the folder is recovered:
//! a torn or corrupt tail is truncated, indexes are checked and rebuilt, idempotent producer
//! state is replayed from batch headers.
//!
//! One file per concept, each on-disk format documented at the top of its file:
//!
//! - `batch.rs`: the record batch v2 header (layout, parse, CRC check)
//! - `records.rs`: records inside a batch (only for validation and timestamp lookups)
//! - `validate.rs`: what a producer may append
//! - `compressed.rs`: compressed batches decompressed and walked on append
//! - `segment.rs`: a segment and its `.log` file
//! - `index_file.rs`, `index.rs`, `time_index.rs`: the `.index` and `.timeindex` files
//! - `checkpoint.rs`: the `log-start-offset` file
//! - `cleaner/`: log compaction (key map, recopy, crash-safe swap, cleaner checkpoint)
//! - `producer_state.rs`: producer sequence tracking and open transactions
//! - `control.rs`: transaction markers (control batches); `txn_index.rs`: the `.txnindex` of
//!   aborted transactions per segment; `transactions.rs`: markers, the last stable offset and
//!   the aborted transactions a read_committed fetch returns
//! - `recovery.rs`: opening a folder after a clean or unclean stop
//! - `partition.rs`: append and read (a read is planned under the owner's lock and copied
//!   after it); `retention.rs`, `timestamps.rs`: the rest of the API
//! - `read_buffers.rs`: recycled buffers for reads
//! - `faults.rs`: injected I/O failures at named points, for failure and crash tests
//!
//! This module uses only std, `bytes`, `crc32c`, `libc` (reads into uninitialised buffers),
//! `thiserror`, `tracing`, `kafka_protocol` (to decode compressed batches for timestamp
//! lookups) and the codecs `kafka_protocol` already uses (`flate2`, `snap`, `lz4`, `zstd`: to
//! validate compressed batches on append). All file I/O is blocking: callers run it off the
//! async reactor.

mod batch;
mod checkpoint;
pub mod cleaner;
mod compressed;
mod config;
mod control;
mod error;
pub mod faults;
mod index;
mod index_file;
mod partition;
mod producer_state;
mod read_buffers;
mod records;
mod recovery;
mod retention;
mod segment;
mod time_index;
mod timestamps;
mod transactions;
mod txn_index;
mod validate;

pub use batch::{next_offset_after, BatchHeader, HEADER_SIZE};
pub use cleaner::CleanerConfig;
pub use config::{LogConfig, TimestampType};
pub use control::{Marker, Outcome, MARKER_BATCH_LEN};
pub use error::LogError;
pub use partition::{AppendOutcome, PartitionLog, ReadPlan, TimestampLookup};
pub use producer_state::ProducerSnapshot;
pub use txn_index::AbortedTxn;

#[cfg(test)]
mod tests;
