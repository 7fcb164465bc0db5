//! The broker: its shared context, how it starts and stops, and the embedding API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::admin::AdminServer;
use crate::clock::{Clock, ManualClock};
use crate::config::Config;
use crate::control::{Control, ControlHandle};
use crate::coordinator::{GroupConfig, GroupCoordinator};
use crate::error::Error;
use crate::metadata::{ClusterMeta, ProducerIds, TopicSpec, Topics};
use crate::metrics::Metrics;
use crate::partition::cleaning::{self, CleanerTotals};
use crate::security::authorizer::{Authorizer, Rules};
use crate::security::{tls, AclStore, Credentials};
use crate::server::listener::{Bound, ListenerContext};
use crate::server::sasl::SaslSettings;
use crate::txn::{TopicPartitions, TxnConfig, TxnCoordinator};

/// Everything a request handler may use.
pub struct Broker {
    config: Config,
    pub topics: Arc<Topics>,
    pub cluster: ClusterMeta,
    pub producer_ids: Arc<ProducerIds>,
    pub groups: GroupCoordinator,
    /// What the log cleaner has done since the broker started.
    pub cleaner: Arc<CleanerTotals>,
    pub txns: TxnCoordinator,
    /// SCRAM credentials (and PLAIN passwords checked against them).
    pub credentials: Arc<Credentials>,
    /// The ACLs, kept whether or not the authorizer is on.
    pub acls: AclStore,
    /// The authorizer's settings; `None` when `authorizer.class.name` is empty.
    authorization: Option<Arc<Rules>>,
    metrics: Metrics,
    clock: Clock,
    /// The test-control plane, when `control.enable` is set.
    control: Option<Arc<Control>>,
    /// Per listener name, the host and port its clients are told to connect to.
    advertised: Vec<(String, String, i32)>,
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

    /// The host and port clients of `listener` are told to connect to.
    pub fn advertised(&self, listener: &str) -> (&str, i32) {
        self.advertised
            .iter()
            .find(|(name, _, _)| name == listener)
            .or(self.advertised.first())
            .map_or(("", -1), |(_, host, port)| (host.as_str(), *port))
    }

    /// The broker's metrics (no-ops unless `admin.listen` is set).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The broker clock every timestamp and Kafka timer reads (see [`crate::clock`]).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The authorizer as it is now (the current ACLs), or `None` when authorization is off.
    pub fn authorizer(&self) -> Option<Authorizer> {
        self.authorization.as_ref().map(|rules| Authorizer {
            rules: rules.clone(),
            acls: self.acls.snapshot(),
        })
    }

    /// The test-control plane's state, when `control.enable` is set (see [`crate::control`]).
    pub fn control(&self) -> Option<&Arc<Control>> {
        self.control.as_ref()
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
    /// Topics created at start (and by each control-plane reset).
    seeds: Vec<TopicSpec>,
    seed_file: Option<PathBuf>,
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

    /// Serves the test-control plane (`control.enable`): fault rules, broker down/up, the
    /// manual clock, request capture and reset, through [`BrokerHandle::control`] (and on the
    /// admin listener, when there is one).
    pub fn control(self) -> Self {
        self.set("control.enable", "true")
    }

    /// Starts the broker on a manual clock (`control.clock=manual`, with the control plane)
    /// that [`ControlHandle::advance`] moves. (Or give `clock` a [`ManualClock`]'s clock and
    /// keep the handle.)
    pub fn manual_clock(self) -> Self {
        self.control().set("control.clock", "manual")
    }

    /// Topics to create at start if they do not exist (and again after each reset).
    pub fn seed_topics(mut self, topics: Vec<TopicSpec>) -> Self {
        self.seeds.extend(topics);
        self
    }

    /// Topics to create at start, read from a TOML or JSON file (see [`crate::control::seed`]).
    pub fn topics_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.seed_file = Some(path.into());
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
        let mut seeds = self.seeds;
        if let Some(path) = &self.seed_file {
            let read = crate::control::seed::read(path, config.num_partitions);
            seeds.extend(read.map_err(|e| Error::Io(std::io::Error::other(e)))?);
        }
        let clock = if config.control_manual_clock && self.clock.manual().is_none() {
            ManualClock::new().clock()
        } else {
            self.clock
        };
        let mut handle = start(config, clock, seeds).await?;
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
    /// Every listener's name and bound address, in `listeners` order.
    listeners: Vec<(String, SocketAddr)>,
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
    /// The address the first listener is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.listeners[0].1
    }

