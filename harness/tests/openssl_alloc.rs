//! Issue 14, OpenSSL's heap under the counting allocator: once `count_openssl` has replaced
//! OpenSSL's allocator, a native-tls reqwest client's OpenSSL bytes are counted (non-zero),
//! are part of the process totals, and come back to the baseline when the clients are
//! dropped, so the size header leaves no drift between what is counted in and out.
//!
//! Its own binary: OpenSSL accepts a new allocator only before its first allocation, and the
//! counting allocator is per binary. One `#[test]`, on a current-thread runtime, so that every
//! OpenSSL call (and its per-thread state) stays on one thread. Only in a `native-tls` build.

#![cfg(feature = "native-tls")]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use harness::measure::alloc::{self, CountingAlloc};
use harness::tls::config::ClientTls;
use harness::tls::server::{Server, ServerOptions};
use harness::tls::session::{Pooling, SessionFactory};
use harness::vocab::client::ClientKind;
use harness::vocab::server_cache::ServerCachePolicy;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const CLIENTS: usize = 8;

fn openssl_live() -> u64 {
    alloc::openssl_heap().expect("OpenSSL counted").live_bytes
}

#[test]
fn openssl_bytes_are_counted_and_return_to_baseline() {
    // First, before anything in this process touches OpenSSL.
    alloc::count_openssl().expect("OpenSSL accepts the counting allocator");
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = harness::tls::certs::generate(dir.path()).expect("certificates");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = Server::start(
            &certs,
            &ServerOptions {
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                tls: TlsVersion::V13,
                body_bytes: 128,
                cache: ServerCachePolicy::Bounded { capacity: 256 },
                witness: false,
            },
        )
        .await
        .expect("server");
        let uri: hyper::Uri = format!("https://localhost:{}/", server.addr.port())
            .parse()
            .expect("uri");
        let tls = ClientTls::new(
            TlsVersion::V13,
            KxChoice::Default,
            RootsChoice::Ca,
            vec![certs.ca.clone()],
            256,
        );
        let factory = SessionFactory::with_kind(ClientKind::ReqwestNative, tls);
        factory.warm_up().expect("warm-up");
        let one = || async {
            let s = factory.build(Pooling::KeepAlive).expect("build");
            s.get(&uri).await.expect("request");
            s
        };
        // One client built, used and dropped first: OpenSSL's one-time state (providers,
        // algorithm caches, this thread's random generators) is then part of the baseline.
        drop(one().await);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let base = openssl_live();
        let before = alloc::openssl_heap().expect("counted");
        let process_before = alloc::heap().expect("counting allocator");
        let mut held = Vec::new();
        for _ in 0..CLIENTS {
            held.push(one().await);
        }
        let during = alloc::openssl_heap().expect("counted");
        let process_during = alloc::heap().expect("counting allocator");
        let allocated = during.total_bytes - before.total_bytes;
        assert!(
            allocated > 0,
            "OpenSSL allocated nothing for {CLIENTS} clients"
        );
        assert!(
            during.live_bytes > base,
            "clients held no OpenSSL bytes: {} vs baseline {base}",
            during.live_bytes
        );
        // OpenSSL's bytes are part of the whole, not beside it.
        assert!(
            process_during.total_bytes - process_before.total_bytes >= allocated,
            "the process totals miss OpenSSL's bytes"
        );
        drop(held);
        // Dropped clients close their connections on their tasks: wait for that, bounded.
        let back = settle(|| openssl_live() == base).await;
        assert!(
            back,
            "OpenSSL live bytes {} did not return to the baseline {base} after the clients were dropped",
            openssl_live()
        );
        drop(server);
    });
}

/// Lets the runtime run connection tasks until `done` or a hang guard.
async fn settle(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if done() || Instant::now() > deadline {
            return done();
        }
    }
}
