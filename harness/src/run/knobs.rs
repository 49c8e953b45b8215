//! The knob probe: b and bytes per build under each client setting, in the fresh leg's worker.

use std::time::Duration;

use crate::contract::probes::{Knob, KnobFigure, Settings};
use crate::measure::alloc;
use crate::run::assemble::per;
use crate::tls::certs::CertSet;
use crate::tls::config::ClientTls;
use crate::tls::server::{Server, ServerOptions};
use crate::tls::session::{Pooling, SessionFactory};
use crate::vocab::server_cache::ServerCachePolicy;

/// Sessions measured per variant.
pub const SESSIONS_PER_VARIANT: usize = 16;

/// The run's own settings (setting `""`), then one variant per [`Knob`] the run does not
/// already use.
fn variants(base: &ClientTls) -> Vec<(String, ClientTls)> {
    let own = Settings {
        roots: base.roots,
        client_cache: base.client_cache as u64,
        kx: base.kx,
    };
    let mut v = vec![(String::new(), base.clone())];
    for knob in Knob::ALL.into_iter().filter(|k| !k.in_use(&own)) {
        let s = knob.apply(&own);
        let (version, trusted) = (base.version, base.trusted.to_vec());
        let tls = ClientTls::new(version, s.kx, s.roots, trusted, s.client_cache as usize);
        v.push((knob.setting(), tls));
    }
    v
}

/// Measures every variant of `base` against a private server presenting `certs` (the run's
/// server counters stay untouched): a few fresh sessions each make one request and are kept
/// invalidated; dropping each then frees on this thread exactly what it held with that setting.
pub async fn probe(base: &ClientTls, certs: &CertSet) -> Result<Vec<KnobFigure>, String> {
    let opts = ServerOptions {
        port: 0,
        tls: base.version,
        body_bytes: crate::vocab::defaults::BODY_BYTES,
        cache: ServerCachePolicy::default(),
        witness: false,
    };
    let server = Server::start(certs, &opts)
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
    let factory = SessionFactory::with_kind(crate::vocab::client::ClientKind::Hyper, tls.clone());
    let mut states = Vec::with_capacity(SESSIONS_PER_VARIANT);
    let mut build_bytes = Some(0u64);
    let mut failed = 0;
    for _ in 0..SESSIONS_PER_VARIANT {
        let (built, counted) = alloc::measure_thread(|| factory.build(Pooling::KeepAlive));
        let Ok(session) = built else {
            failed += 1;
            continue;
        };
        if session.get(uri).await.is_err() {
            // No tickets, perhaps no connection: not what a retained session holds. Left out
            // of both figures (dropped here, outside any count) and counted in `failed`.
            failed += 1;
            continue;
        }
        build_bytes = build_bytes.zip(counted).map(|(a, c)| a + c.bytes);
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
    KnobFigure {
        setting,
        roots: tls.roots,
        client_cache: tls.client_cache as u64,
        kx: tls.kx,
        sessions: n,
        retained_bytes_per_session: per(freed, n),
        build_alloc_bytes: per(build_bytes, n),
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

    fn tls(roots: RootsChoice, client_cache: usize, kx: KxChoice) -> ClientTls {
        ClientTls::new(TlsVersion::V13, kx, roots, Vec::new(), client_cache)
    }

    /// Sessions whose request failed are counted, not measured: against a port nobody
    /// listens on, every request fails and no figure is made from them.
    #[test]
    fn failed_sessions_are_counted_not_measured() {
        let closed = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let uri: hyper::Uri = format!("https://localhost:{}/", closed.port())
            .parse()
            .expect("uri");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let tls = tls(RootsChoice::Ca, 256, KxChoice::Default);
        let k = rt.block_on(measure(String::new(), tls, &uri));
        assert_eq!((k.sessions, k.failed), (0, SESSIONS_PER_VARIANT as u64));
        assert_eq!(k.retained_bytes_per_session, None);
        assert_eq!(k.build_alloc_bytes, None);
    }

    #[test]
    fn a_variant_per_knob_the_run_does_not_use() {
        let names = |t: &ClientTls| variants(t).into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(
            names(&tls(RootsChoice::Webpki, 256, KxChoice::Default)),
            [
                "",
                "--client-cache 0",
                "--client-cache 8",
                "--roots ca",
                "--kx x25519"
            ]
        );
        // Everything already as lean as the knobs go: only the run's own settings.
        assert_eq!(names(&tls(RootsChoice::Ca, 0, KxChoice::X25519)), [""]);
        assert_eq!(
            names(&tls(RootsChoice::Ca, 8, KxChoice::Default)),
            ["", "--client-cache 0", "--kx x25519"]
        );
        // Each variant turns its knob and nothing else.
        let v = variants(&tls(RootsChoice::Webpki, 256, KxChoice::Default));
        let (_, roots) = &v[3];
        assert_eq!(
            (roots.roots, roots.client_cache, roots.kx),
            (RootsChoice::Ca, 256, KxChoice::Default)
        );
    }
}
