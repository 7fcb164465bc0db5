#![allow(dead_code)]

//! The fuzz targets as plain functions, shared by the cargo-fuzz binaries in `fuzz_targets/`
//! and by `protocol-tests/reliability/fuzz_regressions.rs`, which replays every saved crasher
//! and runs a bounded seeded mutation campaign with plain `cargo test`.
//!
//! Each function takes arbitrary bytes and must return without panicking; where weir accepts
//! the input, it also checks a property (what `append` accepted survives a reopen, and so on).

use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};
use kafka_protocol::messages::{ApiKey, RequestKind};
use kafka_protocol::records::RecordBatchDecoder;
use weir::log::{BatchHeader, LogConfig, PartitionLog, HEADER_SIZE};
use weir::protocol::versions::SUPPORTED;

/// Every (api key, version) pair the broker serves.
pub fn served_pairs() -> Vec<(ApiKey, i16)> {
    SUPPORTED
        .iter()
        .flat_map(|&(api, min, max)| (min..=max).map(move |v| (api, v)))
        .collect()
}

/// Frame + header decoding: the bytes after the length prefix, as the connection hands them over.
pub fn decode_frame(data: &[u8]) {
    let _ = weir::protocol::decode(Bytes::copy_from_slice(data));
}

/// Every request body: the first two bytes choose a served (api, version), the rest is the body,
/// decoded directly and through the frame decoder behind a valid header.
pub fn request_body(data: &[u8]) {
    let pairs = served_pairs();
    let Some((choice, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let (api, version) = pairs[usize::from(u16::from_be_bytes(*choice)) % pairs.len()];
    let mut bytes = Bytes::copy_from_slice(body);
    let _ = RequestKind::decode(api, &mut bytes, version);

    let mut frame = Vec::with_capacity(body.len() + 16);
    frame.extend_from_slice(&(api as i16).to_be_bytes());
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    if api.request_header_version(version) >= 2 {
        frame.push(0); // no tagged fields
    }
    frame.extend_from_slice(body);
    let _ = weir::protocol::decode(Bytes::from(frame));
}

/// The SASL exchange of one connection on a SASL listener, through the connection's gate:
/// the input is a sequence of frames, each a one-byte length and its bytes (raw tokens after a
/// v0 handshake, requests otherwise). No input may authenticate with PLAIN or SCRAM: the only
/// user's password is not in the input's reach (it is random per process). OAUTHBEARER's
/// unsecured tokens authenticate anyone by design, so its validator is fed every frame on the
/// side, for panics only.
pub fn sasl_exchange(data: &[u8]) {
    use std::sync::OnceLock;
    use weir::protocol::{decode, Decoded, ResponseBuffer};
    use weir::server::sasl::{Admit, Gate, Outcome, SaslSettings};

    struct Fixture {
        runtime: tokio::runtime::Runtime,
        settings: std::sync::Arc<SaslSettings>,
        _dir: tempfile::TempDir,
    }
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    let fixture = FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = weir::security::Credentials::open(dir.path()).expect("store");
        let password: String = weir::security::scram::random_bytes(16)
            .expect("random")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let changes = weir::security::Scram::BOTH
            .into_iter()
            .map(|mech| weir::security::credentials::Change::Upsert {
                user: "alice".into(),
                mech,
                credential: weir::security::scram::Credential::new(mech, &password, 4096)
                    .expect("credential"),
            })
            .collect();
        store.apply(changes).expect("store alice");
        let mut security = weir::config::ListenerSecurity::default();
        security.sasl_mechanisms = vec![
            weir::security::Mechanism::Plain,
            weir::security::Mechanism::ScramSha256,
            weir::security::Mechanism::ScramSha512,
        ];
        let settings =
            SaslSettings::new(&security, std::sync::Arc::new(store), 1000).expect("settings");
        Fixture {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            settings: std::sync::Arc::new(settings),
            _dir: dir,
        }
    });
    let mut gate = Gate::new(Some(fixture.settings.clone()), weir::clock::Clock::system());
    let mut out = ResponseBuffer::default();
    let mut rest = data;
    fixture.runtime.block_on(async {
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len).min(tail.len());
            let (frame, next) = tail.split_at(len);
            rest = next;
            let _ = weir::security::oauthbearer::Validator::default().validate(frame, 0);
            let outcome = if gate.wants_raw_token() {
                gate.raw_token(Bytes::copy_from_slice(frame), &mut out)
                    .await
            } else {
                let Ok(Decoded::Request(request)) = decode(Bytes::copy_from_slice(frame)) else {
                    return;
                };
                match gate.admit(&request) {
                    Admit::Gate => match gate.handle(*request, &mut out).await {
                        Ok(outcome) => outcome,
                        Err(_) => return,
                    },
                    Admit::Handler => Outcome::Continue,
                    Admit::Refuse(_) => return,
                }
            };
            match outcome {
                Outcome::Authenticated(p) => panic!("authenticated as {p} without the password"),
                Outcome::Failed(_) | Outcome::Close(_) => return,
                Outcome::Continue => {}
            }
        }
    });
}

