//! Consumer-group records in the group log: every kind round-trips, replay rebuilds the group
//! (latest member records, tombstones, kept offsets), a torn tail is cut at every byte, a whole
//! batch with a record that does not decode stops the open, and a failed compaction loses no
//! batch written after it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use uuid::Uuid;

use crate::coordinator::codec::{encode_batch, encode_frame, read_frame};
use crate::coordinator::consumer::assignor::Assignment;
use crate::coordinator::consumer::member::{ConsumerMember, MemberState};
use crate::coordinator::offsets::CommittedOffset;
use crate::coordinator::record::{LoadedGroup, Record};
use crate::coordinator::store::{Store, FILE_NAME};

fn parts(list: &[(u128, &[i32])]) -> Assignment {
    list.iter()
        .map(|(t, ps)| {
            (
                Uuid::from_u128(*t),
                ps.iter().copied().collect::<BTreeSet<_>>(),
            )
        })
        .collect()
}

fn epochs(group: &str, epoch: i32) -> Record {
    Record::ConsumerGroup {
        group_id: group.into(),
        epoch,
        assignment_epoch: epoch,
        topics: vec![("t".into(), Uuid::from_u128(1), 6)],
    }
}

fn member(group: &str, id: &str, epoch: i32) -> Record {
    let mut m = ConsumerMember::new(id.into());
    m.instance_id = Some(format!("i-{id}"));
    m.rack_id = Some("r1".into());
    m.client_id = "c".into();
    m.client_host = "/127.0.0.1".into();
    m.subscribed_topic_names = ["t".to_string(), "u".to_string()].into();
    m.subscribed_topic_regex = Some("orders-.*".into());
    m.server_assignor = Some("range".into());
    m.rebalance_timeout_ms = 30_000;
    m.epoch = epoch;
    m.previous_epoch = epoch - 1;
    m.state = MemberState::UnrevokedPartitions;
    m.assigned = parts(&[(1, &[0, 1])]);
    m.pending_revocation = parts(&[(1, &[2]), (2, &[0])]);
    Record::ConsumerMember {
        group_id: group.into(),
        member: Box::new(m),
        target: parts(&[(1, &[0, 1, 5])]),
    }
}

fn commit(group: &str, partition: i32, offset: i64) -> Record {
    Record::Offset {
        group_id: group.into(),
        topic: "t".into(),
        partition,
        value: CommittedOffset {
            offset,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp_ms: 5,
        },
    }
}

fn consumer_epoch(groups: &BTreeMap<String, LoadedGroup>, g: &str) -> Option<i32> {
    groups.get(g)?.consumer.as_ref().map(|c| c.epoch)
}

#[test]
fn every_consumer_record_kind_round_trips() {
    for r in [
        epochs("g", 7),
        member("g", "m1", 7),
        Record::ConsumerMember {
            group_id: "g".into(),
            member: Box::new(ConsumerMember::new(String::new())),
            target: Assignment::new(),
        },
        Record::ConsumerMemberTombstone {
            group_id: "g".into(),
            member_id: "m1".into(),
        },
        Record::ConsumerGroupTombstone {
            group_id: "g".into(),
        },
    ] {
        let frame = encode_frame(&r).unwrap();
        let (back, len) = read_frame(&frame).unwrap().unwrap();
        assert_eq!(back, vec![(r, frame.clone())]);
        assert_eq!(len, frame.len());
    }
}

#[test]
fn replay_rebuilds_consumer_groups_and_keeps_offsets_across_kind_changes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        s.append(&[epochs("g", 1), member("g", "m1", 1), member("g", "m2", 1)])
            .unwrap();
        s.append(&[commit("g", 0, 4), epochs("g", 2), member("g", "m1", 2)])
            .unwrap();
        s.append(&[Record::ConsumerMemberTombstone {
            group_id: "g".into(),
            member_id: "m2".into(),
        }])
        .unwrap();
        // h stops being a consumer group; its offsets stay.
        s.append(&[epochs("h", 1), commit("h", 1, 9)]).unwrap();
        s.append(&[Record::ConsumerGroupTombstone {
            group_id: "h".into(),
        }])
        .unwrap();
        // k is deleted altogether.
        s.append(&[epochs("k", 3), member("k", "x", 3), commit("k", 0, 1)])
            .unwrap();
        s.append(&[Record::GroupTombstone {
            group_id: "k".into(),
        }])
        .unwrap();
    }
    let (mut s, groups) = Store::open(dir.path(), 0).unwrap();
    let g = groups["g"].consumer.as_ref().unwrap();
    assert_eq!((g.epoch, g.assignment_epoch), (2, 2));
    assert_eq!(g.topics, vec![("t".to_string(), Uuid::from_u128(1), 6)]);
    assert_eq!(g.members.len(), 1);
    let (m, target) = &g.members[0];
    assert_eq!((m.member_id.as_str(), m.epoch), ("m1", 2));
    assert_eq!(target, &parts(&[(1, &[0, 1, 5])]));
    assert_eq!(groups["g"].offsets[0].2.offset, 4);
    assert!(groups["h"].consumer.is_none());
    assert_eq!(groups["h"].offsets[0].2.offset, 9);
    assert!(!groups.contains_key("k"));
    // Compaction keeps exactly the same state.
    s.compact().unwrap();
    drop(s);
    let (_, again) = Store::open(dir.path(), 0).unwrap();
    assert_eq!(again, groups);
}

