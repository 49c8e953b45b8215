//! The `__worker server` and `__worker client` entry points (process model: ARCHITECTURE.md).

use std::io::Read;
use std::time::{Duration, Instant};

use tokio::signal::unix::SignalKind;
use tokio::sync::watch;

use crate::contract::wire::{ServerSample, WorkerMsg};
use crate::contract::worker::{ClientWorkerConfig, ServerWorkerConfig};
use crate::measure::procstat;
use crate::run::load;
use crate::run::process::Signals;
use crate::tls::certs;
use crate::tls::config::ClientTls;
use crate::tls::server::{Server, ServerOptions};
use crate::tls::session::SessionFactory;
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

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
    Server(#[from] crate::tls::server::ServerError),
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
    if let Ok(mut signals) = Signals::install() {
        tokio::spawn(async move {
            while signals.next().await != SignalKind::terminate() {}
            let _ = tx2.send(true);
        });
    }
    rx
}

/// The client worker: runs one mode's load and reports.
pub fn client_main(config_json: &str) -> Result<(), WorkerError> {
    // First: once OpenSSL has allocated it refuses a new allocator. For a client that calls
    // OpenSSL a refusal is fatal, since a heap figure without OpenSSL's share would pass for
    // the whole (docs/openssl.md).
    let openssl_counted = crate::measure::alloc::count_openssl();
    let cfg: ClientWorkerConfig =
        serde_json::from_str(config_json).map_err(|e| WorkerError::Config(e.to_string()))?;
    let uses_openssl = match cfg.client {
        ClientKind::Hyper => false,
        ClientKind::Reqwest => crate::vocab::client::NATIVE_TLS_BUILT,
        ClientKind::ReqwestNative => true,
    };
    if uses_openssl {
        openssl_counted
            .map_err(|e| WorkerError::Config(format!("cannot count OpenSSL's heap: {e}")))?;
    }
    let fd_limit = procstat::raise_fd_limit();
    let mut trusted = Vec::new();
    for f in &cfg.ca_files {
        trusted.extend(certs::read_bundle(f)?);
    }
    // The knob probe runs in fresh legs; with --breakdown, the held-connection probe in leak.
    let probes = cfg.mode == Mode::Fresh || (cfg.mode == Mode::Leak && cfg.plan.breakdown);
    let probe_certs = match &cfg.probe_certs_dir {
        Some(dir) if probes => Some(certs::check(&certs::CertPaths::in_dir(dir)).map_err(|e| {
            WorkerError::Config(format!(
                "probe certificates (knob or held-connection probe): {e}"
            ))
        })?),
        _ => None,
    };
    let p = &cfg.plan;
    let tls = ClientTls::new(p.tls, p.kx, p.roots, trusted, p.client_cache);
    let target = cfg
        .target
        .parse()
        .map_err(|e| WorkerError::Config(format!("target `{}`: {e}", cfg.target)))?;
    let rt = runtime()?;
    rt.block_on(async move {
        let stop = stop_signal();
        let factory = SessionFactory::with_kind(cfg.client, tls.clone());
        let mut fin = load::run(&cfg, target, factory, stop.clone(), fd_limit).await;
        if let Some(certs) = &probe_certs {
            if !*stop.borrow() && cfg.mode == Mode::Fresh {
                fin.knobs = Some(crate::run::knobs::probe(&tls, certs).await);
            }
            if !*stop.borrow() && cfg.mode == Mode::Leak {
                let (certs, tls) = (certs.clone(), tls.clone());
                let held = tokio::task::spawn_blocking(move || {
                    crate::measure::held::probe(&certs, &tls, crate::measure::held::CONNECTIONS)
                })
                .await;
                fin.held = Some(match held {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(e) => Err(format!("held-connection probe: {e}")),
                });
            }
        }
        WorkerMsg::ClientDone(Box::new(fin))
            .emit()
            .map_err(WorkerError::Pipe)
    })?;
    // Leaked sessions and their connections go with the process.
    rt.shutdown_timeout(Duration::from_millis(100));
    // Writes the dhat profile only if the load stopped before it could.
    crate::measure::alloc::finish_dhat();
    Ok(())
}

/// The server worker: serves until stopped, sampling itself.
pub fn server_main(config_json: &str) -> Result<(), WorkerError> {
    let cfg: ServerWorkerConfig =
        serde_json::from_str(config_json).map_err(|e| WorkerError::Config(e.to_string()))?;
    let fd_limit = procstat::raise_fd_limit();
    let p = &cfg.server;
    // The parent made sure the certificates exist; a worker never regenerates them (two
    // workers doing so at once would leave a leaf from one CA beside the other's CA).
    let certs = certs::check(&certs::CertPaths::in_dir(&p.certs_dir)).map_err(|e| {
        WorkerError::Config(format!("certificates in {}: {e}", p.certs_dir.display()))
    })?;
    let opts = ServerOptions {
        port: p.port,
        tls: p.tls,
        body_bytes: p.body_bytes,
        cache: p.cache,
        witness: cfg.witness,
    };
    let every = p.sample_interval;
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
        if let Some(w) = &server.witness {
            WorkerMsg::Connections { conns: w.records() }
                .emit()
                .map_err(WorkerError::Pipe)?;
        }
        WorkerMsg::ServerDone(server_sample(&server, start))
            .emit()
            .map_err(WorkerError::Pipe)
    })?;
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

pub fn server_sample(server: &Server, start: Instant) -> ServerSample {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &server.stats;
    let cache = server.store.stats();
    ServerSample {
        server_t_s: start.elapsed().as_secs_f64(),
        server_rss_bytes: procstat::rss_bytes(),
        server_heap_live_bytes: crate::measure::alloc::heap().map(|h| h.live_bytes),
        server_cpu_s: procstat::cpu_seconds(),
        server_open_fds: procstat::open_fds(),
        server_open_conns: s.open(),
        server_connections: s.opened.load(Relaxed),
        server_handshakes_full: s.handshakes_full.load(Relaxed),
        server_handshakes_resumed: s.handshakes_resumed.load(Relaxed),
        server_handshakes_failed: s.handshakes_failed.load(Relaxed),
        server_requests: s.requests.load(Relaxed),
        server_accept_errors: s.accept_errors.load(Relaxed),
        server_cache_entries: cache.entries,
        server_cache_bytes: cache.bytes,
    }
}