/// Small segments and a dense index, so a few appends already roll and index.
pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 128,
        ..LogConfig::default()
    }
}

/// CRC-32C (Castagnoli), bitwise: inputs are small.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

const BATCH_LENGTH_AT: usize = 8;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;

/// Walks `buf` batch by batch (by each batchLength) and rewrites every whole batch's CRC, so
/// the fuzzer gets past the checksum to what lies behind it.
pub fn fix_crcs(buf: &mut [u8]) {
    let mut pos = 0usize;
    while pos + HEADER_SIZE <= buf.len() {
        let len = i32::from_be_bytes(
            buf[pos + BATCH_LENGTH_AT..pos + BATCH_LENGTH_AT + 4]
                .try_into()
                .unwrap_or_default(),
        );
        let Ok(len) = usize::try_from(len) else {
            return;
        };
        let end = pos.saturating_add(12).saturating_add(len);
        if len < HEADER_SIZE - 12 || end > buf.len() {
            return;
        }
        let crc = crc32c(&buf[pos + ATTRIBUTES_AT..end]);
        buf[pos + CRC_AT..pos + CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        pos = end;
    }
}

/// Base offsets of the segment files in `dir`.
fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut bases: Vec<i64> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".log")?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    bases.sort_unstable();
    bases
}

/// Reads the whole log batch by batch, checks every offset is found through the index, and
/// runs the timestamp lookups. Panics on an inconsistency.
///
/// Recovery keeps the segments after a damaged one (a valid batch is never dropped), so the
/// offsets may have a gap there (found by this target), and offsets may jump between the
/// batches of one segment, as a cleaned log's do. A read inside a gap returns the first
/// batch after it, as Kafka does, or nothing when nothing follows; both are accepted, a read
/// that returns nothing outside a gap or a batch that does not reach the offset are not.
pub fn read_everything(log: &PartitionLog) {
    let (start, end) = (log.log_start_offset(), log.log_end_offset());
    assert!(start <= end, "log start {start} past log end {end}");
    let bases = segment_bases(log.dir());
    let mut next = start;
    let mut timestamps = Vec::new();
    let mut gaps: Vec<std::ops::Range<i64>> = Vec::new();
    while next < end {
        let bytes = log
            .read(next, 1 << 20)
            .unwrap_or_else(|e| panic!("read at {next} of [{start}, {end}): {e}"));
        if let Ok(h) = BatchHeader::parse(&bytes) {
            if h.base_offset > next {
                gaps.push(next..h.base_offset);
            }
        }
        if bytes.is_empty() {
            let following = bases.iter().copied().find(|&b| b > next);
            let to = following.unwrap_or(end);
            assert!(
                following.is_some() || bases.last().is_some_and(|&b| b >= next),
                "nothing read at {next} < {end}, and no later segment"
            );
            gaps.push(next..to);
            next = to;
            continue;
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let h = BatchHeader::parse(&bytes[pos..]).expect("stored batch header");
            assert!(h.last_offset() >= next, "batch {h:?} before offset {next}");
            // Offsets may jump between batches of one segment too (compacted logs have gaps).
            if h.base_offset > next {
                gaps.push(next..h.base_offset);
            }
            timestamps.push(h.max_timestamp);
            next = h.next_offset();
            pos += h.size();
        }
    }
    assert_eq!(next, end, "batches end at {next}, log end {end}");
    // Every offset through the index (bounded, the inputs are small).
    for offset in start..end.min(start + 2048) {
        let in_gap = gaps.iter().any(|g| g.contains(&offset));
        let bytes = log
            .read(offset, 1)
            .unwrap_or_else(|e| panic!("read at {offset}: {e}"));
        if in_gap && bytes.is_empty() {
            continue;
        }
        let h = BatchHeader::parse(&bytes).expect("batch at offset");
        assert!(
            (h.base_offset <= offset || in_gap) && offset <= h.last_offset(),
            "offset {offset} read as batch {}..={}",
            h.base_offset,
            h.last_offset()
        );
    }
    for ts in timestamps
        .iter()
        .take(16)
        .copied()
        .chain([i64::MIN, -1, 0, i64::MAX])
    {
        let _ = log.lookup_timestamp(ts);
    }
    let _ = log.max_timestamp();
}

