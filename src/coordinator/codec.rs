//! Encoding of the group log's frames and records; the format is documented in store.rs.

use std::io;

use bytes::Bytes;

use uuid::Uuid;

use super::consumer::assignor::Assignment;
use super::consumer::member::{ConsumerMember, MemberState};
use super::offsets::CommittedOffset;
use super::record::{GroupMetadataRecord, MemberRecord, Record};

const FRAME_HEADER: usize = 8;
const MAX_PAYLOAD: usize = 64 << 20;
const NONE_LEN: u32 = u32::MAX;

const KIND_OFFSET: u8 = 1;
const KIND_OFFSET_TOMBSTONE: u8 = 2;
const KIND_GROUP: u8 = 3;
const KIND_GROUP_TOMBSTONE: u8 = 4;
const KIND_CONSUMER_GROUP: u8 = 5;
const KIND_CONSUMER_MEMBER: u8 = 6;
const KIND_CONSUMER_MEMBER_TOMBSTONE: u8 = 7;
const KIND_CONSUMER_GROUP_TOMBSTONE: u8 = 8;
const KIND_BATCH: u8 = 9;
const KIND_TXN_OFFSET: u8 = 10;
const KIND_TXN_OFFSETS_END: u8 = 11;

/// Encodes one record's payload (kind and fields).
fn encode_payload(record: &Record) -> io::Result<Vec<u8>> {
    let mut e = Enc(Vec::new());
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
        Record::ConsumerGroup {
            group_id,
            epoch,
            assignment_epoch,
            topics,
        } => {
            e.u8(KIND_CONSUMER_GROUP);
            e.str(group_id)?;
            e.i32(*epoch);
            e.i32(*assignment_epoch);
            e.len(topics.len())?;
            for (name, id, partitions) in topics {
                e.str(name)?;
                e.0.extend_from_slice(id.as_bytes());
                e.i32(*partitions);
            }
        }
        Record::ConsumerMember {
            group_id,
            member: m,
            target,
        } => {
            e.u8(KIND_CONSUMER_MEMBER);
            e.str(group_id)?;
            e.str(&m.member_id)?;
            e.opt(m.instance_id.as_deref())?;
            e.opt(m.rack_id.as_deref())?;
            e.str(&m.client_id)?;
            e.str(&m.client_host)?;
            e.len(m.subscribed_topic_names.len())?;
            for t in &m.subscribed_topic_names {
                e.str(t)?;
            }
            e.opt(m.subscribed_topic_regex.as_deref())?;
            e.opt(m.server_assignor.as_deref())?;
            e.i32(m.rebalance_timeout_ms);
            e.i32(m.epoch);
            e.i32(m.previous_epoch);
            e.u8(m.state.code());
            e.assignment(&m.assigned)?;
            e.assignment(&m.pending_revocation)?;
            e.assignment(target)?;
        }
        Record::ConsumerMemberTombstone {
            group_id,
            member_id,
        } => {
            e.u8(KIND_CONSUMER_MEMBER_TOMBSTONE);
            e.str(group_id)?;
            e.str(member_id)?;
        }
        Record::ConsumerGroupTombstone { group_id } => {
            e.u8(KIND_CONSUMER_GROUP_TOMBSTONE);
            e.str(group_id)?;
        }
        Record::TxnOffset {
            group_id,
            producer_id,
            topic,
            partition,
            value,
        } => {
            e.u8(KIND_TXN_OFFSET);
            e.str(group_id)?;
            e.i64(*producer_id);
            e.str(topic)?;
            e.i32(*partition);
            e.i64(value.offset);
            e.i32(value.leader_epoch);
            e.i64(value.commit_timestamp_ms);
            e.str(&value.metadata)?;
        }
        Record::TxnOffsetsEnd {
            group_id,
            producer_id,
            commit,
        } => {
            e.u8(KIND_TXN_OFFSETS_END);
            e.str(group_id)?;
            e.i64(*producer_id);
            e.u8(u8::from(*commit));
        }
    }
    Ok(e.0)
}

/// A record read back, with its own single-record frame (what compaction rewrites).
pub(super) type FramedRecord = (Record, Vec<u8>);

/// Encodes one record as a frame (header and payload).
pub(super) fn encode_frame(record: &Record) -> io::Result<Vec<u8>> {
    frame(encode_payload(record)?)
}

/// Encodes several records as one frame (kind 9), so that replay applies all or none of them.
pub(super) fn encode_batch(records: &[Record]) -> io::Result<Vec<u8>> {
    let mut e = Enc(vec![KIND_BATCH]);
    e.len(records.len())?;
    for r in records {
        e.bytes(&encode_payload(r)?)?;
    }
    frame(e.0)
}

