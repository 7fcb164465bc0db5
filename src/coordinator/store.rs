//! The group log: committed offsets and group membership on disk, replayed on start.
//!
//! One append-only file, `<dir>/groups.log`:
//!
//! ```text
//! header   8 bytes  "WEIRGRP1"
//! frame*   u32 BE   payload length N (at most 64 MiB)
//!          u32 BE   CRC-32C (Castagnoli) of the payload
//!          N bytes  payload
//! ```
//!
//! Payload: a `u8` kind, then its fields. Integers are big-endian; `str` is a `u32` length and
//! UTF-8; `opt` is a `str` whose length 0xFFFF_FFFF means none; `bytes` is a `u32` length and
//! the bytes.
//!
//! ```text
//! 1 offset commit     group str, topic str, partition i32, offset i64, leader_epoch i32,
//!                     commit_timestamp_ms i64, metadata str
//! 2 offset tombstone  group str, topic str, partition i32
//! 3 group metadata    group str, protocol_type opt, protocol_name opt, generation i32,
//!                     leader opt, state_timestamp_ms i64, member count u32, then per member:
//!                     member_id str, group_instance_id opt, client_id str, client_host str,
//!                     session_timeout_ms i64, rebalance_timeout_ms i64, protocol count u32,
//!                     (name str, metadata bytes) per protocol, assignment bytes
//! 4 group tombstone   group str (drops the group's metadata and all its offsets)
//! ```
//!
//! A later record for the same key (group; or group, topic, partition) replaces the earlier.
//! Every append is fsynced before the coordinator replies. Replay stops at the first frame
//! that is short, too long, fails its CRC or does not decode: that torn tail (a crash during
//! an append) is truncated. When the file grows past 4x the size of its live records, it is
//! rewritten as a snapshot of the live records (temporary file, fsync, rename, fsync of the
//! directory), so it never grows without bound.
//!
//! `Store` does blocking I/O; the coordinator drives it from its own thread (writer.rs).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tracing::{info, warn};

use super::offsets::CommittedOffset;
use super::record::{GroupMetadataRecord, LoadedGroup, MemberRecord, Record};

const MAGIC: &[u8; 8] = b"WEIRGRP1";
const FILE_NAME: &str = "groups.log";
const TMP_NAME: &str = "groups.log.tmp";
const FRAME_HEADER: usize = 8;
const MAX_PAYLOAD: usize = 64 << 20;
const NONE_LEN: u32 = u32::MAX;

const KIND_OFFSET: u8 = 1;
const KIND_OFFSET_TOMBSTONE: u8 = 2;
const KIND_GROUP: u8 = 3;
const KIND_GROUP_TOMBSTONE: u8 = 4;

/// The key a record replaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Group(String),
    Offset(String, String, i32),
}

/// The open group log.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    file: File,
    len: u64,
    /// The encoded frame of every live record.
    live: BTreeMap<Key, Vec<u8>>,
    live_bytes: u64,
    compaction_min_bytes: u64,
}

