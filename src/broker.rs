//! The broker: its shared context, how it starts and stops, and the embedding API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::AdminServer;
use crate::clock::Clock;
use crate::config::Config;
use crate::coordinator::{GroupConfig, GroupCoordinator};
use crate::error::Error;
use crate::metadata::{ClusterMeta, ProducerIds, Topics};
use crate::metrics::Metrics;
use crate::partition::cleaning::{self, CleanerTotals};

/// Everything a request handler may use.
pub struct Broker {
    config: Config,
    pub topics: Topics,
    pub cluster: ClusterMeta,
    pub producer_ids: ProducerIds,
    pub groups: GroupCoordinator,
    /// What the log cleaner has done since the broker started.
    pub cleaner: Arc<CleanerTotals>,
    metrics: Metrics,
    clock: Clock,
    advertised_host: String,
    advertised_port: i32,
}

impl Broker {
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::default()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }

    /// The host and port clients are told to connect to.
    pub fn advertised(&self) -> (&str, i32) {
        (&self.advertised_host, self.advertised_port)
    }

    /// The broker's metrics (no-ops unless `admin.listen` is set).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The broker clock every timestamp and Kafka timer reads (see [`crate::clock`]).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// Builds a broker, for the binary and for tests that embed one.
#[derive(Default)]
pub struct BrokerBuilder {
    config_file: Option<PathBuf>,
    settings: Vec<(String, String)>,
    use_env: bool,
    /// Where an ephemeral data folder is made, if the broker gets one.
    ephemeral_root: Option<PathBuf>,
    clock: Clock,
}

impl BrokerBuilder {
    /// Where to listen, e.g. `127.0.0.1:0` for any free port.
    pub fn listen(self, addr: &str) -> Self {
        self.set("listeners", addr)
    }

    pub fn data_dir(self, dir: impl AsRef<std::path::Path>) -> Self {
        let dir = dir.as_ref().to_string_lossy().into_owned();
        self.set("log.dirs", &dir)
    }

    /// Any setting by its Kafka name, e.g. `set("num.partitions", "3")`.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// The clock the broker reads for every timestamp and Kafka timer (default: the system's).
    /// Give it a [`crate::clock::ManualClock`]'s clock to control time: sessions, segment age,
    /// retention and rebalance delays then move only when the test advances it.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Read a TOML config file under the explicit settings.
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Also read `WEIR_*` environment variables (the binary does; embedded brokers do not).
    pub fn with_env(mut self) -> Self {
        self.use_env = true;
        self
    }

    /// Keeps the data in a private temporary folder that the handle owns and removes on
    /// `shutdown()` or drop (overriding `data_dir`). For tests that need no data location.
    ///
    /// This is not an in-memory store: the log is still made of segment files, in the system's
    /// temporary folder (`TMPDIR`), and served from the page cache like any other weir log.
    pub fn ephemeral(mut self) -> Self {
        self.ephemeral_root = Some(std::env::temp_dir());
        self
    }

    /// Like `ephemeral()`, but the folder is on the shared-memory file system (`/dev/shm` on
    /// Linux), so nothing touches a disk: segment files live in RAM and fsync costs nothing.
    /// Where there is no `/dev/shm` it falls back to the temporary folder, with a warning.
    pub fn in_memory(mut self) -> Self {
        let shm = PathBuf::from(SHARED_MEMORY_DIR);
        self.ephemeral_root = Some(if shm.is_dir() {
            shm
        } else {
            tracing::warn!("{SHARED_MEMORY_DIR} not found; the in-memory broker keeps its data in the temporary folder");
            std::env::temp_dir()
        });
        self
    }

    pub async fn start(mut self) -> Result<BrokerHandle, Error> {
        let temp = if let Some(root) = &self.ephemeral_root {
            let dir = TempDataDir::create(root)?;
            let path = dir.0.to_string_lossy().into_owned();
            self = self.set("log.dirs", &path);
            Some(dir)
        } else {
            None
        };
        let config =
            Config::load_with_env(self.config_file.as_deref(), &self.settings, self.use_env)?;
        let mut handle = start(config, self.clock).await?;
        handle.temp_dir = temp;
        Ok(handle)
    }
}

/// The memory-backed file system `in_memory()` brokers keep their data on.
const SHARED_MEMORY_DIR: &str = "/dev/shm";

/// A temporary data folder, removed when dropped.
struct TempDataDir(PathBuf);

