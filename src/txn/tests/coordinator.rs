//! The running coordinator over real partitions (a topic registry in a temporary folder), a
//! group stand-in that records what it is told, and a manual clock.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::clock::ManualClock;
use crate::log::faults::{self, Point, Rule};
use crate::log::{LogConfig, LogError};
use crate::metadata::{ProducerIds, TopicSpec, Topics};
use crate::partition::Partition;
use crate::txn::{
    BoxFuture, GroupOffsets, TopicPartitions, TxnConfig, TxnCoordinator, TxnError, TxnPartition,
    TxnState,
};

/// Records every settlement it is asked for.
#[derive(Default)]
struct Groups(Mutex<Vec<(String, i64, bool)>>);

impl GroupOffsets for Groups {
    fn complete(
        &self,
        group: &str,
        producer_id: i64,
        commit: bool,
    ) -> BoxFuture<Result<(), String>> {
        self.0
            .lock()
            .unwrap()
            .push((group.to_string(), producer_id, commit));
        Box::pin(async { Ok(()) })
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    clock: ManualClock,
    topics: Arc<Topics>,
    ids: Arc<ProducerIds>,
    groups: Arc<Groups>,
    cfg: TxnConfig,
}

impl Fixture {
    fn new(cfg: TxnConfig) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::starting_at(1_000_000);
        let topics = open_topics(dir.path(), &clock);
        topics
            .create(TopicSpec {
                name: "t".into(),
                partitions: 2,
                configs: BTreeMap::new(),
            })
            .unwrap();
        Fixture {
            ids: Arc::new(ProducerIds::open(dir.path()).unwrap()),
            topics,
            dir,
            clock,
            groups: Arc::default(),
            cfg,
        }
    }

    async fn start(&self) -> TxnCoordinator {
        TxnCoordinator::start(
            &self.dir.path().join("__transactions"),
            self.cfg.clone(),
            self.clock.clock(),
            Arc::new(TopicPartitions(self.topics.clone())),
            self.ids.clone(),
            self.groups.clone(),
        )
        .await
        .unwrap()
    }

    /// The partition logs reopened, as after a broker restart.
    fn reopen_topics(&mut self) {
        self.topics = open_topics(self.dir.path(), &self.clock);
    }

    fn partition(&self, p: i32) -> Arc<Partition> {
        self.topics.get("t").unwrap().partition(p).unwrap()
    }
}

fn open_topics(dir: &Path, clock: &ManualClock) -> Arc<Topics> {
    Arc::new(Topics::open(dir, LogConfig::default(), clock.clock()).unwrap())
}

fn cfg() -> TxnConfig {
    TxnConfig {
        abort_interval_ms: 1_000,
        remove_interval_ms: 1_000,
        ..TxnConfig::default()
    }
}

fn tp(p: i32) -> TxnPartition {
    TxnPartition::new("t", p)
}

fn set(p: &[i32]) -> BTreeSet<TxnPartition> {
    p.iter().map(|p| tp(*p)).collect()
}

/// A transactional batch of `count` records.
fn batch(pid: i64, epoch: i16, seq: i32, count: usize) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: true,
            control: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: seq + i as i32,
            timestamp: 1_000_000,
            key: None,
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

async fn state(c: &TxnCoordinator, id: &str) -> Option<TxnState> {
    c.describe(id).await.ok().map(|d| d.state)
}