fn open(dir: &Path) -> PartitionLog {
    PartitionLog::open(dir.to_path_buf(), small_config()).expect("open a log folder")
}

/// Produce validation + append: byte 0 holds flags (bit 0: fix CRCs; bits 1-3: how many
/// appends the rest is split into). Whatever `append` accepted must read back, and must
/// survive closing and reopening the folder unchanged.
pub fn produce_append(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = open(dir.path());
    let parts = 1 + usize::from((flags >> 1) & 7);
    let chunk = rest.len().div_ceil(parts).max(1);
    let mut accepted = 0;
    for (i, part) in rest.chunks(chunk).enumerate() {
        let mut records = part.to_vec();
        if flags & 1 != 0 {
            fix_crcs(&mut records);
        }
        let before = log.log_end_offset();
        match log.append(Bytes::from(records), 1_700_000_000_000 + i as i64) {
            Ok(outcome) => {
                accepted += 1;
                if !outcome.duplicate {
                    assert_eq!(outcome.base_offset, before, "appended at another offset");
                    assert_eq!(outcome.last_offset + 1, log.log_end_offset());
                }
            }
            Err(_) => assert_eq!(
                log.log_end_offset(),
                before,
                "a refused append moved the end"
            ),
        }
    }
    read_everything(&log);
    let end = log.log_end_offset();
    let size = log.size_bytes();
    drop(log);
    let log = open(dir.path());
    assert_eq!(
        log.log_end_offset(),
        end,
        "reopen after {accepted} appends changed the end"
    );
    assert_eq!(log.size_bytes(), size, "reopen changed the stored bytes");
    read_everything(&log);
}

/// Log recovery: byte 0 holds flags (bit 0: fix CRCs; bit 1: also write an index; bit 2: a
/// time index; bit 3: split into two segments), the rest is segment content. Whatever opens
/// must read back consistently, take a new append, and reopen to the same end.
pub fn log_recovery(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut content = rest.to_vec();
    if flags & 1 != 0 {
        fix_crcs(&mut content);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.path().join(name), bytes).expect("write test file");
    };
    let (first, second) = if flags & 8 != 0 {
        content.split_at(content.len() / 2)
    } else {
        (&content[..], &[][..])
    };
    write("00000000000000000000.log", first);
    if flags & 2 != 0 {
        write("00000000000000000000.index", &first[..first.len().min(64)]);
    }
    if flags & 4 != 0 {
        write("00000000000000000000.timeindex", &first[first.len() / 2..]);
    }
    if flags & 8 != 0 {
        // The second half as a later segment, named after where the first would end if intact.
        let base = first
            .get(..HEADER_SIZE)
            .and_then(|h| BatchHeader::parse(h).ok())
            .map_or(1, |h| h.next_offset().clamp(1, i64::from(u32::MAX)));
        write(&format!("{base:020}.log"), second);
    }
    let Ok(mut log) = PartitionLog::open(dir.path().to_path_buf(), small_config()) else {
        return;
    };
    read_everything(&log);
    let end = log.log_end_offset();
    let mut batch = valid_batch();
    fix_crcs(&mut batch);
    let appended = log.append(Bytes::from(batch), 1_700_000_000_000).is_ok();
    let end = if appended { log.log_end_offset() } else { end };
    drop(log);
    let log = open(dir.path());
    assert_eq!(
        log.log_end_offset(),
        end,
        "reopen after recovery changed the end"
    );
    read_everything(&log);
}

