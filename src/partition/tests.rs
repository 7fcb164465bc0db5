//! The partition's operations and the long-poll fetch, on temporary folders and a manual clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::fetch::{self, Limits, Wanted};
use super::{DeleteBefore, Isolation, OffsetQuery, Partition};
use crate::clock::{monotonic, Clock, ManualClock};
use crate::log::{LogConfig, LogError, Marker, Outcome, PartitionLog, TimestampLookup};

/// One batch of one record with `value_len` bytes of value, stamped `timestamp`.
fn batch(value_len: usize, timestamp: i64) -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp,
        key: None,
        value: Some(Bytes::from(vec![b'v'; value_len])),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, [&record], &options).unwrap();
    buf.freeze()
}

fn open(dir: &Path, config: LogConfig, clock: Clock) -> Arc<Partition> {
    let log = PartitionLog::open(dir.to_path_buf(), config).unwrap();
    Arc::new(Partition::new(0, log, clock))
}

fn wanted(partition: &Arc<Partition>, offset: i64) -> Wanted {
    Wanted {
        partition: partition.clone(),
        offset,
        max_bytes: 1 << 20,
    }
}

fn limits(min_bytes: usize, max_bytes: usize, max_wait: Duration) -> Limits {
    Limits {
        min_bytes,
        max_bytes,
        max_wait,
        isolation: Isolation::ReadUncommitted,
    }
}

#[test]
fn every_change_refreshes_the_cached_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), LogConfig::default(), Clock::system());
    for i in 0..3 {
        assert_eq!(p.append(batch(10, 1_000 + i)).unwrap().base_offset, i);
    }
    assert_eq!((p.log_start_offset(), p.high_watermark()), (0, 3));
    assert_eq!(p.delete_records(DeleteBefore::Offset(1)).unwrap(), 1);
    assert_eq!(p.log_start_offset(), 1);
    assert!(matches!(
        p.delete_records(DeleteBefore::Offset(4)),
        Err(LogError::InvalidOffset(_))
    ));
    assert_eq!(p.delete_records(DeleteBefore::HighWatermark).unwrap(), 3);
    let w = p.watermarks();
    assert_eq!((w.log_start, w.high, w.last_stable), (3, 3, 3));
    let at = |offset| {
        Some(TimestampLookup {
            offset,
            timestamp: -1,
        })
    };
    assert_eq!(
        p.offset_for(OffsetQuery::Earliest, Isolation::ReadUncommitted)
            .unwrap(),
        at(3)
    );
    assert_eq!(
        p.offset_for(OffsetQuery::Latest, Isolation::ReadUncommitted)
            .unwrap(),
        at(3)
    );
    assert_eq!(
        p.offset_for(OffsetQuery::Timestamp(0), Isolation::ReadUncommitted)
            .unwrap(),
        None
    );
}

#[test]
fn segment_age_retention_and_log_append_time_follow_the_partition_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_at(1_000_000);
    let config = LogConfig {
        segment_ms: 100,
        retention_ms: 1_000,
        timestamp_type: crate::log::TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let p = open(dir.path(), config, clock.clock());
    let first = p.append(batch(10, 5)).unwrap();
    assert_eq!(first.log_append_time_ms, 1_000_000);
    p.append(batch(10, 5)).unwrap();
    assert_eq!(p.segment_count(), 1, "the clock has not moved");

    clock.advance(Duration::from_millis(101));
    let third = p.append(batch(10, 5)).unwrap();
    assert_eq!(third.log_append_time_ms, 1_000_101);
    assert_eq!(p.segment_count(), 2, "rolled by age");

    clock.set(1_001_000);
    assert_eq!(p.apply_retention().unwrap(), 0, "exactly retention.ms old");
    clock.advance(Duration::from_millis(1));
    assert_eq!(p.apply_retention().unwrap(), 1);
    assert_eq!((p.log_start_offset(), p.high_watermark()), (2, 3));
}

#[tokio::test]
async fn a_fetch_at_the_log_end_returns_as_soon_as_a_record_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), LogConfig::default(), Clock::system());
    let watch = monotonic::Stopwatch::start();
    let waiting = tokio::spawn(fetch::fetch(
        vec![wanted(&p, 0)],
        limits(1, 1 << 20, Duration::from_secs(30)),
    ));
    let appender = p.clone();
    tokio::task::spawn_blocking(move || appender.append(batch(10, 1)).unwrap())
        .await
        .unwrap();
    let fetched = waiting.await.unwrap().unwrap();
    assert!(
        watch.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    assert_eq!(fetched[0].watermarks.high, 1);
    assert_eq!(fetched[0].records.as_ref().unwrap(), &batch_at(&p, 0));
}