/// Waits (real time, bounded) until the coordinator's task has moved `id` to `want`.
async fn wait_state(c: &TxnCoordinator, id: &str, want: Option<TxnState>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(c, id).await != want {
        assert!(Instant::now() < deadline, "{id} never reached {want:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn stable(p: &Partition) -> bool {
    p.last_stable_offset() == p.high_watermark()
}

#[tokio::test]
async fn a_commit_writes_a_marker_to_every_partition_of_the_transaction() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    let (pid, epoch) = c.init_producer_id("tx", 60_000, None).await.unwrap();
    assert!(matches!(
        f.partition(0).append(batch(pid, epoch, 0, 3)),
        Err(LogError::InvalidTxnState(_))
    ));
    assert!(matches!(
        c.produce_error("tx", pid, epoch, &tp(0)).await,
        TxnError::TransactionAbortable
    ));
    c.add_to_txn("tx", pid, epoch, set(&[0, 1]), BTreeSet::new(), false)
        .await
        .unwrap();
    f.partition(0).append(batch(pid, epoch, 0, 3)).unwrap();
    assert_eq!(f.partition(0).last_stable_offset(), 0);
    assert_eq!(state(&c, "tx").await, Some(TxnState::Ongoing));
    assert_eq!(
        c.end_txn("tx", pid, epoch, true, false).await.unwrap(),
        (pid, epoch)
    );
    assert_eq!(state(&c, "tx").await, Some(TxnState::CompleteCommit));
    for p in 0..2 {
        let part = f.partition(p);
        assert!(stable(&part), "partition {p}");
        assert!(part
            .producers()
            .iter()
            .all(|s| s.current_txn_start_offset < 0));
    }
    assert_eq!(f.partition(0).high_watermark(), 4, "3 records and a marker");
    assert_eq!(f.partition(1).high_watermark(), 1, "a marker alone");
    assert!(f.partition(0).aborted_transactions(0, 4).is_empty());
    assert_eq!(c.counters().committed(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn a_new_instance_fences_the_open_transaction_and_aborts_it() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    let (pid, e0) = c.init_producer_id("tx", 60_000, None).await.unwrap();
    c.add_to_txn("tx", pid, e0, set(&[0]), BTreeSet::new(), false)
        .await
        .unwrap();
    f.partition(0).append(batch(pid, e0, 0, 2)).unwrap();
    assert!(matches!(
        c.init_producer_id("tx", 60_000, None).await,
        Err(TxnError::ConcurrentTransactions)
    ));
    assert_eq!(state(&c, "tx").await, Some(TxnState::CompleteAbort));
    // Fenced at e0 + 1, aborted with transactions v2 (the broker's level) at e0 + 2, and the
    // retried init gets the next one.
    let (same, e) = c.init_producer_id("tx", 60_000, None).await.unwrap();
    assert_eq!((same, e), (pid, e0 + 3));
    let p = f.partition(0);
    assert!(stable(&p));
    assert_eq!(p.aborted_transactions(0, p.high_watermark()).len(), 1);
    // The zombie's writes and its commit are refused.
    assert!(matches!(
        p.append(batch(pid, e0, 2, 1)),
        Err(LogError::InvalidProducerEpoch(_))
    ));
    assert!(matches!(
        c.end_txn("tx", pid, e0, true, false).await,
        Err(TxnError::ProducerFenced(_))
    ));
    assert_eq!(c.counters().aborted(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn a_transaction_past_its_timeout_is_aborted_on_the_broker_clock() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    let (pid, epoch) = c.init_producer_id("slow", 5_000, None).await.unwrap();
    c.add_to_txn("slow", pid, epoch, set(&[1]), BTreeSet::new(), false)
        .await
        .unwrap();
    f.partition(1).append(batch(pid, epoch, 0, 4)).unwrap();
    f.clock.advance(Duration::from_millis(4_000));
    // Four timer ticks passed; none aborted a transaction still within its timeout.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(state(&c, "slow").await, Some(TxnState::Ongoing));
    f.clock.advance(Duration::from_millis(2_000));
    wait_state(&c, "slow", Some(TxnState::CompleteAbort)).await;
    let p = f.partition(1);
    assert!(stable(&p));
    assert_eq!(p.aborted_transactions(0, 5).len(), 1);
    assert!(matches!(
        c.end_txn("slow", pid, epoch, true, false).await,
        Err(TxnError::ProducerFenced(_))
    ));
    assert_eq!(c.counters().timed_out_count(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn open_transactions_and_markers_left_to_write_survive_a_restart() {
    let mut f = Fixture::new(cfg());
    let c = f.start().await;
    let (a, ea) = c.init_producer_id("a", 60_000, None).await.unwrap();
    let (b, eb) = c.init_producer_id("b", 60_000, None).await.unwrap();
    c.add_to_txn("a", a, ea, set(&[0]), BTreeSet::new(), false)
        .await
        .unwrap();
    c.add_to_txn("b", b, eb, set(&[1]), BTreeSet::new(), false)
        .await
        .unwrap();
    f.partition(0).append(batch(a, ea, 0, 1)).unwrap();
    f.partition(1).append(batch(b, eb, 0, 1)).unwrap();
    // b's commit is decided but its marker cannot be written.
    let guard = faults::arm(Rule {
        point: Point::Write,
        path: f.dir.path().join("t-1").to_string_lossy().into_owned(),
        skip: 0,
        every: 1,
        times: u64::MAX,
        stall: false,
    });
    c.end_txn("b", b, eb, true, false).await.unwrap();
    assert_eq!(state(&c, "b").await, Some(TxnState::PrepareCommit));
    assert!(!stable(&f.partition(1)));
    c.shutdown().await;
    drop(guard);

    f.reopen_topics();
    let c = f.start().await;
    assert_eq!(state(&c, "b").await, Some(TxnState::CompleteCommit));
    assert!(stable(&f.partition(1)), "the marker was written on start");
    assert_eq!(state(&c, "a").await, Some(TxnState::Ongoing));
    // a may write again: its partition was given back to it.
    f.partition(0).append(batch(a, ea, 1, 1)).unwrap();
    c.end_txn("a", a, ea, false, false).await.unwrap();
    let p = f.partition(0);
    assert!(stable(&p));
    assert_eq!(
        p.aborted_transactions(0, p.high_watermark())[0].first_offset,
        0
    );
    c.shutdown().await;
}

#[tokio::test]
async fn markers_that_failed_are_retried_by_the_timer() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    let (pid, epoch) = c.init_producer_id("tx", 60_000, None).await.unwrap();
    c.add_to_txn("tx", pid, epoch, set(&[0, 1]), BTreeSet::new(), false)
        .await
        .unwrap();
    let guard = faults::arm(Rule {
        point: Point::Write,
        path: f.dir.path().join("t-0").to_string_lossy().into_owned(),
        skip: 0,
        every: 1,
        times: u64::MAX,
        stall: false,
    });
    c.end_txn("tx", pid, epoch, false, false).await.unwrap();
    assert_eq!(state(&c, "tx").await, Some(TxnState::PrepareAbort));
    assert!(stable(&f.partition(1)));
    assert!(matches!(
        c.init_producer_id("tx", 60_000, None).await,
        Err(TxnError::ConcurrentTransactions)
    ));
    drop(guard);
    f.clock.advance(Duration::from_millis(1_000));
    wait_state(&c, "tx", Some(TxnState::CompleteAbort)).await;
    assert_eq!(f.partition(0).high_watermark(), 1);
    // t-1 got one marker, not two.
    assert_eq!(f.partition(1).high_watermark(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn a_transaction_no_transactional_id_owns_is_aborted_on_start() {
    let f = Fixture::new(cfg());
    let p = f.partition(0);
    p.verify_transaction(77, 3);
    p.append(batch(77, 3, 0, 2)).unwrap();
    assert!(!stable(&p));
    let c = f.start().await;
    assert!(stable(&p));
    assert_eq!(p.aborted_transactions(0, 3).len(), 1);
    c.shutdown().await;
}

#[tokio::test]
async fn idle_transactional_ids_expire() {
    let f = Fixture::new(TxnConfig {
        id_expiration_ms: 10_000,
        ..cfg()
    });
    let c = f.start().await;
    c.init_producer_id("old", 60_000, None).await.unwrap();
    let (pid, epoch) = c.init_producer_id("busy", 60_000, None).await.unwrap();
    c.add_to_txn("busy", pid, epoch, set(&[0]), BTreeSet::new(), false)
        .await
        .unwrap();
    f.clock.advance(Duration::from_millis(11_000));
    wait_state(&c, "old", None).await;
    assert!(matches!(
        c.describe("old").await,
        Err(TxnError::TransactionalIdNotFound)
    ));
    assert_eq!(
        state(&c, "busy").await,
        Some(TxnState::Ongoing),
        "an open transaction never expires (it times out)"
    );
    c.shutdown().await;
    let c = f.start().await;
    assert_eq!(state(&c, "old").await, None, "the expiry was persisted");
    let (new_pid, _) = c.init_producer_id("old", 60_000, None).await.unwrap();
    assert_ne!(new_pid, pid);
    c.shutdown().await;
}

#[tokio::test]
async fn offsets_are_settled_with_the_transaction() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    let (pid, epoch) = c.init_producer_id("tx", 60_000, None).await.unwrap();
    assert!(matches!(
        c.check_offsets("tx", pid, epoch, "g", false).await,
        Err(TxnError::TransactionAbortable)
    ));
    c.add_to_txn(
        "tx",
        pid,
        epoch,
        BTreeSet::new(),
        BTreeSet::from(["g".into()]),
        false,
    )
    .await
    .unwrap();
    c.check_offsets("tx", pid, epoch, "g", false).await.unwrap();
    c.end_txn("tx", pid, epoch, true, false).await.unwrap();
    // Transactions v2: the offset commit adds the group itself.
    let (pid, epoch) = c.init_producer_id("tx2", 60_000, None).await.unwrap();
    c.check_offsets("tx2", pid, epoch, "h", true).await.unwrap();
    let (_, bumped) = c.end_txn("tx2", pid, epoch, false, true).await.unwrap();
    assert_eq!(bumped, epoch + 1);
    let calls = f.groups.0.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![
            ("g".to_string(), pid - 1, true),
            ("h".to_string(), pid, false)
        ]
    );
    c.shutdown().await;
}

#[tokio::test]
async fn list_filters_and_bad_requests() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    assert!(matches!(
        c.init_producer_id("tx", 0, None).await,
        Err(TxnError::InvalidTransactionTimeout(0))
    ));
    assert!(matches!(
        c.init_producer_id("tx", 900_001, None).await,
        Err(TxnError::InvalidTransactionTimeout(_))
    ));
    assert!(matches!(
        c.init_producer_id("", 1_000, None).await,
        Err(TxnError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.end_txn("nobody", 1, 0, true, false).await,
        Err(TxnError::InvalidProducerIdMapping(1))
    ));
    let (pid, epoch) = c.init_producer_id("tx", 1_000, None).await.unwrap();
    c.init_producer_id("other", 1_000, None).await.unwrap();
    c.add_to_txn("tx", pid, epoch, set(&[0]), BTreeSet::new(), false)
        .await
        .unwrap();
    let ongoing = c.list(&crate::txn::ListFilter {
        states: vec![TxnState::Ongoing],
        ..Default::default()
    });
    assert_eq!(ongoing.len(), 1);
    assert_eq!(ongoing[0].transactional_id, "tx");
    let by_pattern = c.list(&crate::txn::ListFilter {
        pattern: Some(regex::Regex::new("^(?:oth.*)$").unwrap()),
        ..Default::default()
    });
    assert_eq!(by_pattern.len(), 1);
    assert_eq!(c.list(&Default::default()).len(), 2);
    c.shutdown().await;
    assert!(matches!(
        c.init_producer_id("tx", 1_000, None).await,
        Err(TxnError::CoordinatorNotAvailable)
    ));
}

#[tokio::test]
async fn reset_forgets_every_id_and_open_transaction_for_good() {
    let f = Fixture::new(cfg());
    let c = f.start().await;
    c.init_producer_id("idle", 60_000, None).await.unwrap();
    let (pid, epoch) = c.init_producer_id("open", 60_000, None).await.unwrap();
    c.add_to_txn("open", pid, epoch, set(&[0]), BTreeSet::new(), false)
        .await
        .unwrap();
    assert_eq!(c.reset().await.unwrap(), 2);
    assert!(c.list(&crate::txn::ListFilter::default()).is_empty());
    assert!(matches!(
        c.describe("open").await,
        Err(TxnError::TransactionalIdNotFound)
    ));
    // The old producer's requests find no transactional id, as on a new broker.
    assert!(matches!(
        c.end_txn("open", pid, epoch, true, false).await,
        Err(TxnError::InvalidProducerIdMapping(_))
    ));
    let (fresh, fresh_epoch) = c.init_producer_id("open", 60_000, None).await.unwrap();
    assert_ne!(fresh, pid);
    assert_eq!(fresh_epoch, 0);
    c.shutdown().await;
    let c = f.start().await;
    assert_eq!(state(&c, "idle").await, None, "the reset was persisted");
    assert_eq!(state(&c, "open").await, Some(TxnState::Empty));
    c.shutdown().await;
}
