//! The group log (store.rs, codec.rs): encoding, replay, torn tails and compaction.

use std::collections::BTreeMap;
use std::fs;

use bytes::Bytes;

use crate::coordinator::codec::{encode_frame, read_frame};
use crate::coordinator::offsets::CommittedOffset;
use crate::coordinator::record::{GroupMetadataRecord, LoadedGroup, MemberRecord, Record};
use crate::coordinator::store::{Store, FILE_NAME, MAGIC, TMP_NAME};

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

fn loaded_offset(groups: &BTreeMap<String, LoadedGroup>, g: &str, t: &str, p: i32) -> Option<i64> {
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
        Record::TxnOffset {
            group_id: "g".into(),
            producer_id: 9,
            topic: "t".into(),
            partition: 2,
            value: CommittedOffset {
                offset: 7,
                leader_epoch: 1,
                metadata: "m".into(),
                commit_timestamp_ms: 5,
            },
        },
        Record::TxnOffsetsEnd {
            group_id: "g".into(),
            producer_id: 9,
            commit: true,
        },
    ] {
        let frame = encode_frame(&r).unwrap();
        let (back, len) = read_frame(&frame).unwrap().unwrap();
        assert_eq!(back, vec![(r, frame.clone())]);
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

#[test]
fn a_failed_compaction_never_leaves_later_commits_in_an_unlinked_file() {
    use crate::log::faults::{self, Point, Rule};
    for point in [Point::Write, Point::Fsync, Point::Rename, Point::DirSync] {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        for i in 0..20 {
            s.append(&[offset("g", "t", 0, i)]).unwrap();
        }
        {
            let _fail = faults::arm(Rule::once(point, dir.path()));
            assert!(s.compact().is_err(), "{point:?}");
        }
        s.append(&[offset("g", "t", 0, 100)]).unwrap();
        drop(s);
        let (_, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(
            loaded_offset(&groups, "g", "t", 0),
            Some(100),
            "commit after a compaction that failed at {point:?}"
        );
    }
}

#[test]
fn commits_are_refused_while_a_compacted_log_cannot_be_made_durable() {
    use crate::log::faults::{self, Point, Rule};
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Store::open(dir.path(), 0).unwrap();
    for i in 0..20 {
        s.append(&[offset("g", "t", 0, i)]).unwrap();
    }
    let fail = faults::arm(Rule::always(Point::DirSync, dir.path()));
    assert!(s.compact().is_err());
    // The rename is not durable yet: acknowledging a commit written after it could lose it.
    assert!(s.append(&[offset("g", "t", 0, 50)]).is_err());
    drop(fail);
    s.append(&[offset("g", "t", 0, 60)]).unwrap();
    drop(s);
    let (_, groups) = Store::open(dir.path(), 0).unwrap();
    assert_eq!(loaded_offset(&groups, "g", "t", 0), Some(60));
}

#[test]
fn a_frame_with_a_valid_crc_that_does_not_decode_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        s.append(&[offset("g", "t", 0, 1)]).unwrap();
    }
    // A whole frame, CRC right, whose payload is a record kind this version does not know,
    // followed by a commit that must not be thrown away with it.
    let payload = [99u8, 0, 0, 0, 0];
    let mut data = fs::read(&path).unwrap();
    data.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    data.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    data.extend_from_slice(&payload);
    data.extend_from_slice(&encode_frame(&offset("g", "t", 0, 2)).unwrap());
    fs::write(&path, &data).unwrap();
    let err = Store::open(dir.path(), 0).expect_err("an undecodable frame must stop the open");
    assert!(err.to_string().contains("does not decode"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), data, "the log was changed");
}

#[test]
fn pending_transactional_offsets_replay_until_their_transaction_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pending = |pid: i64, partition: i32, offset: i64| Record::TxnOffset {
        group_id: "g".into(),
        producer_id: pid,
        topic: "t".into(),
        partition,
        value: CommittedOffset {
            offset,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 1,
        },
    };
    let end = |pid: i64, commit: bool| Record::TxnOffsetsEnd {
        group_id: "g".into(),
        producer_id: pid,
        commit,
    };
    {
        let (mut store, _) = Store::open(dir.path(), 1).unwrap();
        store
            .append(&[pending(1, 0, 10), pending(2, 1, 20)])
            .unwrap();
        store.append(&[pending(3, 2, 30)]).unwrap();
        // 1 commits (its offset written as a committed one with the end), 3 aborts.
        store
            .append(&[offset("g", "t", 0, 10), end(1, true)])
            .unwrap();
        store.append(&[end(3, false)]).unwrap();
        store.compact().unwrap();
    }
    let (_, groups) = Store::open(dir.path(), 1).unwrap();
    let g = &groups["g"];
    assert_eq!(loaded_offset(&groups, "g", "t", 0), Some(10));
    let left: Vec<(i64, i32, i64)> = g
        .pending
        .iter()
        .map(|(pid, _, p, o)| (*pid, *p, o.offset))
        .collect();
    assert_eq!(left, vec![(2, 1, 20)]);
}

#[test]
fn clearing_the_log_forgets_every_group_durably_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = Store::open(dir.path(), 0).unwrap();
    store
        .append(&[
            group("g", 1),
            offset("g", "t", 0, 5),
            offset("h", "t", 1, 9),
        ])
        .unwrap();
    store.clear().unwrap();
    assert!(store.is_empty());
    assert_eq!(store.len(), MAGIC.len() as u64);
    assert!(!dir.path().join(TMP_NAME).exists());
    store.append(&[offset("h", "t", 1, 10)]).unwrap();
    drop(store);
    let (_, groups) = Store::open(dir.path(), 0).unwrap();
    assert_eq!(groups.keys().collect::<Vec<_>>(), vec!["h"]);
    assert_eq!(loaded_offset(&groups, "h", "t", 1), Some(10));
}
