//! The transaction log: the state of every transactional id on disk, replayed on start.
//!
//! One append-only file, `<dir>/transactions.log`:
//!
//! ```text
//! header   8 bytes  "WEIRTXN1"
//! frame*   u32 BE   payload length N (at most 16 MiB)
//!          u32 BE   CRC-32C (Castagnoli) of the payload
//!          N bytes  payload
//! ```
//!
//! Payload: a `u8` kind, then its fields. Integers are big-endian; `str` is a `u32` length and
//! UTF-8.
//!
//! ```text
//! 1 transaction   transactional_id str, producer_id i64, prev_producer_id i64,
//!                 next_producer_id i64, producer_epoch i16, last_producer_epoch i16,
//!                 timeout_ms i32, state u8 (0 Empty, 1 Ongoing, 2 PrepareCommit,
//!                 3 PrepareAbort, 4 CompleteCommit, 5 CompleteAbort), txn_start_ms i64,
//!                 last_update_ms i64, flags u8 (bit 0: transactions v2),
//!                 partition count u32, then (topic str, partition i32) per partition,
//!                 group count u32, then group str per group
//! 2 tombstone     transactional_id str (the id expired)
//! ```
//!
//! A later record for the same id replaces the earlier. Replay stops at the first frame that
//! is short, too long or fails its CRC: that torn tail (a crash during an append) is truncated.
//! A whole frame whose CRC matches but which does not decode is not a torn write: the log is
//! not opened (and not changed), with an error naming its position. When the file grows past
//! the compaction threshold and 4x the size of its live records, it is rewritten as a snapshot
//! of the live records (temporary file, fsync, rename, fsync of the directory).
//!
//! Appends are fsynced when the caller asks (every state a restart must find: Ongoing and the
//! Prepare states); the Complete states that follow markers are written without, as a restart
//! that finds the Prepare state instead writes the markers again. `Store` does blocking I/O;
//! the coordinator drives it from its writer thread (writer.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::metadata::{TxnMetadata, TxnPartition};
use super::state::TxnState;
use crate::log::faults::{self, Point};

const MAGIC: &[u8; 8] = b"WEIRTXN1";
pub(super) const FILE_NAME: &str = "transactions.log";
const TMP_NAME: &str = "transactions.log.tmp";
const FRAME_HEADER: usize = 8;
const MAX_PAYLOAD: usize = 16 << 20;
const KIND_TXN: u8 = 1;
const KIND_TOMBSTONE: u8 = 2;
const FLAG_TV2: u8 = 1;

/// One record of the transaction log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Txn(TxnMetadata),
    Tombstone(String),
}

impl Record {
    fn id(&self) -> &str {
        match self {
            Record::Txn(m) => &m.transactional_id,
            Record::Tombstone(id) => id,
        }
    }
}

/// The open transaction log.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    file: File,
    len: u64,
    /// The encoded frame of every live record, by transactional id.
    live: BTreeMap<String, Vec<u8>>,
    live_bytes: u64,
    compaction_min_bytes: u64,
    /// Written since the last fsync.
    unsynced: bool,
    /// A rewrite renamed the log but the folder fsync that makes it durable failed.
    dir_sync_pending: bool,
}

