//! The knob probe: what each client setting that can be changed without sharing the session
//! costs per retained session, measured in the fresh mode's own worker.
//!
//! For each variant (the run's own settings, resumption off, a small resumption store, only
//! the needed root, X25519 alone), a few fresh sessions each make one real request to a
//! private in-process server (so the run's server counters are untouched), are invalidated,
//! and their TLS state is kept; then each state is dropped and the bytes freed on the dropping
//! thread are counted: exactly what one retained session holds with that setting.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::contract::probes::KnobFigure;
use crate::measure::alloc;
use crate::tls::certs::CertSet;
use crate::tls::config::ClientTls;
use crate::tls::server::{Server, ServerOptions};
use crate::tls::session::{Pooling, SessionFactory};
use crate::vocab::server_cache::ServerCachePolicy;
use crate::vocab::tls::{KxChoice, RootsChoice};

/// Sessions measured per variant.
pub const SESSIONS_PER_VARIANT: usize = 16;

fn variants(base: &ClientTls) -> Vec<(String, ClientTls)> {
    let mut v = vec![(String::new(), base.clone())];
    let with = |f: &dyn Fn(&mut ClientTls)| {
        let mut t = base.clone();
        f(&mut t);
        ClientTls::new(t.version, t.kx, t.roots, t.trusted.to_vec(), t.client_cache)
    };
    if base.client_cache != 0 {
        v.push(("--client-cache 0".into(), with(&|t| t.client_cache = 0)));
    }
    if base.client_cache > 8 {
        v.push(("--client-cache 8".into(), with(&|t| t.client_cache = 8)));
    }
    if base.roots != RootsChoice::Ca {
        v.push(("--roots ca".into(), with(&|t| t.roots = RootsChoice::Ca)));
    }
    if base.kx != KxChoice::X25519 {
        v.push(("--kx x25519".into(), with(&|t| t.kx = KxChoice::X25519)));
    }
    v
}

/// Measures every variant of `base` against a private server presenting `certs`.
pub async fn probe(base: &ClientTls, certs: &CertSet) -> Result<Vec<KnobFigure>, String> {
    let server = Server::start(
        certs,
        &ServerOptions {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: base.version,
            body_bytes: crate::vocab::defaults::BODY_BYTES as usize,
            cache: ServerCachePolicy::default(),
            witness: false,
        },
    )
    .await
    .map_err(|e| format!("knob probe server: {e}"))?;
    let uri: hyper::Uri = format!("https://localhost:{}/", server.addr.port())
        .parse()
        .map_err(|e| format!("knob probe uri: {e}"))?;
    let mut out = Vec::new();
    for (setting, tls) in variants(base) {
        out.push(measure(setting, tls, &uri).await);
    }
    Ok(out)
}

async fn measure(setting: String, tls: ClientTls, uri: &hyper::Uri) -> KnobFigure {
    let factory = SessionFactory::new(tls.clone());
    let mut states = Vec::with_capacity(SESSIONS_PER_VARIANT);
    let mut build_bytes = Some(0u64);
    let mut failed = 0;
    for _ in 0..SESSIONS_PER_VARIANT {
        let (built, counted) = alloc::measure_thread(|| factory.build(Pooling::KeepAlive));
        build_bytes = build_bytes.zip(counted).map(|(a, c)| a + c.bytes);
        let Ok(session) = built else {
            failed += 1;
            continue;
        };
        if session.get(uri).await.is_err() {
            failed += 1;
        }
        states.push(session.into_tls_state());
    }
    // Let the closed connections' tasks finish so each state is its last owner.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let n = states.len() as u64;
    let mut freed = Some(0u64);
    for s in states {
        let ((), counted) = alloc::measure_thread(|| drop(s));
        freed = freed.zip(counted).map(|(a, c)| a + c.freed);
    }
    let per = |total: Option<u64>| total.filter(|_| n > 0).map(|t| t as f64 / n as f64);
    KnobFigure {
        setting,
        roots: tls.roots,
        client_cache: tls.client_cache as u64,
        kx: tls.kx,
        sessions: n,
        retained_bytes_per_session: per(freed),
        build_alloc_bytes: build_bytes
            .map(|b| b as f64 / SESSIONS_PER_VARIANT as f64)
            .filter(|_| n > 0),
        failed,
    }
}