impl Store {
    /// Opens (or creates) the log in `dir`, replays it, truncates a torn tail and returns
    /// what every group holds.
    pub fn open(
        dir: &Path,
        compaction_min_bytes: u64,
    ) -> io::Result<(Store, BTreeMap<String, LoadedGroup>)> {
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

        if data.len() < MAGIC.len() {
            if !MAGIC.starts_with(&data) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is not a group log", path.display()),
                ));
            }
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(MAGIC)?;
            file.sync_all()?;
            sync_dir(dir)?;
            data = MAGIC.to_vec();
        } else if &data[..MAGIC.len()] != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a group log", path.display()),
            ));
        }

        let mut store = Store {
            dir: dir.to_path_buf(),
            file,
            len: 0,
            live: BTreeMap::new(),
            live_bytes: 0,
            compaction_min_bytes,
        };
        let mut images: BTreeMap<String, Image> = BTreeMap::new();
        let mut pos = MAGIC.len();
        while pos < data.len() {
            let Some((record, frame_len)) = read_frame(&data[pos..]) else {
                break;
            };
            let frame = data[pos..pos + frame_len].to_vec();
            apply_image(&mut images, &record);
            store.apply_live(&record, frame);
            pos += frame_len;
        }
        if pos < data.len() {
            warn!(
                path = %path.display(),
                valid = pos,
                dropped = data.len() - pos,
                "group log has a torn or corrupt tail; truncating it"
            );
            store.file.set_len(pos as u64)?;
            store.file.sync_all()?;
        }
        store.len = pos as u64;
        store.file.seek(SeekFrom::Start(store.len))?;

        let groups = images
            .into_iter()
            .map(|(g, img)| {
                let offsets = img
                    .offsets
                    .into_iter()
                    .map(|((t, p), o)| (t, p, o))
                    .collect();
                (
                    g,
                    LoadedGroup {
                        metadata: img.metadata,
                        offsets,
                    },
                )
            })
            .collect();
        Ok((store, groups))
    }

    /// Appends `records` and fsyncs them. On failure nothing is kept (the file is cut back).
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        let mut frames = Vec::with_capacity(records.len());
        let mut buf = Vec::new();
        for r in records {
            let frame = encode_frame(r)?;
            buf.extend_from_slice(&frame);
            frames.push(frame);
        }
        if buf.is_empty() {
            return Ok(());
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Do not leave a partial frame in front of later appends.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += buf.len() as u64;
        for (r, frame) in records.iter().zip(frames) {
            self.apply_live(r, frame);
        }
        Ok(())
    }

    /// Rewrites the log if it is more than 4x its live size (and large enough to bother).
    pub fn maybe_compact(&mut self) -> io::Result<bool> {
        let live = self.live_bytes + MAGIC.len() as u64;
        if self.len >= self.compaction_min_bytes && self.len > 4 * live {
            self.compact()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Rewrites the log as a snapshot of its live records.
    pub fn compact(&mut self) -> io::Result<()> {
        let before = self.len;
        let tmp = self.dir.join(TMP_NAME);
        let path = self.dir.join(FILE_NAME);
        {
            let mut out = io::BufWriter::new(File::create(&tmp)?);
            out.write_all(MAGIC)?;
            for frame in self.live.values() {
                out.write_all(frame)?;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)?;
        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        self.len = file.seek(SeekFrom::End(0))?;
        self.file = file;
        info!(before, after = self.len, "compacted the group log");
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

    /// The size of the live records.
    #[cfg(test)]
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    fn apply_live(&mut self, record: &Record, frame: Vec<u8>) {
        match record {
            Record::Offset {
                group_id,
                topic,
                partition,
                ..
            } => {
                self.put_live(
                    Key::Offset(group_id.clone(), topic.clone(), *partition),
                    frame,
                );
            }
            Record::OffsetTombstone {
                group_id,
                topic,
                partition,
            } => {
                self.remove_live(&Key::Offset(group_id.clone(), topic.clone(), *partition));
            }
            Record::Group { group_id, .. } => self.put_live(Key::Group(group_id.clone()), frame),
            Record::GroupTombstone { group_id } => {
                self.remove_live(&Key::Group(group_id.clone()));
                let start = Key::Offset(group_id.clone(), String::new(), i32::MIN);
                let keys: Vec<Key> = self
                    .live
                    .range(start..)
                    .map(|(k, _)| k)
                    .take_while(|k| matches!(k, Key::Offset(g, _, _) if g == group_id))
                    .cloned()
                    .collect();
                for k in keys {
                    self.remove_live(&k);
                }
            }
        }
    }

    fn put_live(&mut self, key: Key, frame: Vec<u8>) {
        self.live_bytes += frame.len() as u64;
        if let Some(old) = self.live.insert(key, frame) {
            self.live_bytes -= old.len() as u64;
        }
    }

    fn remove_live(&mut self, key: &Key) {
        if let Some(old) = self.live.remove(key) {
            self.live_bytes -= old.len() as u64;
        }
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// What replay knows about one group.
#[derive(Default)]
struct Image {
    metadata: Option<GroupMetadataRecord>,
    offsets: BTreeMap<(String, i32), CommittedOffset>,
}

fn apply_image(images: &mut BTreeMap<String, Image>, record: &Record) {
    match record {
        Record::Offset {
            group_id,
            topic,
            partition,
            value,
        } => {
            images
                .entry(group_id.clone())
                .or_default()
                .offsets
                .insert((topic.clone(), *partition), value.clone());
        }
        Record::OffsetTombstone {
            group_id,
            topic,
            partition,
        } => {
            if let Some(img) = images.get_mut(group_id) {
                img.offsets.remove(&(topic.clone(), *partition));
                if img.metadata.is_none() && img.offsets.is_empty() {
                    images.remove(group_id);
                }
            }
        }
        Record::Group { group_id, metadata } => {
            images.entry(group_id.clone()).or_default().metadata = Some(metadata.clone());
        }
        Record::GroupTombstone { group_id } => {
            images.remove(group_id);
        }
    }
}

// ----- encoding ----------------------------------------------------------------------------

/// Encodes one record as a frame (header and payload).
fn encode_frame(record: &Record) -> io::Result<Vec<u8>> {
    let mut e = Enc(vec![0; FRAME_HEADER]);
    match record {
        Record::Offset {
            group_id,
            topic,
            partition,
            value,
        } => {
            e.u8(KIND_OFFSET);
            e.str(group_id)?;
            e.str(topic)?;
            e.i32(*partition);
            e.i64(value.offset);
            e.i32(value.leader_epoch);
            e.i64(value.commit_timestamp_ms);
            e.str(&value.metadata)?;
        }
        Record::OffsetTombstone {
            group_id,
            topic,
            partition,
        } => {
            e.u8(KIND_OFFSET_TOMBSTONE);
            e.str(group_id)?;
            e.str(topic)?;
            e.i32(*partition);
        }
        Record::Group {
            group_id,
            metadata: m,
        } => {
            e.u8(KIND_GROUP);
            e.str(group_id)?;
            e.opt(m.protocol_type.as_deref())?;
            e.opt(m.protocol_name.as_deref())?;
            e.i32(m.generation_id);
            e.opt(m.leader.as_deref())?;
            e.i64(m.state_timestamp_ms);
            e.len(m.members.len())?;
            for mem in &m.members {
                e.str(&mem.member_id)?;
                e.opt(mem.group_instance_id.as_deref())?;
                e.str(&mem.client_id)?;
                e.str(&mem.client_host)?;
                e.i64(mem.session_timeout_ms);
                e.i64(mem.rebalance_timeout_ms);
                e.len(mem.protocols.len())?;
                for (name, meta) in &mem.protocols {
                    e.str(name)?;
                    e.bytes(meta)?;
                }
                e.bytes(&mem.assignment)?;
            }
        }
        Record::GroupTombstone { group_id } => {
            e.u8(KIND_GROUP_TOMBSTONE);
            e.str(group_id)?;
        }
    }
    let mut frame = e.0;
    let payload_len = frame.len() - FRAME_HEADER;
    if payload_len > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "group log record too large",
        ));
    }
    let crc = crc32c::crc32c(&frame[FRAME_HEADER..]);
    frame[0..4].copy_from_slice(&(payload_len as u32).to_be_bytes());
    frame[4..8].copy_from_slice(&crc.to_be_bytes());
    Ok(frame)
}

/// Reads one frame from the front of `data`: the record and the frame's length, or `None`
/// if it is incomplete or corrupt.
fn read_frame(data: &[u8]) -> Option<(Record, usize)> {
    let header = data.get(..FRAME_HEADER)?;
    let len = u32::from_be_bytes(header[0..4].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(header[4..8].try_into().ok()?);
    if len > MAX_PAYLOAD {
        return None;
    }
    let payload = data.get(FRAME_HEADER..FRAME_HEADER + len)?;
    if crc32c::crc32c(payload) != crc {
        return None;
    }
    let record = decode_payload(payload)?;
    Some((record, FRAME_HEADER + len))
}

fn decode_payload(payload: &[u8]) -> Option<Record> {
    let mut d = Dec(payload);
    let record = match d.u8()? {
        KIND_OFFSET => Record::Offset {
            group_id: d.str()?,
            topic: d.str()?,
            partition: d.i32()?,
            value: CommittedOffset {
                offset: d.i64()?,
                leader_epoch: d.i32()?,
                commit_timestamp_ms: d.i64()?,
                metadata: d.str()?,
            },
        },
        KIND_OFFSET_TOMBSTONE => Record::OffsetTombstone {
            group_id: d.str()?,
            topic: d.str()?,
            partition: d.i32()?,
        },
        KIND_GROUP => {
            let group_id = d.str()?;
            let mut m = GroupMetadataRecord {
                protocol_type: d.opt()?,
                protocol_name: d.opt()?,
                generation_id: d.i32()?,
                leader: d.opt()?,
                state_timestamp_ms: d.i64()?,
                members: Vec::new(),
            };
            let count = d.u32()?;
            for _ in 0..count {
                let mut mem = MemberRecord {
                    member_id: d.str()?,
                    group_instance_id: d.opt()?,
                    client_id: d.str()?,
                    client_host: d.str()?,
                    session_timeout_ms: d.i64()?,
                    rebalance_timeout_ms: d.i64()?,
                    ..MemberRecord::default()
                };
                let protocols = d.u32()?;
                for _ in 0..protocols {
                    mem.protocols.push((d.str()?, d.bytes()?));
                }
                mem.assignment = d.bytes()?;
                m.members.push(mem);
            }
            Record::Group {
                group_id,
                metadata: m,
            }
        }
        KIND_GROUP_TOMBSTONE => Record::GroupTombstone { group_id: d.str()? },
        _ => return None,
    };
    d.0.is_empty().then_some(record)
}

struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn len(&mut self, n: usize) -> io::Result<()> {
        match u32::try_from(n) {
            Ok(n) if n != NONE_LEN => {
                self.0.extend_from_slice(&n.to_be_bytes());
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "field too long for the group log",
            )),
        }
    }
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.len(b.len())?;
        self.0.extend_from_slice(b);
        Ok(())
    }
    fn str(&mut self, s: &str) -> io::Result<()> {
        self.bytes(s.as_bytes())
    }
    fn opt(&mut self, s: Option<&str>) -> io::Result<()> {
        match s {
            Some(s) => self.str(s),
            None => {
                self.0.extend_from_slice(&NONE_LEN.to_be_bytes());
                Ok(())
            }
        }
    }
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
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take()?))
    }
    fn raw(&mut self, len: u32) -> Option<&[u8]> {
        let len = len as usize;
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head)
    }
    fn bytes(&mut self) -> Option<Bytes> {
        let len = self.u32()?;
        Some(Bytes::copy_from_slice(self.raw(len)?))
    }
    fn str(&mut self) -> Option<String> {
        let len = self.u32()?;
        String::from_utf8(self.raw(len)?.to_vec()).ok()
    }
    fn opt(&mut self) -> Option<Option<String>> {
        let len = self.u32()?;
        if len == NONE_LEN {
            return Some(None);
        }
        Some(Some(String::from_utf8(self.raw(len)?.to_vec()).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(group: &str, topic: &str, partition: i32, off: i64) -> Record {
        Record::Offset {
            group_id: group.into(),
            topic: topic.into(),
            partition,
            value: CommittedOffset {
                offset: off,
                leader_epoch: 3,
                metadata: format!("meta-{off}"),
                commit_timestamp_ms: 1_000 + off,
            },
        }
    }

    fn group(group: &str, generation: i32) -> Record {
        Record::Group {
            group_id: group.into(),
            metadata: GroupMetadataRecord {
                protocol_type: Some("consumer".into()),
                protocol_name: Some("range".into()),
                generation_id: generation,
                leader: Some("m1".into()),
                state_timestamp_ms: 77,
                members: vec![
                    MemberRecord {
                        member_id: "m1".into(),
                        group_instance_id: Some("i1".into()),
                        client_id: "c".into(),
                        client_host: "/127.0.0.1".into(),
                        session_timeout_ms: 10_000,
                        rebalance_timeout_ms: 30_000,
                        protocols: vec![("range".into(), Bytes::from_static(b"\x00\x01sub"))],
                        assignment: Bytes::from_static(b"assign"),
                    },
                    MemberRecord {
                        member_id: "m2".into(),
                        protocols: vec![
                            ("range".into(), Bytes::new()),
                            ("sticky".into(), Bytes::from_static(b"x")),
                        ],
                        ..MemberRecord::default()
                    },
                ],
            },
        }
    }

    fn loaded_offset(
        groups: &BTreeMap<String, LoadedGroup>,
        g: &str,
        t: &str,
        p: i32,
    ) -> Option<i64> {
        groups
            .get(g)?
            .offsets
            .iter()
            .find(|(tt, pp, _)| tt == t && *pp == p)
            .map(|(_, _, o)| o.offset)
    }

    #[test]
    fn every_record_kind_round_trips() {
        for r in [
            offset("g", "t", 0, 5),
            Record::OffsetTombstone {
                group_id: "g".into(),
                topic: "t".into(),
                partition: 0,
            },
            group("g", 4),
            Record::GroupTombstone {
                group_id: "g".into(),
            },
            Record::Group {
                group_id: "".into(),
                metadata: GroupMetadataRecord::default(),
            },
        ] {
            let frame = encode_frame(&r).unwrap();
            let (back, len) = read_frame(&frame).unwrap();
            assert_eq!(back, r);
            assert_eq!(len, frame.len());
        }
    }

    #[test]
    fn replay_restores_latest_values_and_applies_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, groups) = Store::open(dir.path(), 0).unwrap();
            assert!(groups.is_empty());
            s.append(&[
                offset("g1", "t", 0, 1),
                offset("g1", "t", 1, 2),
                group("g1", 1),
            ])
            .unwrap();
            s.append(&[offset("g1", "t", 0, 10), group("g1", 2)])
                .unwrap();
            s.append(&[Record::OffsetTombstone {
                group_id: "g1".into(),
                topic: "t".into(),
                partition: 1,
            }])
            .unwrap();
            s.append(&[
                offset("g2", "u", 3, 7),
                group("g3", 1),
                offset("g3", "v", 0, 9),
            ])
            .unwrap();
            s.append(&[Record::GroupTombstone {
                group_id: "g3".into(),
            }])
            .unwrap();
        }
        let (_s, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(groups.len(), 2, "{groups:?}");
        assert_eq!(loaded_offset(&groups, "g1", "t", 0), Some(10));
        assert_eq!(loaded_offset(&groups, "g1", "t", 1), None);
        let g1 = &groups["g1"];
        assert_eq!(
            g1.metadata,
            match group("g1", 2) {
                Record::Group { metadata, .. } => Some(metadata),
                _ => None,
            }
        );
        assert_eq!(g1.offsets[0].2.metadata, "meta-10");
        assert_eq!(g1.offsets[0].2.leader_epoch, 3);
        assert_eq!(loaded_offset(&groups, "g2", "u", 3), Some(7));
        assert!(groups["g2"].metadata.is_none());
    }

    #[test]
    fn torn_tail_is_truncated_at_every_byte_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let (good_len, full) = {
            let (mut s, _) = Store::open(dir.path(), 0).unwrap();
            s.append(&[offset("g", "t", 0, 1), group("g", 1)]).unwrap();
            let good_len = s.len();
            s.append(&[group("g", 2)]).unwrap();
            (good_len, fs::read(&path).unwrap())
        };
        for cut in good_len as usize..full.len() {
            fs::write(&path, &full[..cut]).unwrap();
            let (mut s, groups) = Store::open(dir.path(), 0).unwrap();
            assert_eq!(s.len(), good_len, "cut at {cut}");
            assert_eq!(fs::metadata(&path).unwrap().len(), good_len, "cut at {cut}");
            let meta = groups["g"].metadata.as_ref().unwrap();
            assert_eq!(meta.generation_id, 1, "cut at {cut}");
            // The log keeps working after the truncation.
            s.append(&[offset("g", "t", 0, 2)]).unwrap();
            drop(s);
            let (_, groups) = Store::open(dir.path(), 0).unwrap();
            assert_eq!(loaded_offset(&groups, "g", "t", 0), Some(2), "cut at {cut}");
        }
        fs::write(&path, &full).unwrap();
        let (_, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(groups["g"].metadata.as_ref().unwrap().generation_id, 2);
    }

    #[test]
    fn corrupt_last_record_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        {
            let (mut s, _) = Store::open(dir.path(), 0).unwrap();
            s.append(&[offset("g", "t", 0, 1)]).unwrap();
            s.append(&[offset("g", "t", 0, 2)]).unwrap();
        }
        let mut data = fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        fs::write(&path, &data).unwrap();
        let (_, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(loaded_offset(&groups, "g", "t", 0), Some(1));
    }

    #[test]
    fn torn_header_is_rewritten_and_foreign_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, &MAGIC[..3]).unwrap();
        let (s, groups) = Store::open(dir.path(), 0).unwrap();
        assert!(groups.is_empty());
        assert_eq!(s.len(), MAGIC.len() as u64);
        drop(s);
        fs::write(&path, b"not a group log at all").unwrap();
        assert!(Store::open(dir.path(), 0).is_err());
    }

    #[test]
    fn compaction_keeps_live_state_and_shrinks_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        s.append(&[offset("dead", "t", 0, 1), group("dead", 1)])
            .unwrap();
        s.append(&[Record::GroupTombstone {
            group_id: "dead".into(),
        }])
        .unwrap();
        for i in 0..200 {
            s.append(&[offset("g", "t", i % 4, i as i64), group("g", i)])
                .unwrap();
            s.maybe_compact().unwrap();
        }
        assert!(
            s.len() <= 4 * (s.live_bytes() + MAGIC.len() as u64),
            "len {} live {}",
            s.len(),
            s.live_bytes()
        );
        s.compact().unwrap();
        assert_eq!(s.len(), s.live_bytes() + MAGIC.len() as u64);
        s.append(&[offset("g", "t", 9, 99)]).unwrap();
        drop(s);
        let (s, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups["g"].metadata.as_ref().unwrap().generation_id, 199);
        for p in 0..4 {
            let last = (0..200).filter(|i| i % 4 == p).max().unwrap();
            assert_eq!(loaded_offset(&groups, "g", "t", p), Some(last as i64));
        }
        assert_eq!(loaded_offset(&groups, "g", "t", 9), Some(99));
        assert!(!s.is_empty());
        assert!(!dir.path().join(TMP_NAME).exists());
    }

    #[test]
    fn small_logs_are_not_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path(), 1 << 20).unwrap();
        for i in 0..50 {
            s.append(&[offset("g", "t", 0, i)]).unwrap();
        }
        assert!(!s.maybe_compact().unwrap());
    }
}