    /// The address listener `name` (`PLAINTEXT`, `SASL_SSL`, ...) is bound to.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        let name = name.to_ascii_uppercase();
        self.listeners
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, addr)| *addr)
    }

    /// Every listener's name and bound address.
    pub fn listeners(&self) -> &[(String, SocketAddr)] {
        &self.listeners
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

    /// The test-control plane (fault rules, broker down/up, the clock, capture, reset), when
    /// the broker was started with it (`control.enable`, [`BrokerBuilder::control`]).
    pub fn control(&self) -> Option<ControlHandle> {
        ControlHandle::of(&self.broker)
    }

    /// Stops accepting, lets in-flight requests finish, then flushes and closes the logs
    /// (and removes an ephemeral data folder).
    pub async fn shutdown(mut self) {
        self.stopped = true;
        let tasks = std::mem::take(&mut self.tasks);
        let temp_dir = self.temp_dir.take();
        let admin = self.admin.take();
        stop(&self.stop, self.broker.clone(), tasks, admin, temp_dir).await;
        tracing::info!(addr = %self.addr(), "broker stopped");
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
    broker.txns.shutdown().await;
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

/// Starts a broker with `config` on `clock`, creates the `seeds` topics that do not exist,
/// and returns once it accepts connections.
pub async fn start(
    config: Config,
    clock: Clock,
    seeds: Vec<TopicSpec>,
) -> Result<BrokerHandle, Error> {
    let (stop, stopped) = watch::channel(false);
    // Up first, so health checks answer (not ready yet) while the logs are recovered.
    let admin = match &config.admin_listen {
        Some(at) => {
            Some(AdminServer::start(at, config.admin_max_connections, stopped.clone()).await?)
        }
        None => None,
    };
    let metrics = Metrics::new(admin.is_some());
    let (broker, bound) = match open(config, metrics, clock, seeds).await {
        Ok(opened) => opened,
        Err(e) => {
            if let Some(admin) = admin {
                admin.stop().await;
            }
            return Err(e);
        }
    };
    let listeners: Vec<(String, SocketAddr)> = bound
        .iter()
        .map(|b| (b.context.name.to_string(), b.addr))
        .collect();
    let server = tokio::spawn(crate::server::serve(bound, broker.clone(), stopped.clone()));
    let mut tasks = vec![
        server,
        tokio::spawn(retention_loop(broker.clone(), stopped.clone())),
    ];
    tasks.extend(spawn_cleaner(&broker, stopped));
    if let Some(admin) = &admin {
        admin.attach(broker.clone());
    }
    for (name, addr) in &listeners[1..] {
        tracing::info!(listener = %name, addr = %addr, "listener ready");
    }
    let (first_name, first) = &listeners[0];
    tracing::info!(addr = %first, listener = %first_name, cluster_id = %broker.cluster.cluster_id, "broker ready");
    Ok(BrokerHandle {
        listeners,
        admin,
        broker,
        stop,
        tasks,
        temp_dir: None,
        stopped: false,
    })
}

/// Opens the logs, the credential and ACL stores and the group coordinator, and binds the
/// listeners.
async fn open(
    config: Config,
    metrics: Metrics,
    clock: Clock,
    seeds: Vec<TopicSpec>,
) -> Result<(Arc<Broker>, Vec<Bound>), Error> {
    let data_dir = config.data_dir.clone();
    let log_config = config.log.clone();
    let node_id = config.node_id;
    let tls_config = config.clone();
    let topics_clock = clock.clone();
    let seeded = seeds.clone();
    let (topics, cluster, producer_ids, credentials, acls, tls) =
        tokio::task::spawn_blocking(move || {
            // Certificates first: a listener that cannot serve fails before any data is touched.
            let tls = tls_configs(&tls_config)?;
            std::fs::create_dir_all(&data_dir)?;
            let cluster = ClusterMeta::load_or_create(&data_dir, node_id)?;
            let producer_ids = ProducerIds::open(&data_dir)?;
            let credentials = Credentials::open(&data_dir)?;
            let acls = AclStore::open(&data_dir)?;
            let topics = Topics::open(&data_dir, log_config, topics_clock)?;
            crate::control::seed::create(&topics, &seeded).map_err(std::io::Error::other)?;
            Ok::<_, Error>((
                Arc::new(topics),
                cluster,
                Arc::new(producer_ids),
                Arc::new(credentials),
                acls,
                tls,
            ))
        })
        .await??;
    let control = config
        .control_enable
        .then(|| Arc::new(Control::new(clock.manual(), seeds)));

    let groups = GroupCoordinator::start(
        config.data_dir.join(GROUPS_DIR),
        group_config(&config),
        clock.clone(),
    )
    .await?;
    let txns = TxnCoordinator::start(
        &config.data_dir.join(TRANSACTIONS_DIR),
        txn_config(&config),
        clock.clone(),
        Arc::new(TopicPartitions(topics.clone())),
        producer_ids.clone(),
        Arc::new(groups.clone()),
    )
    .await;
    let txns = match txns {
        Ok(txns) => txns,
        Err(e) => {
            groups.shutdown().await;
            return Err(e.into());
        }
    };
    let bound = match bind(&config, tls, &credentials).await {
        Ok(bound) => bound,
        Err(e) => {
            // The coordinators' tasks were started: stop them rather than leak them.
            txns.shutdown().await;
            groups.shutdown().await;
            return Err(e);
        }
    };
    let advertised = bound
        .iter()
        .map(|b| {
            let (host, port) = advertised(&config, &b.context.name, b.addr);
            (b.context.name.to_string(), host, port)
        })
        .collect();
    let authorization = config
        .authorization
        .enabled
        .then(|| Arc::new(config.authorization.rules.clone()));
    let broker = Arc::new(Broker {
        config,
        topics,
        cluster,
        producer_ids,
        groups,
        cleaner: Arc::default(),
        txns,
        credentials,
        acls,
        authorization,
        metrics,
        clock,
        control,
        advertised,
    });
    Ok((broker, bound))
}

/// The rustls config of each TLS listener, by position in `config.listeners`. Blocking.
fn tls_configs(config: &Config) -> Result<Vec<Option<TlsAcceptor>>, Error> {
    config
        .listeners
        .iter()
        .map(|listener| {
            if !listener.protocol.tls() {
                return Ok(None);
            }
            tls::server_config(config.security_of(&listener.name))
                .map(|c| Some(TlsAcceptor::from(c)))
                .map_err(|e| Error::Security(format!("listener {}: {e}", listener.name)))
        })
        .collect()
}

/// Binds every listener, each with what its connections need.
async fn bind(
    config: &Config,
    tls: Vec<Option<TlsAcceptor>>,
    credentials: &Arc<Credentials>,
) -> Result<Vec<Bound>, Error> {
    let mut bound = Vec::new();
    for (listener, tls) in config.listeners.iter().zip(tls) {
        let security = config.security_of(&listener.name);
        let sasl = if listener.protocol.sasl() {
            let settings = SaslSettings::new(
                security,
                credentials.clone(),
                config.connections_max_reauth_ms,
            )
            .map_err(|e| Error::Security(format!("listener {}: {e}", listener.name)))?;
            Some(Arc::new(settings))
        } else {
            None
        };
        let socket = TcpListener::bind(listener.endpoint.bind_addr()).await?;
        let addr = socket.local_addr()?;
        bound.push(Bound {
            listener: socket,
            addr,
            context: Arc::new(ListenerContext {
                name: Arc::from(listener.name.as_str()),
                protocol: listener.protocol,
                tls,
                sasl,
                mapper: security.principal_mapper.clone(),
            }),
        });
    }
    Ok(bound)
}

/// Consumer group state lives here, beside the topic folders (which always end in `-<n>`).
const GROUPS_DIR: &str = "__groups";
/// The transaction log lives here, likewise.
const TRANSACTIONS_DIR: &str = "__transactions";

/// The transaction log is flushed like the partition logs: fsynced per change only when every
/// message is (`log.flush.interval.messages=1`).
fn txn_config(config: &Config) -> TxnConfig {
    TxnConfig {
        fsync: config.log.flush_interval_messages == 1,
        ..config.txn.clone()
    }
}

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

/// Runs a started broker until SIGINT or SIGTERM, then shuts it down cleanly.
pub async fn run_until_signal(handle: BrokerHandle) -> Result<(), Error> {
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

fn advertised(config: &Config, listener: &str, bound: SocketAddr) -> (String, i32) {
    let (host, port) = match config.advertised.iter().find(|a| a.name == listener) {
        Some(adv) => (adv.endpoint.host.clone(), i32::from(adv.endpoint.port)),
        None => (bound.ip().to_string(), 0),
    };
    let port = if port == 0 {
        i32::from(bound.port())
    } else {
        port
    };
    let host = if host.is_empty() || host == "0.0.0.0" || host == "::" {
        tracing::warn!(%listener, "listening on all interfaces; advertising 127.0.0.1 (set advertised.listeners for remote clients)");
        "127.0.0.1".to_string()
    } else {
        host
    };
    (host, port)
}
