//! Disk trouble: the data folder on a 2 MiB tmpfs, filled up. A produce that cannot be written
//! answers KAFKA_STORAGE_ERROR (56) for that partition, nothing half-written stays behind, the
//! log reads back whole, and produce works again (at the next offset) once space is freed,
//! also after a restart. Needs `mount -t tmpfs`, so the test runs as root (as CI does); without
//! it the test fails and says why.

use std::path::{Path, PathBuf};
use std::process::Command;

use kafka_protocol::messages::ProduceRequest;

use crate::support::raw::*;

const KAFKA_STORAGE_ERROR: i16 = 56;

/// A small tmpfs, unmounted on drop.
struct SmallDisk {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { _dir: dir, path })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes a filler file until the file system refuses; returns its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("create filler");
    let chunk = vec![0xaau8; 4096];
    while file.write_all(&chunk).is_ok() {}
    // The last partial page too.
    while file.write_all(&[0xaa]).is_ok() {}
    path
}

async fn start(data: &Path) -> weir::BrokerHandle {
    weir::Broker::builder()
        .listen("127.0.0.1:0")
        .data_dir(data)
        .set("log.flush.interval.messages", "1")
        .start()
        .await
        .expect("broker starts")
}

#[tokio::test(flavor = "multi_thread")]
async fn full_disk_answers_storage_error_and_produce_resumes_after_space_is_freed() {
    let disk = SmallDisk::mount("2m")
        .expect("cannot mount a 2 MiB tmpfs: this test needs root (`mount -t tmpfs`)");
    let data = disk.path.join("data");
    let broker = start(&data).await;
    let mut client = RawClient::connect(broker.addr()).await;
    client.create_topic("disk", 2, &[]).await;
    let version = client.version::<ProduceRequest>(9);
    let ok = client
        .produce(version, "disk", vec![(0, valid_batch(10, 100).freeze())])
        .await;
    assert_eq!((ok[0].1, ok[0].2), (code::NONE, 0), "{ok:?}");
    let (_, _, before) = client.fetch("disk", 0, 0).await;

    let filler = fill(&disk.path);
    for attempt in 0..3 {
        let results = client
            .produce(
                version,
                "disk",
                vec![
                    (0, valid_batch(50, 1000).freeze()),
                    (1, valid_batch(50, 1000).freeze()),
                ],
            )
            .await;
        assert_eq!(results.len(), 2);
        for (partition, error, _) in &results {
            assert_eq!(
                *error, KAFKA_STORAGE_ERROR,
                "attempt {attempt}: partition {partition} on a full disk: {results:?}"
            );
        }
    }
    // Nothing half-written is visible; what was stored reads back the same.
    assert_eq!(client.latest_offset("disk", 0).await, 10);
    assert_eq!(client.latest_offset("disk", 1).await, 0);
    let (error, high_watermark, records) = client.fetch("disk", 0, 0).await;
    assert_eq!((error, high_watermark), (code::NONE, 10));
    assert_eq!(records, before, "stored data changed on a full disk");
    // Other requests are still answered.
    assert_broker_serves(broker.addr()).await;

    std::fs::remove_file(&filler).expect("free space");
    let results = client
        .produce(
            version,
            "disk",
            vec![
                (0, valid_batch(5, 100).freeze()),
                (1, valid_batch(5, 100).freeze()),
            ],
        )
        .await;
    assert_eq!(
        results.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        vec![(code::NONE, 10), (code::NONE, 0)],
        "produce after space was freed: {results:?}"
    );

    // A restart finds the same, consistent log.
    drop(client);
    broker.shutdown().await;
    let broker = start(&data).await;
    let mut client = RawClient::connect(broker.addr()).await;
    assert_eq!(client.latest_offset("disk", 0).await, 15);
    assert_eq!(client.latest_offset("disk", 1).await, 5);
    let (error, high_watermark, records) = client.fetch("disk", 0, 0).await;
    assert_eq!((error, high_watermark), (code::NONE, 15));
    assert_eq!(batch_attributes(&records).len(), 2, "two whole batches");
    broker.shutdown().await;
    drop(disk);
    println!("full disk: KAFKA_STORAGE_ERROR on both partitions, log intact, produce resumed");
}
