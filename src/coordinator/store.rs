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
//! 4 group tombstone   group str (drops the group's metadata, its offsets and its consumer-group
//!                     records)
//! 5 consumer group    group str, group_epoch i32, assignment_epoch i32, subscribed topic
//!                     count u32, then per topic: name str, id (16 bytes), partitions i32
//! 6 consumer member   group str, member_id str, instance_id opt, rack_id opt, client_id str,
//!                     client_host str, topic count u32 + topic str each, topic_regex opt,
//!                     server_assignor opt, rebalance_timeout_ms i32, member_epoch i32,
//!                     previous_epoch i32, state u8 (0 stable, 1 unrevoked partitions,
//!                     2 unreleased partitions), then three assignments (assigned, pending
//!                     revocation, target), each: topic count u32, per topic the topic id
//!                     (16 bytes), partition count u32, partition i32 each
//! 7 consumer member   group str, member_id str (the member left or was removed)
//!   tombstone
//! 8 consumer group    group str (the id became a classic group: drops kinds 5-7 of the group,
//!   tombstone         keeps its offsets)
//! ```
//!
//! Kinds 5-8 hold consumer groups of the KIP-848 protocol: a group with a kind 5 record is a
//! consumer group, whatever kind 3 record it also has.
//!
//! 9 batch             record count u32, then per record: payload length u32 and the payload
//!                     of one record of kinds 1-8, 10, 11 (what one append wrote: replay
//!                     applies all of it or, if the frame is torn, none)
//! 10 txn offset       group str, producer_id i64, topic str, partition i32, offset i64,
//!                     leader_epoch i32, commit_timestamp_ms i64, metadata str (committed in
//!                     the producer's open transaction: pending until it ends)
//! 11 txn offsets end  group str, producer_id i64, committed u8 (1 commit, 0 abort): the
//!                     producer's pending offsets go; a commit writes them as kind 1 records
//!                     in the same batch
//!
//! A later record for the same key (group; or group, topic, partition) replaces the earlier.
//! Every append is fsynced before the coordinator replies. Replay stops at the first frame
//! that is short, too long or fails its CRC: that torn tail (a crash during an append) is
//! truncated. A whole frame whose CRC matches but which does not decode (for a batch: any of
//! its records) is not a torn write: the log is not opened (and not changed), with an error
//! naming its position. When the file
//! grows past 4x the size of its live records, it is rewritten as a snapshot of the live
//! records (temporary file, fsync, rename, fsync of the directory), so it never grows without
//! bound.
//!
//! codec.rs encodes and decodes the frames. `Store` does blocking I/O; the coordinator drives
//! it from its own thread (writer.rs).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::codec::{encode_batch, encode_frame, read_frame};
use super::consumer::assignor::Assignment;
use super::consumer::member::ConsumerMember;
use super::offsets::CommittedOffset;
use super::record::{GroupMetadataRecord, LoadedConsumerGroup, LoadedGroup, Record};
use crate::log::faults::{self, Point};
use uuid::Uuid;

pub(super) const MAGIC: &[u8; 8] = b"WEIRGRP1";
pub(super) const FILE_NAME: &str = "groups.log";
pub(super) const TMP_NAME: &str = "groups.log.tmp";