impl Store {
    /// Opens (or creates) the log in `dir`, replays it, truncates a torn tail and returns the
    /// metadata of every transactional id.
    pub fn open(
        dir: &Path,
        compaction_min_bytes: u64,
    ) -> io::Result<(Store, BTreeMap<String, TxnMetadata>)> {
        fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        let _ = fs::remove_file(dir.join(TMP_NAME)); // a compaction interrupted by a crash
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let not_ours = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a transaction log", path.display()),
            )
        };
        if data.len() < MAGIC.len() {
            if !MAGIC.starts_with(&data) {
                return Err(not_ours());
            }
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(MAGIC)?;
            file.sync_all()?;
            sync_dir(dir)?;
            data = MAGIC.to_vec();
        } else if &data[..MAGIC.len()] != MAGIC {
            return Err(not_ours());
        }
        let mut store = Store {
            dir: dir.to_path_buf(),
            file,
            len: 0,
            live: BTreeMap::new(),
            live_bytes: 0,
            compaction_min_bytes,
            unsynced: false,
            dir_sync_pending: false,
        };
        let mut txns = BTreeMap::new();
        let mut pos = MAGIC.len();
        while pos < data.len() {
            let Ok(next) = read_frame(&data[pos..]) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: the record at byte {pos} has a valid checksum but does not decode \
                         (written by a newer version?); not starting rather than dropping it",
                        path.display()
                    ),
                ));
            };
            let Some((record, frame_len)) = next else {
                break;
            };
            match &record {
                Record::Txn(m) => {
                    txns.insert(m.transactional_id.clone(), m.clone());
                }
                Record::Tombstone(id) => {
                    txns.remove(id);
                }
            }
            store.apply_live(&record, data[pos..pos + frame_len].to_vec());
            pos += frame_len;
        }
        if pos < data.len() {
            tracing::warn!(
                path = %path.display(),
                valid = pos,
                dropped = data.len() - pos,
                "transaction log has a torn or corrupt tail; truncating it"
            );
            store.file.set_len(pos as u64)?;
            store.file.sync_all()?;
        }
        store.len = pos as u64;
        store.file.seek(SeekFrom::Start(store.len))?;
        Ok((store, txns))
    }

    /// Appends `records`; with `sync`, fsyncs them (and anything written before) too. On
    /// failure nothing is kept (the file is cut back).
    pub fn append(&mut self, records: &[Record], sync: bool) -> io::Result<()> {
        // A state written after a rewrite whose rename may not survive a power loss could be
        // lost with it: the folder fsync is retried first, and the append fails with it.
        self.sync_pending_dir()?;
        let mut frames = Vec::with_capacity(records.len());
        let mut buf = Vec::new();
        for r in records {
            let frame = encode_frame(r)?;
            buf.extend_from_slice(&frame);
            frames.push(frame);
        }
        let path = self.dir.join(FILE_NAME);
        let written = if buf.is_empty() {
            Ok(())
        } else {
            faults::check(Point::Write, &path).and_then(|()| self.file.write_all(&buf))
        };
        let synced = written.and_then(|()| {
            if sync && (self.unsynced || !buf.is_empty()) {
                faults::check(Point::Fsync, &path)?;
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = synced {
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += buf.len() as u64;
        self.unsynced = !sync && (self.unsynced || !buf.is_empty());
        for (r, frame) in records.iter().zip(frames) {
            self.apply_live(r, frame);
        }
        Ok(())
    }

    /// Rewrites the log if it is past the threshold and more than 4x its live size.
    pub fn maybe_compact(&mut self) -> io::Result<bool> {
        let live = self.live_bytes + MAGIC.len() as u64;
        if self.len < self.compaction_min_bytes || self.len <= 4 * live {
            return Ok(false);
        }
        self.rewrite()?;
        Ok(true)
    }

    /// Forgets every transactional id: the log is rewritten empty (as a compaction would, so
    /// a crash part way leaves either the old log or the empty one). On failure the old
    /// records stay live unless the empty log was already in place.
    pub fn clear(&mut self) -> io::Result<()> {
        let live = std::mem::take(&mut self.live);
        let live_bytes = std::mem::replace(&mut self.live_bytes, 0);
        if let Err(e) = self.rewrite() {
            if self.len != MAGIC.len() as u64 {
                self.live = live;
                self.live_bytes = live_bytes;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Replaces the log with a snapshot of its live records (temporary file, fsync, rename,
    /// fsync of the directory). Until that folder fsync succeeds, appends retry it first and
    /// fail with it.
    fn rewrite(&mut self) -> io::Result<()> {
        let tmp = self.dir.join(TMP_NAME);
        let path = self.dir.join(FILE_NAME);
        let file = crate::coordinator::write_snapshot(
            &tmp,
            &path,
            std::iter::once(&MAGIC[..]).chain(self.live.values().map(Vec::as_slice)),
        )?;
        let before = self.len;
        self.file = file;
        self.file.seek(SeekFrom::End(0))?;
        self.len = MAGIC.len() as u64 + self.live_bytes;
        self.unsynced = false;
        self.dir_sync_pending = true;
        self.sync_pending_dir()?;
        tracing::info!(before, after = self.len, "rewrote the transaction log");
        Ok(())
    }

    fn sync_pending_dir(&mut self) -> io::Result<()> {
        if self.dir_sync_pending {
            sync_dir(&self.dir)?;
            self.dir_sync_pending = false;
        }
        Ok(())
    }

    /// The size of the log file.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no live record.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    fn apply_live(&mut self, record: &Record, frame: Vec<u8>) {
        let id = record.id().to_string();
        if let Some(old) = self.live.remove(&id) {
            self.live_bytes -= old.len() as u64;
        }
        if let Record::Txn(_) = record {
            self.live_bytes += frame.len() as u64;
            self.live.insert(id, frame);
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    faults::check(Point::DirSync, dir)?;
    File::open(dir)?.sync_all()
}

/// Encodes one record as a frame (header and payload).
pub(super) fn encode_frame(record: &Record) -> io::Result<Vec<u8>> {
    let mut e = vec![0u8; FRAME_HEADER];
    match record {
        Record::Txn(m) => {
            e.push(KIND_TXN);
            put_str(&mut e, &m.transactional_id)?;
            e.extend_from_slice(&m.producer_id.to_be_bytes());
            e.extend_from_slice(&m.prev_producer_id.to_be_bytes());
            e.extend_from_slice(&m.next_producer_id.to_be_bytes());
            e.extend_from_slice(&m.producer_epoch.to_be_bytes());
            e.extend_from_slice(&m.last_producer_epoch.to_be_bytes());
            e.extend_from_slice(&m.timeout_ms.to_be_bytes());
            e.push(m.state.code());
            e.extend_from_slice(&m.txn_start_ms.to_be_bytes());
            e.extend_from_slice(&m.last_update_ms.to_be_bytes());
            e.push(if m.tv2 { FLAG_TV2 } else { 0 });
            put_len(&mut e, m.partitions.len())?;
            for p in &m.partitions {
                put_str(&mut e, &p.topic)?;
                e.extend_from_slice(&p.partition.to_be_bytes());
            }
            put_len(&mut e, m.groups.len())?;
            for g in &m.groups {
                put_str(&mut e, g)?;
            }
        }
        Record::Tombstone(id) => {
            e.push(KIND_TOMBSTONE);
            put_str(&mut e, id)?;
        }
    }
    let payload_len = e.len() - FRAME_HEADER;
    if payload_len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "transaction log record too large",
        ));
    }
    let crc = crc32c::crc32c(&e[FRAME_HEADER..]);
    e[0..4].copy_from_slice(&(payload_len as u32).to_be_bytes());
    e[4..8].copy_from_slice(&crc.to_be_bytes());
    Ok(e)
}

fn put_len(e: &mut Vec<u8>, n: usize) -> io::Result<()> {
    let n = u32::try_from(n)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many entries"))?;
    e.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn put_str(e: &mut Vec<u8>, s: &str) -> io::Result<()> {
    put_len(e, s.len())?;
    e.extend_from_slice(s.as_bytes());
    Ok(())
}

/// A whole frame whose checksum matches but whose payload does not decode.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Undecodable;

/// Reads one frame from the front of `data`: the record and the frame's length, `None` if the
/// frame is incomplete or fails its checksum (a torn write), or [`Undecodable`].
pub(super) fn read_frame(data: &[u8]) -> Result<Option<(Record, usize)>, Undecodable> {
    let Some(header) = data.get(..FRAME_HEADER) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_PAYLOAD {
        return Ok(None);
    }
    let Some(payload) = data.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Ok(None);
    };
    if crc32c::crc32c(payload) != crc {
        return Ok(None);
    }
    let record = decode_payload(payload).ok_or(Undecodable)?;
    Ok(Some((record, FRAME_HEADER + len)))
}

fn decode_payload(payload: &[u8]) -> Option<Record> {
    let mut d = Dec(payload);
    let record = match d.u8()? {
        KIND_TXN => {
            let transactional_id = d.str()?;
            let producer_id = d.i64()?;
            let prev_producer_id = d.i64()?;
            let next_producer_id = d.i64()?;
            let producer_epoch = d.i16()?;
            let last_producer_epoch = d.i16()?;
            let timeout_ms = d.i32()?;
            let state = TxnState::from_code(d.u8()?)?;
            let txn_start_ms = d.i64()?;
            let last_update_ms = d.i64()?;
            let tv2 = d.u8()? & FLAG_TV2 != 0;
            let mut partitions = BTreeSet::new();
            for _ in 0..d.u32()? {
                partitions.insert(TxnPartition::new(d.str()?, d.i32()?));
            }
            let mut groups = BTreeSet::new();
            for _ in 0..d.u32()? {
                groups.insert(d.str()?);
            }
            Record::Txn(TxnMetadata {
                transactional_id,
                producer_id,
                prev_producer_id,
                next_producer_id,
                producer_epoch,
                last_producer_epoch,
                timeout_ms,
                state,
                partitions,
                groups,
                txn_start_ms,
                last_update_ms,
                tv2,
            })
        }
        KIND_TOMBSTONE => Record::Tombstone(d.str()?),
        _ => return None,
    };
    d.0.is_empty().then_some(record)
}

struct Dec<'a>(&'a [u8]);

impl Dec<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take::<1>()?[0])
    }
    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take()?))
    }
    fn str(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }
}