/// The stored bytes of the one-record batch at `offset`.
fn batch_at(p: &Partition, offset: i64) -> Bytes {
    let (_, plan) = p.plan_read(offset, 1, Isolation::ReadUncommitted, true);
    plan.unwrap().read().unwrap()
}

#[tokio::test]
async fn short_of_min_bytes_a_fetch_waits_max_wait_then_returns_what_there_is() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), LogConfig::default(), Clock::system());
    p.append(batch(10, 1)).unwrap();
    let watch = monotonic::Stopwatch::start();
    let fetched = fetch::fetch(
        vec![wanted(&p, 0)],
        limits(1 << 20, 1 << 20, Duration::from_millis(50)),
    )
    .await
    .unwrap();
    assert!(watch.elapsed() >= Duration::from_millis(50));
    assert_eq!(fetched[0].records.as_ref().unwrap(), &batch_at(&p, 0));
}

#[tokio::test]
async fn an_error_answers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), LogConfig::default(), Clock::system());
    let watch = monotonic::Stopwatch::start();
    let fetched = fetch::fetch(
        vec![wanted(&p, 5)],
        limits(1, 1 << 20, Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert!(watch.elapsed() < Duration::from_secs(10));
    assert!(matches!(
        fetched[0].records,
        Err(LogError::OffsetOutOfRange { offset: 5, .. })
    ));
}

#[tokio::test]
async fn only_the_first_partition_with_data_may_exceed_the_response_budget() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    let empty = open(&a, LogConfig::default(), Clock::system());
    let big = open(&b, LogConfig::default(), Clock::system());
    let later = open(&c, LogConfig::default(), Clock::system());
    big.append(batch(1_000, 1)).unwrap();
    later.append(batch(10, 1)).unwrap();
    let fetched = fetch::fetch(
        vec![wanted(&empty, 0), wanted(&big, 0), wanted(&later, 0)],
        limits(1, 500, Duration::ZERO),
    )
    .await
    .unwrap();
    let sizes: Vec<usize> = fetched
        .iter()
        .map(|f| f.records.as_ref().unwrap().len())
        .collect();
    assert_eq!(sizes[0], 0);
    assert!(sizes[1] > 1_000, "returned whole: {sizes:?}");
    assert_eq!(sizes[2], 0, "no budget left: it waits for the next fetch");
    assert_eq!(fetched[2].watermarks.high, 1, "offsets are still reported");
}

#[tokio::test]
async fn a_failed_fsync_takes_the_partition_offline_and_answers_waiting_fetches() {
    use crate::log::faults::{self, Point, Rule};
    let dir = tempfile::tempdir().unwrap();
    let p = open(dir.path(), LogConfig::default(), Clock::system());
    p.append(batch(10, 1)).unwrap();
    let watch = monotonic::Stopwatch::start();
    let waiting = tokio::spawn(fetch::fetch(
        vec![wanted(&p, 1)],
        limits(1, 1 << 20, Duration::from_secs(30)),
    ));
    let committed = Limits {
        isolation: Isolation::ReadCommitted,
        ..limits(1, 1 << 20, Duration::from_secs(30))
    };
    let waiting_committed = tokio::spawn(fetch::fetch(vec![wanted(&p, 1)], committed));
    let fault = faults::arm(Rule::once(Point::Fsync, dir.path()));
    let flusher = p.clone();
    let flushed = tokio::task::spawn_blocking(move || flusher.flush())
        .await
        .unwrap();
    assert!(
        matches!(flushed, Err(LogError::SyncFailed { .. })),
        "{flushed:?}"
    );
    drop(fault);
    assert!(p.is_offline());

    let fetched = waiting.await.unwrap().unwrap();
    assert!(
        watch.elapsed() < Duration::from_secs(10),
        "woken, not timed out"
    );
    assert!(matches!(fetched[0].records, Err(LogError::Offline(_))));
    let fetched = waiting_committed.await.unwrap().unwrap();
    assert!(matches!(fetched[0].records, Err(LogError::Offline(_))));
    let marker = Marker {
        producer_id: 1,
        producer_epoch: 0,
        outcome: Outcome::Commit,
        coordinator_epoch: 0,
    };
    let refused = p.append_marker(&marker);
    assert!(
        refused.as_ref().is_err_and(LogError::is_storage),
        "{refused:?}"
    );
    assert!(matches!(
        p.offset_for(OffsetQuery::Latest, Isolation::ReadCommitted),
        Err(LogError::Offline(_))
    ));
    assert!(matches!(p.append(batch(10, 2)), Err(LogError::Offline(_))));
    assert!(matches!(p.flush(), Err(LogError::Offline(_))));
    assert!(matches!(
        p.offset_for(OffsetQuery::Latest, Isolation::ReadUncommitted),
        Err(LogError::Offline(_))
    ));
    assert_eq!(
        p.high_watermark(),
        1,
        "nothing changed after it went offline"
    );
}
