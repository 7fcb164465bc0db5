//! weir: a broker that speaks the Apache Kafka wire protocol.
//!
//! The path of a request, left to right (dependencies point the same way):
//!
//! ```text
//! TCP ─► server/     accept loop per listener, TLS handshake, SASL gate, connection limit,
//!                    framing, graceful shutdown
//!     ─► protocol/   decode header + body, encode responses, the supported-versions table
//!     ─► handler/    one file per API key; wire types in, domain calls, wire types out
//!     ─► metadata/   topics and their partitions, cluster id, producer ids
//!     ─► partition/  partitions in service: each log behind its lock, kept consistent by
//!                    its own operations; the long-poll fetch
//!     ─► log/        per-partition segment files, indexes, recovery, retention, idempotence
//!     ─► coordinator/ consumer groups and committed offsets
//!     ─► txn/        the transaction coordinator (a sibling of the group coordinator)
//! ```
//!
//! Beside the request path: `clock` is the one time source (every timestamp and Kafka timer
//! reads the broker clock, which may be a manual one; real-time waits go through it too);
//! `config/` holds the settings table every broker setting is declared
//! in once (loading, DescribeConfigs, broker AlterConfigs and `config/weir.toml` read it),
//! `metrics/` what is counted, and `admin/` the admin HTTP listener that serves metrics and
//! health checks. `security/` holds principals, TLS configs, the SASL mechanisms and the SCRAM
//! credential store that `server/` authenticates against. [`control`] is the test-control
//! plane (off unless `control.enable`): fault rules applied at one hook between decode and
//! handler, broker down/up, the manual clock's driver, request capture and reset, served to
//! embedding programs and on the admin listener. [`client`] is a small Kafka client (the one
//! the `weir` command-line tools in [`cli`] and the protocol tests use).
//!
//! Embedding in tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir::Error> {
//! let dir = std::env::temp_dir().join("weir-doc");
//! let broker = weir::Broker::builder()
//!     .listen("127.0.0.1:0")
//!     .data_dir(&dir)
//!     .set("num.partitions", "3")
//!     .start()
//!     .await?;
//! println!("bootstrap.servers={}", broker.addr());
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! A test that controls time gives the broker a [`clock::ManualClock`]: the broker's clock then
//! stands still until the test advances it (see [`clock`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir::Error> {
//! let clock = weir::clock::ManualClock::new();
//! let broker = weir::Broker::builder()
//!     .listen("127.0.0.1:0")
//!     .ephemeral()
//!     .clock(clock.clock())
//!     .start()
//!     .await?;
//! clock.advance(std::time::Duration::from_secs(60));
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! For a test that needs no particular data location, `ephemeral()` gives the broker a private
//! temporary folder that `shutdown()` (or dropping the handle) removes. The log stays
//! file-backed (served from the page cache); it is not an in-memory store. With
//! `.set("admin.listen", "127.0.0.1:0")` the broker also serves its admin HTTP endpoints
//! ([`admin`]): Prometheus metrics at `http://{admin_addr}/metrics` (see [`metrics`]) and health
//! checks at `/health/live` and `/health/ready`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir::Error> {
//! let broker = weir::Broker::builder()
//!     .listen("127.0.0.1:0")
//!     .ephemeral()
//!     .set("admin.listen", "127.0.0.1:0")
//!     .start()
//!     .await?;
//! if let Some(at) = broker.admin_addr() {
//!     println!("scrape http://{at}/metrics, probe http://{at}/health/ready");
//! }
//! broker.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
pub mod alloc;
pub mod broker;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod control;
pub mod coordinator;
pub mod error;
pub mod handler;
pub mod log;
pub mod metadata;
pub mod metrics;
pub mod partition;
pub mod protocol;
pub mod security;
pub mod server;
pub mod txn;

pub use broker::{Broker, BrokerBuilder, BrokerHandle};
pub use config::Config;
pub use error::Error;
