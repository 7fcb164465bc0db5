//! Tests of the partition log through its public API, on temporary folders.

mod append_read;
mod cleaning;
mod cleaning_transactions;
mod failures;
mod idempotence;
mod recovery;
mod retention;
mod timestamps;
mod transactions;
mod validation;

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType as KafkaTimestampType,
};

use super::{LogConfig, PartitionLog};

/// How to build one test batch.
#[derive(Clone)]
pub(super) struct Spec {
    pub timestamps: Vec<i64>,
    pub producer_id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
    pub compression: Compression,
    pub value_len: usize,
    pub transactional: bool,
}

impl Spec {
    pub fn plain(count: usize, ts: i64) -> Spec {
        Spec {
            timestamps: (0..count as i64).map(|i| ts + i).collect(),
            producer_id: -1,
            epoch: -1,
            base_sequence: -1,
            compression: Compression::None,
            value_len: 10,
            transactional: false,
        }
    }

    pub fn idempotent(pid: i64, epoch: i16, seq: i32, count: usize) -> Spec {
        Spec {
            producer_id: pid,
            epoch,
            base_sequence: seq,
            ..Spec::plain(count, 1_000)
        }
    }

    pub fn encode(&self) -> Bytes {
        let records: Vec<Record> = self
            .timestamps
            .iter()
            .enumerate()
            .map(|(i, &ts)| Record {
                transactional: self.transactional,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: self.producer_id,
                producer_epoch: self.epoch,
                timestamp_type: KafkaTimestampType::Creation,
                offset: i as i64,
                sequence: self.base_sequence.wrapping_add(i as i32),
                timestamp: ts,
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(vec![b'v'; self.value_len])),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: self.compression,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        let out = buf.freeze();
        assert_eq!(
            out.len(),
            batch_size(&out),
            "spec must encode to exactly one batch"
        );
        out
    }
}

pub(super) fn plain(count: usize, ts: i64) -> Bytes {
    Spec::plain(count, ts).encode()
}

pub(super) fn batch_size(batch: &[u8]) -> usize {
    12 + i32::from_be_bytes(batch[8..12].try_into().unwrap()) as usize
}

/// Recomputes the CRC of a batch after a test edited it.
pub(super) fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Small segments and a dense index so tests exercise rolls and index lookups.
pub(super) fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 100,
        ..LogConfig::default()
    }
}

pub(super) fn open(dir: &Path, config: LogConfig) -> PartitionLog {
    PartitionLog::open(dir.to_path_buf(), config).unwrap()
}

/// (offset, timestamp) of every record in `bytes`, checking each batch's CRC on the way.
pub(super) fn decode(bytes: &Bytes) -> Vec<(i64, i64)> {
    let mut buf = bytes.clone();
    RecordBatchDecoder::decode_all(&mut buf)
        .unwrap()
        .iter()
        .flat_map(|set| set.records.iter().map(|r| (r.offset, r.timestamp)))
        .collect()
}

/// Offsets of all records in the log, read batch by batch from the start.
pub(super) fn all_offsets(log: &PartitionLog) -> Vec<i64> {
    let bytes = log.read(log.log_start_offset(), usize::MAX).unwrap();
    decode(&bytes).into_iter().map(|(o, _)| o).collect()
}

/// Sorted names of the files in `dir`.
pub(super) fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Copies every file of `from` into the (existing) folder `to`.
pub(super) fn copy_dir(from: &Path, to: &Path) {
    for name in files(from) {
        std::fs::copy(from.join(&name), to.join(&name)).unwrap();
    }
}