/// The key a record replaces: a group id and what in the group.
type Key = (String, Sub);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Sub {
    Group,
    Offset(String, i32),
    Consumer,
    ConsumerMember(String),
    TxnOffset(i64, String, i32),
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
    /// A compaction renamed the log but the folder fsync that makes it durable failed.
    dir_sync_pending: bool,
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
            dir_sync_pending: false,
        };
        let mut images: BTreeMap<String, Image> = BTreeMap::new();
        let mut pos = MAGIC.len();
        while pos < data.len() {
            let Ok(next) = read_frame(&data[pos..]) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: the record at byte {pos} has a valid checksum but does not decode \
                         (written by a newer version?); not starting rather than dropping it and \
                         every commit after it",
                        path.display()
                    ),
                ));
            };
            let Some((records, frame_len)) = next else {
                break;
            };
            for (record, frame) in records {
                apply_image(&mut images, &record);
                store.apply_live(&record, frame);
            }
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
                        pending: img
                            .pending
                            .into_iter()
                            .map(|((pid, t, p), o)| (pid, t, p, o))
                            .collect(),
                        consumer: img.consumer.map(|c| LoadedConsumerGroup {
                            epoch: c.epoch,
                            assignment_epoch: c.assignment_epoch,
                            topics: c.topics,
                            members: c.members.into_values().collect(),
                        }),
                    },
                )
            })
            .collect();
        Ok((store, groups))
    }

    /// Appends `records` and fsyncs them. On failure nothing is kept (the file is cut back).
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        // A compaction's rename must be durable before anything written after it is confirmed.
        self.sync_pending_dir()?;
        let frames = records
            .iter()
            .map(encode_frame)
            .collect::<io::Result<Vec<_>>>()?;
        let buf = match frames.len() {
            0 => return Ok(()),
            1 => frames[0].clone(),
            _ => encode_batch(records)?,
        };
        let path = self.dir.join(FILE_NAME);
        let written = faults::check(Point::Write, &path)
            .and_then(|()| self.file.write_all(&buf))
            .and_then(|()| faults::check(Point::Fsync, &path))
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

    /// Rewrites the log as a snapshot of its live records: into a temporary file, fsynced, then
    /// renamed over the log. The handle the snapshot was written through becomes the log's, so
    /// from the rename on every append goes to the file the log's name points at; nothing is
    /// ever written to the replaced, unlinked file. Until the folder fsync after the rename
    /// succeeds, appends retry it first and fail with it.
    pub fn compact(&mut self) -> io::Result<()> {
        let before = self.len;
        let tmp = self.dir.join(TMP_NAME);
        let path = self.dir.join(FILE_NAME);
        // On failure the log is untouched and stays in use.
        let file = write_snapshot(
            &tmp,
            &path,
            std::iter::once(&MAGIC[..]).chain(self.live.values().map(Vec::as_slice)),
        )?;
        self.file = file;
        self.len = MAGIC.len() as u64 + self.live_bytes;
        self.dir_sync_pending = true;
        self.sync_pending_dir()?;
        info!(before, after = self.len, "compacted the group log");
        Ok(())
    }

    /// Drops every group and committed offset: the log is rewritten holding nothing, the way
    /// a compaction rewrites it (so a crash leaves either the old log or the empty one).
    pub fn clear(&mut self) -> io::Result<()> {
        let live = std::mem::take(&mut self.live);
        let live_bytes = std::mem::replace(&mut self.live_bytes, 0);
        if let Err(e) = self.compact() {
            // Before the rename the old log is still the log; after it, the empty one is.
            if self.len != MAGIC.len() as u64 {
                self.live = live;
                self.live_bytes = live_bytes;
            }
            return Err(e);
        }
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

    /// The size of the live records.
    #[cfg(test)]
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    fn apply_live(&mut self, record: &Record, frame: Vec<u8>) {
        let g = |id: &String| id.clone();
        match record {
            Record::Offset {
                group_id,
                topic,
                partition,
                ..
            } => self.put_live((g(group_id), Sub::Offset(topic.clone(), *partition)), frame),
            Record::OffsetTombstone {
                group_id,
                topic,
                partition,
            } => self.remove_live(&(g(group_id), Sub::Offset(topic.clone(), *partition))),
            Record::Group { group_id, .. } => self.put_live((g(group_id), Sub::Group), frame),
            Record::GroupTombstone { group_id } => self.remove_where(group_id, |_| true),
            Record::ConsumerGroup { group_id, .. } => {
                self.put_live((g(group_id), Sub::Consumer), frame)
            }
            Record::ConsumerMember {
                group_id, member, ..
            } => self.put_live(
                (g(group_id), Sub::ConsumerMember(member.member_id.clone())),
                frame,
            ),
            Record::ConsumerMemberTombstone {
                group_id,
                member_id,
            } => self.remove_live(&(g(group_id), Sub::ConsumerMember(member_id.clone()))),
            Record::TxnOffset {
                group_id,
                producer_id,
                topic,
                partition,
                ..
            } => self.put_live(
                (
                    g(group_id),
                    Sub::TxnOffset(*producer_id, topic.clone(), *partition),
                ),
                frame,
            ),
            Record::TxnOffsetsEnd {
                group_id,
                producer_id,
                ..
            } => self.remove_where(
                group_id,
                |sub| matches!(sub, Sub::TxnOffset(pid, _, _) if pid == producer_id),
            ),
            Record::ConsumerGroupTombstone { group_id } => self.remove_where(group_id, |sub| {
                matches!(sub, Sub::Consumer | Sub::ConsumerMember(_))
            }),
        }
    }

    /// Drops the live records of `group_id` whose key matches.
    fn remove_where(&mut self, group_id: &str, wanted: impl Fn(&Sub) -> bool) {
        let keys: Vec<Key> = self
            .live
            .range((group_id.to_string(), Sub::Group)..)
            .map(|(k, _)| k)
            .take_while(|(g, _)| g == group_id)
            .filter(|(_, sub)| wanted(sub))
            .cloned()
            .collect();
        for k in keys {
            self.remove_live(&k);
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

/// Writes `parts` into `tmp`, fsyncs it and renames it over `path`; returns the handle it was
/// written through, which from the rename on is the file `path` names (the caller fsyncs the
/// folder). On failure `tmp` is removed and `path` is untouched. Shared by the group and
/// transaction logs' snapshots.
pub(crate) fn write_snapshot<'a>(
    tmp: &Path,
    path: &Path,
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> io::Result<File> {
    let write = || -> io::Result<File> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        let mut out = io::BufWriter::new(file);
        faults::check(Point::Write, tmp)?;
        for part in parts {
            out.write_all(part)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        faults::check(Point::Fsync, tmp)?;
        file.sync_all()?;
        faults::check(Point::Rename, tmp)?;
        fs::rename(tmp, path)?;
        Ok(file)
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(tmp);
    })
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    faults::check(Point::DirSync, dir)?;
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
    pending: BTreeMap<(i64, String, i32), CommittedOffset>,
    consumer: Option<ConsumerImage>,
}

#[derive(Default)]
struct ConsumerImage {
    epoch: i32,
    assignment_epoch: i32,
    topics: Vec<(String, Uuid, i32)>,
    members: BTreeMap<String, (ConsumerMember, Assignment)>,
}

impl Image {
    fn is_empty(&self) -> bool {
        self.metadata.is_none()
            && self.offsets.is_empty()
            && self.pending.is_empty()
            && self.consumer.is_none()
    }
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
                if img.is_empty() {
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
        Record::ConsumerGroup {
            group_id,
            epoch,
            assignment_epoch,
            topics,
        } => {
            let c = images
                .entry(group_id.clone())
                .or_default()
                .consumer
                .get_or_insert_with(ConsumerImage::default);
            c.epoch = *epoch;
            c.assignment_epoch = *assignment_epoch;
            c.topics = topics.clone();
        }
        Record::ConsumerMember {
            group_id,
            member,
            target,
        } => {
            images
                .entry(group_id.clone())
                .or_default()
                .consumer
                .get_or_insert_with(ConsumerImage::default)
                .members
                .insert(
                    member.member_id.clone(),
                    ((**member).clone(), target.clone()),
                );
        }
        Record::ConsumerMemberTombstone {
            group_id,
            member_id,
        } => {
            if let Some(c) = images.get_mut(group_id).and_then(|i| i.consumer.as_mut()) {
                c.members.remove(member_id);
            }
        }
        Record::TxnOffset {
            group_id,
            producer_id,
            topic,
            partition,
            value,
        } => {
            images
                .entry(group_id.clone())
                .or_default()
                .pending
                .insert((*producer_id, topic.clone(), *partition), value.clone());
        }
        Record::TxnOffsetsEnd {
            group_id,
            producer_id,
            ..
        } => {
            if let Some(img) = images.get_mut(group_id) {
                img.pending.retain(|(pid, _, _), _| pid != producer_id);
                if img.is_empty() {
                    images.remove(group_id);
                }
            }
        }
        Record::ConsumerGroupTombstone { group_id } => {
            if let Some(img) = images.get_mut(group_id) {
                img.consumer = None;
                if img.is_empty() {
                    images.remove(group_id);
                }
            }
        }
    }
}
