//! The server fixture: TLS 1.3 and 1.2 servers, the client's runtime, session factories.

use std::collections::BTreeMap;
use std::sync::Arc;

use harness::tls::certs::CertSet;
use harness::tls::config::ClientTls;
use harness::tls::connector::ConnStats;
use harness::tls::server::{Server, ServerOptions};
use harness::tls::session::SessionFactory;
use harness::vocab::client::ClientKind;
use harness::vocab::defaults::BODY_BYTES;
use harness::vocab::server_cache::ServerCachePolicy;
use harness::vocab::tls::{RootsChoice, TlsVersion};
use hyper::Uri;
use tokio::runtime::{Runtime, RuntimeFlavor};

use super::bench_tls;
use super::figure::server_thread_checkpoint;

/// The servers (TLS 1.3 and TLS 1.2, on their own runtime) and the client's runtime.
pub struct Fixture {
    servers: BTreeMap<TlsVersion, Server>,
    _server_rt: Runtime,
    /// Current-thread runtime that drives every client on the bench thread.
    pub rt: Runtime,
    certs: CertSet,
}

impl Fixture {
    pub fn new() -> Self {
        let certs = bench_tls::certs();
        let server_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-server")
            .enable_all()
            .on_thread_start(server_thread_checkpoint)
            .on_thread_park(server_thread_checkpoint)
            .on_thread_stop(server_thread_checkpoint)
            .build()
            .expect("build the server runtime");
        let servers = [TlsVersion::V13, TlsVersion::V12]
            .into_iter()
            .map(|tls| {
                let opts = ServerOptions {
                    port: 0,
                    tls,
                    body_bytes: BODY_BYTES,
                    cache: ServerCachePolicy::default(),
                    witness: false,
                };
                let server = server_rt
                    .block_on(Server::start(&certs, &opts))
                    .expect("start the HTTPS server");
                (tls, server)
            })
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build the client runtime");
        assert_eq!(rt.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        Self {
            servers,
            _server_rt: server_rt,
            rt,
            certs,
        }
    }

    /// `https://localhost:{port}/` of the server speaking `tls`.
    pub fn uri(&self, tls: TlsVersion) -> Uri {
        format!("https://localhost:{}/", self.servers[&tls].addr.port())
            .parse()
            .expect("a valid URI")
    }

    /// The connection counters of the server speaking `tls`.
    pub fn server_stats(&self, tls: TlsVersion) -> Arc<ConnStats> {
        self.servers[&tls].stats.clone()
    }

    /// Client TLS settings trusting the harness CA (plus `roots`).
    pub fn tls(&self, tls: TlsVersion, roots: RootsChoice, client_cache: usize) -> ClientTls {
        bench_tls::client_tls(&self.certs, tls, roots, client_cache)
    }

    /// A factory of `kind` client sessions trusting the harness CA (plus `roots`). reqwest
    /// keeps rustls's default resumption store except with roots `webpki`.
    pub fn factory(
        &self,
        kind: ClientKind,
        tls: TlsVersion,
        roots: RootsChoice,
        client_cache: usize,
    ) -> SessionFactory {
        SessionFactory::with_kind(kind, self.tls(tls, roots, client_cache))
    }

    /// A factory of hyper client sessions and its connection counters (hyper's alone).
    pub fn hyper(&self, tls: TlsVersion, cache: usize) -> (SessionFactory, Arc<ConnStats>) {
        let factory = self.factory(ClientKind::Hyper, tls, RootsChoice::Ca, cache);
        let stats = factory.stats().expect("hyper counts connections").clone();
        (factory, stats)
    }
}