fn frame(payload: Vec<u8>) -> io::Result<Vec<u8>> {
    if payload.len() > MAX_PAYLOAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "group log record too large",
        ));
    }
    let mut frame = Vec::with_capacity(FRAME_HEADER + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// A whole frame whose checksum matches but whose payload is not a record this version knows:
/// not a torn write, so it must not be cut off like one.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Undecodable;

/// The size of the frame [`encode_frame`] writes for an offset commit.
pub(super) fn offset_frame_len(group_id: &str, topic: &str, metadata: &str) -> usize {
    // kind, 3 strings (u32 length each), partition, offset, leader epoch, timestamp
    FRAME_HEADER + 1 + 3 * 4 + group_id.len() + topic.len() + metadata.len() + 4 + 8 + 4 + 8
}

/// Reads one frame from the front of `data`: its records (a batch holds several), each with
/// its own single-record frame, and the frame's length; `None` if the frame is incomplete or
/// fails its checksum (a torn write), or [`Undecodable`].
pub(super) fn read_frame(data: &[u8]) -> Result<Option<(Vec<FramedRecord>, usize)>, Undecodable> {
    let Some(header) = data.get(..FRAME_HEADER) else {
        return Ok(None);
    };
    let word = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&header[at..at + 4]);
        u32::from_be_bytes(b)
    };
    let (len, crc) = (word(0) as usize, word(4));
    if len > MAX_PAYLOAD {
        return Ok(None);
    }
    let Some(payload) = data.get(FRAME_HEADER..FRAME_HEADER + len) else {
        return Ok(None);
    };
    if crc32c::crc32c(payload) != crc {
        return Ok(None);
    }
    let records = if payload.first() == Some(&KIND_BATCH) {
        decode_batch(&payload[1..]).ok_or(Undecodable)?
    } else {
        let record = decode_payload(payload).ok_or(Undecodable)?;
        vec![(record, data[..FRAME_HEADER + len].to_vec())]
    };
    Ok(Some((records, FRAME_HEADER + len)))
}

/// The records of a batch frame's payload (after its kind), each given its own frame.
fn decode_batch(payload: &[u8]) -> Option<Vec<FramedRecord>> {
    let mut d = Dec(payload);
    let mut records = Vec::new();
    for _ in 0..d.u32()? {
        let len = d.u32()?;
        let inner = d.raw(len)?;
        records.push((decode_payload(inner)?, frame(inner.to_vec()).ok()?));
    }
    d.0.is_empty().then_some(records)
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
        KIND_CONSUMER_GROUP => {
            let (group_id, epoch, assignment_epoch) = (d.str()?, d.i32()?, d.i32()?);
            let mut topics = Vec::new();
            for _ in 0..d.u32()? {
                topics.push((d.str()?, Uuid::from_bytes(d.take()?), d.i32()?));
            }
            Record::ConsumerGroup {
                group_id,
                epoch,
                assignment_epoch,
                topics,
            }
        }
        KIND_CONSUMER_MEMBER => {
            let group_id = d.str()?;
            let mut m = ConsumerMember::new(d.str()?);
            m.instance_id = d.opt()?;
            m.rack_id = d.opt()?;
            m.client_id = d.str()?;
            m.client_host = d.str()?;
            for _ in 0..d.u32()? {
                m.subscribed_topic_names.insert(d.str()?);
            }
            m.subscribed_topic_regex = d.opt()?;
            m.server_assignor = d.opt()?;
            m.rebalance_timeout_ms = d.i32()?;
            m.epoch = d.i32()?;
            m.previous_epoch = d.i32()?;
            m.state = MemberState::from_code(d.u8()?)?;
            m.assigned = d.assignment()?;
            m.pending_revocation = d.assignment()?;
            Record::ConsumerMember {
                group_id,
                member: Box::new(m),
                target: d.assignment()?,
            }
        }
        KIND_CONSUMER_MEMBER_TOMBSTONE => Record::ConsumerMemberTombstone {
            group_id: d.str()?,
            member_id: d.str()?,
        },
        KIND_CONSUMER_GROUP_TOMBSTONE => Record::ConsumerGroupTombstone { group_id: d.str()? },
        KIND_TXN_OFFSET => Record::TxnOffset {
            group_id: d.str()?,
            producer_id: d.i64()?,
            topic: d.str()?,
            partition: d.i32()?,
            value: CommittedOffset {
                offset: d.i64()?,
                leader_epoch: d.i32()?,
                commit_timestamp_ms: d.i64()?,
                metadata: d.str()?,
            },
        },
        KIND_TXN_OFFSETS_END => Record::TxnOffsetsEnd {
            group_id: d.str()?,
            producer_id: d.i64()?,
            commit: match d.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        },
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
    fn assignment(&mut self, a: &Assignment) -> io::Result<()> {
        self.len(a.len())?;
        for (topic, parts) in a {
            self.0.extend_from_slice(topic.as_bytes());
            self.len(parts.len())?;
            for p in parts {
                self.i32(*p);
            }
        }
        Ok(())
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
    fn assignment(&mut self) -> Option<Assignment> {
        let mut a = Assignment::new();
        for _ in 0..self.u32()? {
            let topic = Uuid::from_bytes(self.take()?);
            let parts = a.entry(topic).or_default();
            for _ in 0..self.u32()? {
                parts.insert(self.i32()?);
            }
        }
        Some(a)
    }
    fn opt(&mut self) -> Option<Option<String>> {
        let len = self.u32()?;
        if len == NONE_LEN {
            return Some(None);
        }
        Some(Some(String::from_utf8(self.raw(len)?.to_vec()).ok()?))
    }
}
