//! An rdkafka-rs consumer-group member for the compatibility suite, run as its own process so
//! the suite can kill it hard (rdkafka's `Drop` always leaves the group gracefully).
//!
//! Usage: `rdkafka_member BOOTSTRAP GROUP TOPIC`. Prints `ASSIGNED p,p,...` after each
//! rebalance, `REC topic partition offset timestamp key value headers` for each record it has
//! committed, and `CLOSED` after a SIGTERM-initiated clean leave.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

struct Printer;

impl ClientContext for Printer {}

impl ConsumerContext for Printer {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let line = match rebalance {
            Rebalance::Assign(tpl) => {
                let mut ps: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                ps.sort_unstable();
                let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                if ps.is_empty() {
                    "-".to_string()
                } else {
                    ps.join(",")
                }
            }
            Rebalance::Revoke(_) => "-".to_string(),
            Rebalance::Error(e) => {
                eprintln!("rebalance error: {e}");
                return;
            }
        };
        println!("ASSIGNED {line}");
    }
}

fn text(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned())
}

fn print_record<M: Message>(m: &M) {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| format!("{}={}", h.key, text(h.value).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".to_string());
    println!(
        "REC {} {} {} {} {} {} {}",
        m.topic(),
        m.partition(),
        m.offset(),
        m.timestamp().to_millis().unwrap_or(-1),
        text(m.key()).as_deref().unwrap_or("-"),
        text(m.payload()).unwrap_or_default(),
        headers
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, group, topic] = &args[..] else {
        eprintln!("usage: rdkafka_member BOOTSTRAP GROUP TOPIC");
        std::process::exit(2);
    };
    let (bootstrap, group, topic) = (bootstrap.as_str(), group.as_str(), topic.as_str());
    // SAFETY: installs a handler that only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let consumer: BaseConsumer<Printer> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "3000")
        .set("heartbeat.interval.ms", "500")
        .set("max.poll.interval.ms", "20000")
        .create_with_context(Printer)
        .expect("create consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    while !STOP.load(Ordering::SeqCst) {
        let m = match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(e)) => {
                eprintln!("poll: {e}");
                continue;
            }
            Some(Ok(m)) => m,
        };
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(m.topic(), m.partition(), Offset::Offset(m.offset() + 1))
            .expect("offset");
        if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
            eprintln!("commit failed, not processed: {e}");
            continue;
        }
        print_record(&m);
    }
    consumer.unsubscribe();
    drop(consumer);
    println!("CLOSED");
}
