//! The local HTTPS server (hyper over tokio-rustls) and its counters, in a process of its own.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::HandshakeKind;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::tls::certs::CertSet;
use crate::tls::config;
use crate::tls::connector::ConnStats;
use crate::tls::store::SessionStore;
use crate::tls::witness::{Witness, Witnessed};
use crate::vocab::handshake::Handshake;
use crate::vocab::server_cache::ServerCachePolicy;
use crate::vocab::tls::TlsVersion;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Port on 127.0.0.1, where every server listens (0: ephemeral).
    pub port: u16,
    pub tls: TlsVersion,
    pub body_bytes: u32,
    pub cache: ServerCachePolicy,
    /// Keep a record of every connection (`harness exec`; see [`crate::tls::witness`]).
    pub witness: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] config::TlsError),
}

pub struct Server {
    pub addr: SocketAddr,
    /// What it has accepted and served; read by its sampler.
    pub stats: Arc<ConnStats>,
    pub store: Arc<SessionStore>,
    /// One record per connection, when [`ServerOptions::witness`] asked for it.
    pub witness: Option<Arc<Witness>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(certs: &CertSet, opts: &ServerOptions) -> Result<Server, ServerError> {
        let store = Arc::new(SessionStore::new(opts.cache));
        let cfg = config::server_config(certs, opts.tls, store.clone())?;
        // Before the first client is accepted.
        config::warm_up(cfg.crypto_provider())?;
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, opts.port));
        let bind = |source| ServerError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let stats = Arc::new(ConnStats::default());
        let body = Bytes::from(vec![b'x'; opts.body_bytes as usize]);
        let witness = opts.witness.then(|| Arc::new(Witness::default()));
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            stats.clone(),
            witness.clone(),
            body,
        ));
        Ok(Server {
            addr,
            stats,
            store,
            witness,
            task,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    stats: Arc<ConnStats>,
    witness: Option<Arc<Witness>>,
    body: Bytes,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // EMFILE and friends: count, back off, keep serving the connections we have.
                stats.accept_errors.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        stats.opened.fetch_add(1, Relaxed);
        let acceptor = acceptor.clone();
        let stats = stats.clone();
        let body = body.clone();
        let conn = Witnessed::open(witness.as_ref(), peer.port());
        tokio::spawn(async move {
            serve_one(tcp, acceptor, &stats, &conn, body).await;
            conn.closed();
            stats.closed.fetch_add(1, Relaxed);
        });
    }
}

async fn serve_one(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    stats: &ConnStats,
    conn: &Witnessed,
    body: Bytes,
) {
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(_) => {
            stats.handshakes_failed.fetch_add(1, Relaxed);
            conn.handshake(Handshake::Failed);
            return;
        }
    };
    let (handshakes, kind) = match tls.get_ref().1.handshake_kind() {
        Some(HandshakeKind::Resumed) => (&stats.handshakes_resumed, Handshake::Resumed),
        _ => (&stats.handshakes_full, Handshake::Full),
    };
    handshakes.fetch_add(1, Relaxed);
    conn.handshake(kind);
    let service = service_fn(|_req: Request<hyper::body::Incoming>| {
        stats.requests.fetch_add(1, Relaxed);
        conn.request();
        let body = body.clone();
        async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}