impl TempDataDir {
    fn create(root: &std::path::Path) -> Result<TempDataDir, Error> {
        let path = root.join(format!("weir-{}", uuid::Uuid::new_v4().simple()));
        // `create_dir`, not `create_dir_all`: a fresh folder of our own or an error.
        std::fs::create_dir(&path)?;
        Ok(TempDataDir(path))
    }
}

impl Drop for TempDataDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), "removing the ephemeral data folder: {e}");
        }
    }
}

/// A running broker.
///
/// Prefer `shutdown().await`, which returns once every task has ended and the listening
/// ports are closed. Dropping the handle inside a tokio runtime starts the same shutdown in
/// the background; outside one it only signals the tasks to stop.
pub struct BrokerHandle {
    addr: SocketAddr,
    /// Stopped last, so health checks see the broker stopping.
    admin: Option<AdminServer>,
    broker: Arc<Broker>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// The ephemeral data folder, removed after the shutdown.
    temp_dir: Option<TempDataDir>,
    stopped: bool,
}

impl BrokerHandle {
    /// The address the broker is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the admin HTTP listener (`/metrics`, `/health/live`, `/health/ready`) is bound,
    /// when `admin.listen` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(AdminServer::addr)
    }

    /// Where `GET /metrics` is served: the admin listener's address.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.admin_addr()
    }

    /// The data folder (for an `ephemeral()` broker, its temporary folder).
    pub fn data_dir(&self) -> &std::path::Path {
        &self.broker.config.data_dir
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Stops accepting, lets in-flight requests finish, then flushes and closes the logs
    /// (and removes an ephemeral data folder).
    pub async fn shutdown(mut self) {
        self.stopped = true;
        let tasks = std::mem::take(&mut self.tasks);
        let temp_dir = self.temp_dir.take();
        let admin = self.admin.take();
        stop(&self.stop, self.broker.clone(), tasks, admin, temp_dir).await;
        tracing::info!(addr = %self.addr, "broker stopped");
    }
}

/// The shutdown sequence, shared by `shutdown()` and drop.
async fn stop(
    signal: &watch::Sender<bool>,
    broker: Arc<Broker>,
    tasks: Vec<JoinHandle<()>>,
    admin: Option<AdminServer>,
    temp_dir: Option<TempDataDir>,
) {
    let _ = signal.send(true);
    // Parked JoinGroup/SyncGroup requests are answered now instead of holding the drain.
    broker.groups.shutdown().await;
    for task in tasks {
        let _ = task.await;
    }
    let _ = tokio::task::spawn_blocking(move || broker.topics.flush_all()).await;
    if let Some(admin) = admin {
        admin.stop().await;
    }
    // Removed only now that nothing writes into it any more.
    drop(temp_dir);
}

impl Drop for BrokerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if self.stopped {
            return;
        }
        let tasks = std::mem::take(&mut self.tasks);
        let temp_dir = self.temp_dir.take();
        let admin = self.admin.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // If the runtime is already shutting down the future is dropped unpolled, which
            // still removes the temporary folder (and dropping the admin server stops it).
            let (signal, broker) = (self.stop.clone(), self.broker.clone());
            runtime.spawn(async move { stop(&signal, broker, tasks, admin, temp_dir).await });
        }
    }
}

/// Starts a broker with `config` on `clock` and returns once it accepts connections.
pub async fn start(config: Config, clock: Clock) -> Result<BrokerHandle, Error> {
    let (stop, stopped) = watch::channel(false);
    // Up first, so health checks answer (not ready yet) while the logs are recovered.
    let admin = match &config.admin_listen {
        Some(at) => {
            Some(AdminServer::start(at, config.admin_max_connections, stopped.clone()).await?)
        }
        None => None,
    };
    let metrics = Metrics::new(admin.is_some());
    let (broker, listener, addr) = match open(config, metrics, clock).await {
        Ok(opened) => opened,
        Err(e) => {
            if let Some(admin) = admin {
                admin.stop().await;
            }
            return Err(e);
        }
    };
    let server = tokio::spawn(crate::server::serve(
        listener,
        broker.clone(),
        stopped.clone(),
    ));
    let mut tasks = vec![
        server,
        tokio::spawn(retention_loop(broker.clone(), stopped.clone())),
    ];
    tasks.extend(spawn_cleaner(&broker, stopped));
    if let Some(admin) = &admin {
        admin.attach(broker.clone());
    }
    tracing::info!(addr = %addr, cluster_id = %broker.cluster.cluster_id, "broker ready");
    Ok(BrokerHandle {
        addr,
        admin,
        broker,
        stop,
        tasks,
        temp_dir: None,
        stopped: false,
    })
}