#[test]
fn torn_consumer_records_are_truncated_at_every_byte_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let (good_len, full) = {
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        s.append(&[epochs("g", 1), member("g", "m1", 1)]).unwrap();
        let good_len = s.len();
        s.append(&[epochs("g", 2), member("g", "m1", 2)]).unwrap();
        (good_len, fs::read(&path).unwrap())
    };
    for cut in good_len as usize..full.len() {
        fs::write(&path, &full[..cut]).unwrap();
        let (mut s, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(s.len(), good_len, "cut at {cut}");
        // One append is all or nothing: the epochs and the member stay at 1 together.
        let c = groups["g"].consumer.as_ref().unwrap();
        assert_eq!((c.epoch, c.members[0].0.epoch), (1, 1), "cut at {cut}");
        s.append(&[member("g", "m1", 3)]).unwrap();
        drop(s);
        let (_, groups) = Store::open(dir.path(), 0).unwrap();
        assert_eq!(consumer_epoch(&groups, "g"), Some(1), "cut at {cut}");
        assert_eq!(
            groups["g"].consumer.as_ref().unwrap().members[0].0.epoch,
            3,
            "cut at {cut}"
        );
    }
}

#[test]
fn a_batch_with_a_valid_crc_and_a_record_that_does_not_decode_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        s.append(&[epochs("g", 1), member("g", "m1", 1)]).unwrap();
    }
    // A batch (kind 9), CRC right, holding a known record and one of a kind this version does
    // not know, followed by a batch that must not be thrown away with it.
    let known = encode_frame(&commit("g", 0, 3)).unwrap();
    let unknown = [99u8, 0, 0, 0, 0];
    let mut payload = vec![9u8];
    payload.extend_from_slice(&2u32.to_be_bytes());
    for inner in [&known[8..], &unknown[..]] {
        payload.extend_from_slice(&(inner.len() as u32).to_be_bytes());
        payload.extend_from_slice(inner);
    }
    let mut data = fs::read(&path).unwrap();
    data.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    data.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    data.extend_from_slice(&payload);
    data.extend_from_slice(&encode_batch(&[epochs("g", 2), member("g", "m1", 2)]).unwrap());
    fs::write(&path, &data).unwrap();
    let err = Store::open(dir.path(), 0).expect_err("an undecodable batch must stop the open");
    assert!(err.to_string().contains("does not decode"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), data, "the log was changed");
}

#[test]
fn a_failed_compaction_never_leaves_later_batches_in_an_unlinked_file() {
    use crate::log::faults::{self, Point, Rule};
    for point in [Point::Write, Point::Fsync, Point::Rename, Point::DirSync] {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path(), 0).unwrap();
        for epoch in 1..=20 {
            s.append(&[epochs("g", epoch), member("g", "m1", epoch)])
                .unwrap();
        }
        {
            let _fail = faults::arm(Rule::once(point, dir.path()));
            assert!(s.compact().is_err(), "{point:?}");
        }
        s.append(&[epochs("g", 30), member("g", "m1", 30), commit("g", 0, 7)])
            .unwrap();
        drop(s);
        let (_, groups) = Store::open(dir.path(), 0).unwrap();
        let c = groups["g"].consumer.as_ref().unwrap();
        assert_eq!(
            (
                c.epoch,
                c.members[0].0.epoch,
                groups["g"].offsets[0].2.offset
            ),
            (30, 30, 7),
            "batch after a compaction that failed at {point:?}"
        );
    }
}
