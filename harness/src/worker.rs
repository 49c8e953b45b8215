//! Worker processes. The parent re-executes its own binary as `harness __worker server|client
//! <json>` so that every RSS and heap figure belongs to exactly one side and one mode. A
//! worker speaks JSON lines on stdout ([`crate::wire`]) and stops when its stdin closes (the
//! parent asks, or the parent died) or on SIGTERM; SIGINT is left to the parent, which stops
//! the workers in order so in-flight requests finish.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::certs;
use crate::load::{self, Clock, LoadPlan};
use crate::mode::Mode;
use crate::procstat;
use crate::retention::RetentionSpec;
use crate::server::{Server, ServerOptions};
use crate::server_cache::ServerCachePolicy;
use crate::session::{ClientKind, SessionFactory};
use crate::tls::{ClientTls, KxChoice, RootsChoice, TlsVersion};
use crate::wire::{ServerSample, WorkerMsg};

/// Everything the client worker needs, passed as JSON on its command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientWorkerConfig {
    pub mode: Mode,
    pub target: String,
    pub rate: f64,
    pub duration_s: f64,
    pub max_in_flight: usize,
    pub sample_interval_s: f64,
    pub tls: String,
    pub kx: String,
    pub roots: String,
    pub client_cache: usize,
    /// PEM files whose certificates the client trusts.
    pub ca_files: Vec<PathBuf>,
    pub clock: Clock,
    pub retention: Option<RetentionSpec>,
    /// Write a dhat heap profile here.
    pub dhat_file: Option<PathBuf>,
    /// Where the harness certificates are, for the fresh mode's knob probe (`None`: no probe).
    pub probe_certs_dir: Option<PathBuf>,
    pub client: ClientKind,
    pub max_open: Option<u64>,
}

/// Everything the server worker needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerWorkerConfig {
    pub certs_dir: PathBuf,
    pub port: u16,
    pub tls: String,
    pub body_bytes: usize,
    pub sample_interval_s: f64,
    pub cache: ServerCachePolicy,
}

/// Errors a worker can end with; printed on its stderr for the parent to relay.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("bad worker configuration: {0}")]
    Config(String),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    #[error("cannot talk to the parent: {0}")]
    Pipe(std::io::Error),
}

fn runtime() -> Result<tokio::runtime::Runtime, WorkerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(WorkerError::Runtime)
}

/// A stop flag raised by stdin EOF or SIGTERM. SIGINT is swallowed: the parent handles Ctrl-C.
fn stop_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send(true);
    });
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = term.recv() => { let _ = tx2.send(true); return; }
                _ = int.recv() => {}
            }
        }
    });
    rx
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, WorkerError> {
    s.parse().map_err(WorkerError::Config)
}