/// One uncompressed batch of one record (key "k", value "v"), CRC left for `fix_crcs`.
pub fn valid_batch() -> Vec<u8> {
    let record: &[u8] = &[
        0x10, // length 8 (zigzag)
        0x00, // attributes
        0x00, // timestamp delta 0
        0x00, // offset delta 0
        0x02, b'k', // key length 1
        0x02, b'v', // value length 1
        0x00, // headers 0
    ];
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    let len = (HEADER_SIZE - 12 + record.len()) as i32;
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&0u32.to_be_bytes()); // crc
    b.extend_from_slice(&0i16.to_be_bytes()); // attributes
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&1i32.to_be_bytes()); // record count
    b.extend_from_slice(record);
    b
}

/// The records section of `batch` (a whole batch) compressed with `codec` (1 gzip, 2 snappy,
/// 3 lz4, 4 zstd), with the header's codec bits and length set to match; other codecs and
/// batches too short for a header are returned as they are.
pub fn recompress(batch: &[u8], codec: u8) -> Vec<u8> {
    if batch.len() < HEADER_SIZE || !(1..=4).contains(&codec) {
        return batch.to_vec();
    }
    let (header, records) = batch.split_at(HEADER_SIZE);
    let mut out = BytesMut::new();
    let fill = |tmp: &mut BytesMut| {
        tmp.extend_from_slice(records);
        Ok(())
    };
    let done = match codec {
        1 => Gzip::compress(&mut out, fill),
        2 => Snappy::compress(&mut out, fill),
        3 => Lz4::compress(&mut out, fill),
        _ => Zstd::compress(&mut out, fill),
    };
    if done.is_err() {
        return batch.to_vec();
    }
    let mut whole = header.to_vec();
    whole.extend_from_slice(&out);
    let len = (whole.len() - 12) as i32;
    whole[BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4].copy_from_slice(&len.to_be_bytes());
    let attributes = (i16::from_be_bytes([whole[ATTRIBUTES_AT], whole[ATTRIBUTES_AT + 1]]) & !7)
        | i16::from(codec);
    whole[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    whole
}

/// Produce validation, checked the way a consumer sees the result: byte 0 holds flags (bit 0:
/// fix CRCs; bits 1-3: compress the records section with that codec first, so mutations of
/// plain records reach the compressed path), the rest is one produce partition's records.
/// For every append the log accepts, every record of the stored batch must decode with a
/// consumer's decoder, at the offsets the append reported, one per offset, and the stored
/// maxTimestamp must be the largest record timestamp.
pub fn produce_records(data: &[u8]) {
    produce_records_accepted(data);
}

/// [`produce_records`], telling whether the log accepted the batch (seeds must be).
pub fn produce_records_accepted(data: &[u8]) -> bool {
    let Some((&flags, rest)) = data.split_first() else {
        return false;
    };
    let mut records = recompress(rest, (flags >> 1) & 7);
    if flags & 1 != 0 {
        fix_crcs(&mut records);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = open(dir.path());
    let Ok(appended) = log.append(Bytes::from(records), 1_700_000_000_000) else {
        assert_eq!(log.log_end_offset(), 0, "a refused append moved the end");
        return false;
    };
    let stored = log
        .read(appended.base_offset, usize::MAX)
        .expect("read an accepted batch");
    let header = BatchHeader::parse(&stored).expect("stored batch header");
    let mut buf = stored.clone();
    let decoded = match RecordBatchDecoder::decode_all(&mut buf) {
        Ok(sets) => sets,
        // Header keys are strings; Kafka's own consumer reads invalid UTF-8 in them with
        // replacement characters, only this decoder refuses it.
        Err(e) if e.to_string().contains("utf-8") => return true,
        Err(e) => panic!("a consumer cannot decode an accepted batch: {e:#}"),
    };
    let records: Vec<_> = decoded.iter().flat_map(|set| set.records.iter()).collect();
    let expected = appended.last_offset - appended.base_offset + 1;
    assert_eq!(records.len() as i64, expected, "records vs offsets taken");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.offset, appended.base_offset + i as i64, "record {i}");
    }
    let max = records.iter().map(|r| r.timestamp).max();
    assert_eq!(
        Some(header.max_timestamp),
        max,
        "stored maxTimestamp is not the records' largest"
    );
    true
}