/// Opens the logs and the group coordinator and binds the Kafka listener.
async fn open(
    config: Config,
    metrics: Metrics,
    clock: Clock,
) -> Result<(Arc<Broker>, TcpListener, SocketAddr), Error> {
    let data_dir = config.data_dir.clone();
    let log_config = config.log.clone();
    let node_id = config.node_id;
    let topics_clock = clock.clone();
    let (topics, cluster, producer_ids) = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&data_dir)?;
        let cluster = ClusterMeta::load_or_create(&data_dir, node_id)?;
        let producer_ids = ProducerIds::open(&data_dir)?;
        let topics = Topics::open(&data_dir, log_config, topics_clock)?;
        Ok::<_, Error>((topics, cluster, producer_ids))
    })
    .await??;

    let groups = GroupCoordinator::start(
        config.data_dir.join(GROUPS_DIR),
        group_config(&config),
        clock.clone(),
    )
    .await?;
    let bound = match TcpListener::bind(&config.listen).await {
        Ok(listener) => listener.local_addr().map(|addr| (listener, addr)),
        Err(e) => Err(e),
    };
    let (listener, addr) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            // The group tasks were started: stop them rather than leak them.
            groups.shutdown().await;
            return Err(e.into());
        }
    };
    let (advertised_host, advertised_port) = advertised(&config, addr);
    let broker = Arc::new(Broker {
        config,
        topics,
        cluster,
        producer_ids,
        groups,
        cleaner: Arc::default(),
        metrics,
        clock,
        advertised_host,
        advertised_port,
    });
    Ok((broker, listener, addr))
}

/// Consumer group state lives here, beside the topic folders (which always end in `-<n>`).
const GROUPS_DIR: &str = "__groups";

fn group_config(config: &Config) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
        min_session_timeout_ms: config.group_min_session_timeout_ms,
        max_session_timeout_ms: config.group_max_session_timeout_ms,
        max_size: config.group_max_size,
        offset_metadata_max_bytes: config.offset_metadata_max_bytes,
        max_batch_bytes: config.log.max_message_bytes,
        store_compaction_min_bytes: config.offsets_topic_segment_bytes,
        offsets_retention_ms: config.offsets_retention_ms,
        offsets_retention_check_interval_ms: config.offsets_retention_check_interval_ms,
        consumer_session_timeout_ms: config.group_consumer.session_timeout_ms,
        consumer_heartbeat_interval_ms: config.group_consumer.heartbeat_interval_ms,
        consumer_max_size: config.group_consumer.max_size,
        consumer_assignors: config.group_consumer.assignors.clone(),
        ..GroupConfig::default()
    }
}

/// Runs the broker until SIGINT or SIGTERM, then shuts it down cleanly.
pub async fn run_until_signal(config: Config) -> Result<(), Error> {
    let handle = start(config, Clock::system()).await?;
    wait_for_signal().await?;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> Result<(), Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> Result<(), Error> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Applies retention every `log.retention.check.interval.ms` of the broker clock.
async fn retention_loop(broker: Arc<Broker>, mut stopped: watch::Receiver<bool>) {
    let every = Duration::from_millis(broker.config().retention_check_interval_ms);
    loop {
        tokio::select! {
            () = broker.clock.sleep(every) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let b = broker.clone();
        let _ = tokio::task::spawn_blocking(move || b.topics.enforce_retention()).await;
    }
}

/// Starts the log cleaner threads over every partition of every topic.
fn spawn_cleaner(broker: &Arc<Broker>, stopped: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let weak = Arc::downgrade(broker);
    let logs: cleaning::LogSource = Arc::new(move || {
        weak.upgrade()
            .map(|b| {
                b.topics
                    .list()
                    .iter()
                    .map(|t| (t.name.clone(), t.partitions()))
                    .collect()
            })
            .unwrap_or_default()
    });
    cleaning::spawn(
        &broker.config.cleaner,
        broker.clock.clone(),
        logs,
        broker.cleaner.clone(),
        stopped,
    )
}

fn advertised(config: &Config, bound: SocketAddr) -> (String, i32) {
    let (host, port) = match &config.advertised {
        Some(adv) => (adv.host.clone(), i32::from(adv.port)),
        None => (bound.ip().to_string(), 0),
    };
    let port = if port == 0 {
        i32::from(bound.port())
    } else {
        port
    };
    let host = if host.is_empty() || host == "0.0.0.0" || host == "::" {
        tracing::warn!("listening on all interfaces; advertising 127.0.0.1 (set advertised.listeners for remote clients)");
        "127.0.0.1".to_string()
    } else {
        host
    };
    (host, port)
}