/// The client worker: runs one mode's load and reports.
pub fn client_main(config_json: &str) -> Result<(), WorkerError> {
    let cfg: ClientWorkerConfig =
        serde_json::from_str(config_json).map_err(|e| WorkerError::Config(e.to_string()))?;
    let fd_limit = procstat::raise_fd_limit();
    let mut trusted = Vec::new();
    for f in &cfg.ca_files {
        trusted.extend(certs::read_bundle(f)?);
    }
    let probe_certs = match &cfg.probe_certs_dir {
        Some(dir) if cfg.mode == Mode::Fresh => Some(
            certs::check(&certs::CertPaths::in_dir(dir))
                .map_err(|e| WorkerError::Config(format!("knob probe certificates: {e}")))?,
        ),
        _ => None,
    };
    let tls = ClientTls::new(
        parse::<TlsVersion>(&cfg.tls)?,
        parse::<KxChoice>(&cfg.kx)?,
        parse::<RootsChoice>(&cfg.roots)?,
        trusted,
        cfg.client_cache,
    );
    let target = cfg
        .target
        .parse()
        .map_err(|e| WorkerError::Config(format!("target `{}`: {e}", cfg.target)))?;
    let plan = LoadPlan {
        mode: cfg.mode,
        target,
        rate: cfg.rate,
        duration: Duration::from_secs_f64(cfg.duration_s),
        max_in_flight: cfg.max_in_flight,
        sample_interval: Duration::from_secs_f64(cfg.sample_interval_s),
        clock: cfg.clock,
        retention: cfg.retention,
        max_open: cfg.max_open,
    };
    let profiler = cfg.dhat_file.as_ref().map(|f| {
        crate::alloc::route_through_dhat();
        dhat::Profiler::builder().file_name(f).build()
    });
    let rt = runtime()?;
    rt.block_on(async move {
        let stop = stop_signal();
        let mut fin = load::run(
            plan,
            SessionFactory::with_kind(cfg.client, tls.clone()),
            stop.clone(),
            fd_limit,
        )
        .await;
        if let Some(certs) = &probe_certs {
            if !*stop.borrow() {
                fin.knobs = Some(crate::knobs::probe(&tls, certs).await);
            }
        }
        WorkerMsg::ClientDone(Box::new(fin))
            .emit()
            .map_err(WorkerError::Pipe)
    })?;
    // Leaked sessions and their connections go with the process.
    rt.shutdown_timeout(Duration::from_millis(100));
    // Dropping the profiler writes the dhat file.
    drop(profiler);
    Ok(())
}

/// The server worker: serves until stopped, sampling itself.
pub fn server_main(config_json: &str) -> Result<(), WorkerError> {
    let cfg: ServerWorkerConfig =
        serde_json::from_str(config_json).map_err(|e| WorkerError::Config(e.to_string()))?;
    let fd_limit = procstat::raise_fd_limit();
    // The parent made sure the certificates exist; a worker never regenerates them (two
    // workers doing so at once would leave a leaf from one CA beside the other's CA).
    let certs = certs::check(&certs::CertPaths::in_dir(&cfg.certs_dir)).map_err(|e| {
        WorkerError::Config(format!("certificates in {}: {e}", cfg.certs_dir.display()))
    })?;
    let opts = ServerOptions {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, cfg.port)),
        tls: parse::<TlsVersion>(&cfg.tls)?,
        body_bytes: cfg.body_bytes,
        cache: cfg.cache,
    };
    let every = Duration::from_secs_f64(cfg.sample_interval_s);
    let rt = runtime()?;
    rt.block_on(async move {
        let server = Server::start(&certs, &opts).await?;
        WorkerMsg::Ready {
            port: server.addr.port(),
            fd_limit: fd_limit.map(|l| l.soft),
        }
        .emit()
        .map_err(WorkerError::Pipe)?;
        let mut stop = stop_signal();
        let start = Instant::now();
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if WorkerMsg::Server(server_sample(&server, start)).emit().is_err() {
                        return Ok(());
                    }
                }
                _ = stop.changed() => break,
            }
        }
        WorkerMsg::ServerDone(server_sample(&server, start))
            .emit()
            .map_err(WorkerError::Pipe)
    })?;
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// The server's figures now.
pub fn server_sample(server: &Server, start: Instant) -> ServerSample {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &server.stats;
    let cache = server.store.stats();
    ServerSample {
        t_s: start.elapsed().as_secs_f64(),
        rss_bytes: procstat::rss_bytes(),
        heap_live_bytes: crate::alloc::heap().map(|h| h.live_bytes),
        cpu_s: procstat::cpu_seconds(),
        open_fds: procstat::open_fds(),
        open_conns: s.open(),
        connections: s.opened.load(Relaxed),
        handshakes_full: s.handshakes_full.load(Relaxed),
        handshakes_resumed: s.handshakes_resumed.load(Relaxed),
        handshakes_failed: s.handshakes_failed.load(Relaxed),
        requests: s.requests.load(Relaxed),
        accept_errors: s.accept_errors.load(Relaxed),
        cache_entries: cache.entries,
        cache_bytes: cache.bytes,
    }
}
