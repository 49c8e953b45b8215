//! What a TLS client session costs, per operation: time and heap figures (docs/benchmarks.md).

#[global_allocator]
static ALLOC: harness::measure::alloc::CountingAlloc = harness::measure::alloc::CountingAlloc;

mod support;

use std::sync::atomic::Ordering::Relaxed;

use harness::measure::{alloc, settle};
use harness::tls::connector::ConnStats;
use harness::tls::connector::ConnUse::{self, NewFull, NewResumed, Reused};
use harness::tls::session::Pooling::{KeepAlive, NoIdle};
use harness::tls::session::{Outcome, RequestError, Session};
use harness::vocab::client::ClientKind::{Hyper, Reqwest, ReqwestNative};
use harness::vocab::defaults::{BODY_BYTES, CLIENT_CACHE};
use harness::vocab::tls::{RootsChoice, TlsVersion};
use hyper::Uri;

use support::fixture::Fixture;
use support::group::{Group, Outputs, Suite};

/// Building a session and nothing else, its drop timed; `client-held` is what one built session
/// keeps. Without OS roots (`system` false) the `system` cases are skipped. A build opens no
/// connection, so every case settles on the server's counters.
fn bench_build(suite: &mut Suite, fx: &Fixture, system: bool, native: bool) {
    let mut g = Group::new(suite, &fx.rt, "build", false);
    let server = fx.server_stats(TlsVersion::V13);
    let mut case = |id: &str, kind, roots, cache| {
        let factory = fx.factory(kind, TlsVersion::V13, roots, cache);
        g.case(id, &server, Outputs::DropTimed, || async {
            factory.build(KeepAlive).expect("build a session")
        });
    };
    for roots in [RootsChoice::Ca, RootsChoice::Webpki] {
        for cache in [CLIENT_CACHE, 0] {
            case(&format!("{roots}/cache{cache}"), Hyper, roots, cache);
        }
    }

    // The OS store is read and parsed anew per build, as a client with default "system roots"
    // does; cache 256, to compare with `build/ca/cache256`.
    for (kind, roots, runs) in [
        (Hyper, RootsChoice::System, system),
        (Reqwest, RootsChoice::Ca, true),
        (Reqwest, RootsChoice::Webpki, true),
        (Reqwest, RootsChoice::System, system),
        (ReqwestNative, RootsChoice::Ca, native),
        (ReqwestNative, RootsChoice::System, native && system),
    ] {
        if runs {
            case(&format!("{kind}/{roots}"), kind, roots, CLIENT_CACHE);
        }
    }
    g.finish();
}

/// One request on a new connection (full or resumed handshake) or on a reused one.
fn bench_request(suite: &mut Suite, fx: &Fixture) {
    let mut g = Group::new(suite, &fx.rt, "request", true);
    for v in [TlsVersion::V13, TlsVersion::V12] {
        // Resumed: warmed until the store holds the server's tickets (TLS 1.3) or session ID
        // (TLS 1.2). Reused: one keep-alive connection carries every request.
        for (name, warm, want) in [
            ("full", &[][..], NewFull),
            ("resumed", &[NewFull, NewResumed][..], NewResumed),
            ("reused", &[NewFull, Reused][..], Reused),
        ] {
            session_case(&mut g, fx, &format!("{name}/tls{v}"), v, warm, want);
        }
    }
    g.finish();
}

/// One request in each session mode, pooled as the load generator pools it: keep-alive for
/// fresh, leak and shared; no idle for resume.
fn bench_modes(suite: &mut Suite, fx: &Fixture, native: bool) {
    let mut g = Group::new(suite, &fx.rt, "mode", true);
    let v = TlsVersion::V13;
    let uri = &fx.uri(v);

    // fresh: build + request + invalidate, all timed, up to the connection's close. leak: the
    // session is returned with its open connection, dropped unmeasured.
    for (mode, invalidate) in [("fresh", true), ("leak", false)] {
        let (factory, stats) = fx.hyper(v, CLIENT_CACHE);
        let (f, st) = (&factory, &*stats);
        g.case(mode, st, Outputs::HoldUntimed, || async move {
            let session = f.build(KeepAlive).expect("build a session");
            expect_ok(session.get(uri).await, Some(NewFull), mode);
            if !invalidate {
                return Some(session);
            }
            drop(session);
            settle::connections(st, 0).await.expect("connections close");
            None
        });
    }

    session_case(&mut g, fx, "shared", v, &[NewFull], Reused);
    session_case(&mut g, fx, "resume", v, &[NewFull], NewResumed);

    // reqwest's connections are not visible, so every step checks the server's counters and
    // the cases settle on them.
    let server = fx.server_stats(v);
    let sv = &*server;
    for kind in [Reqwest, ReqwestNative] {
        if kind == ReqwestNative && !native {
            continue;
        }
        fx.rt
            .block_on(settle::connections(sv, 0))
            .expect("connections close");
        let factory = fx.factory(kind, v, RootsChoice::Ca, CLIENT_CACHE);

        // fresh: build + request + drop, all timed, up to the end of the tasks the client
        // spawned (its connection task, its pool's idle reaper).
        let (f, id) = (&factory, &format!("{kind}/fresh"));
        g.case(id, sv, Outputs::HoldUntimed, || async move {
            let tasks = settle::alive_tasks().expect("steps run on the client runtime");
            let session = f.build(KeepAlive).expect("build a reqwest client");
            get_checked_by_server(&session, sv, uri, NewFull, id).await;
            drop(session);
            settle::tasks(tasks).await.expect("client tasks end");
        });

        let session = factory.build(KeepAlive).expect("build a reqwest client");
        fx.rt
            .block_on(get_checked_by_server(&session, sv, uri, NewFull, "warm-up"));
        let (s, id) = (&session, &format!("{kind}/shared"));
        g.case(id, sv, Outputs::HoldUntimed, || async move {
            get_checked_by_server(s, sv, uri, Reused, id).await;
        });
        drop(session);
        fx.rt
            .block_on(settle::connections(sv, 0))
            .expect("connections close");
    }
    g.finish();
}

/// One request per step on one hyper session, each on a `want` connection, after warm-up
/// requests on `warm` ones. Unless it reuses a connection, the session keeps no idle one and
/// every request waits for its close: connect + handshake + request + close. For a full
/// handshake resumption is off (client cache 0).
fn session_case(
    g: &mut Group,
    fx: &Fixture,
    id: &str,
    v: TlsVersion,
    warm: &[ConnUse],
    want: ConnUse,
) {
    let cache = if want == NewFull { 0 } else { CLIENT_CACHE };
    let ((factory, stats), uri) = (fx.hyper(v, cache), fx.uri(v));
    let closes = want != Reused;
    let pooling = if closes { NoIdle } else { KeepAlive };
    let session = factory.build(pooling).expect("build a session");
    fx.rt.block_on(async {
        for &w in warm {
            checked_get(&session, &stats, &uri, w, closes).await;
        }
    });
    let (s, st, uri) = (&session, &*stats, &uri);
    g.case(id, st, Outputs::HoldUntimed, || async move {
        checked_get(s, st, uri, want, closes).await
    });
    drop(session);
    fx.rt
        .block_on(settle::connections(&stats, 0))
        .expect("connections close");
}

/// One GET on the expected kind of connection; with `closes`, waits until it has closed.
async fn checked_get(session: &Session, stats: &ConnStats, uri: &Uri, want: ConnUse, closes: bool) {
    expect_ok(session.get(uri).await, Some(want), &format!("{want:?}"));
    if closes {
        settle::connections(stats, 0)
            .await
            .expect("connections close");
    }
}

/// Checks a request succeeded with the whole body on the expected kind of connection (`None`:
/// a client that does not say, reqwest).
fn expect_ok(out: Result<Outcome, RequestError>, conn: Option<ConnUse>, what: &str) {
    let out = out.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    assert_eq!(out.body_bytes, BODY_BYTES as usize, "{what}: short body");
    assert_eq!(out.conn, conn, "{what}: not on the expected connection");
}

/// The server's (connections, full handshakes, resumed handshakes, requests) now.
fn server_counts(s: &ConnStats) -> [u64; 4] {
    [
        &s.opened,
        &s.handshakes_full,
        &s.handshakes_resumed,
        &s.requests,
    ]
    .map(|c| c.load(Relaxed))
}

/// One GET checked from the server's side, for a client that cannot say which connection a
/// response travelled on (reqwest). The counters move before the response is written, and the
/// bench thread is the server's only client, so they show what the request did.
async fn get_checked_by_server(
    session: &Session,
    server: &ConnStats,
    uri: &Uri,
    want: ConnUse,
    what: &str,
) {
    let before = server_counts(server);
    expect_ok(session.get(uri).await, None, what);
    let after = server_counts(server);
    let got: [u64; 4] = std::array::from_fn(|i| after[i] - before[i]);
    let expected = match want {
        NewFull => [1, 1, 0, 1],
        NewResumed => [1, 0, 1, 1],
        Reused => [0, 0, 0, 1],
    };
    assert_eq!(
        got, expected,
        "{what}: server saw (connections, full, resumed, requests) = {got:?}, \
         expected {expected:?} for {want:?}"
    );
}

/// The retention store's own cost per entry at steady state (1,000 live entries: a 1 s TTL at
/// one insert per virtual millisecond). The entries share one `ClientConfig`, so this is the
/// store, not the session's bytes (those are `client-held/build/*`).
fn bench_retention(suite: &mut Suite, fx: &Fixture) {
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;
    use std::time::Duration;

    use harness::contract::plan::RetentionSpec;
    use harness::run::retention::RetentionStore;

    let stats = fx.server_stats(TlsVersion::V13);
    let tls = fx.tls(TlsVersion::V13, RootsChoice::Ca, CLIENT_CACHE);
    let state = Arc::new(tls.client_config().expect("a client config"));
    let store = RefCell::new(RetentionStore::new(RetentionSpec {
        ttl: Duration::from_secs(1),
        cap: None,
    }));
    let clock = Cell::new(0.0f64);
    for _ in 0..1000 {
        clock.set(clock.get() + 0.001);
        store.borrow_mut().insert(clock.get(), state.clone());
    }
    let mut g = Group::new(suite, &fx.rt, "retention", false);
    let (store, clock, state) = (&store, &clock, &state);
    g.case("insert_expire", &stats, Outputs::DropTimed, || async move {
        clock.set(clock.get() + 0.001);
        store.borrow_mut().insert(clock.get(), state.clone());
    });
    g.finish();
}

fn main() {
    // First: OpenSSL accepts a new allocator only before its first allocation. Without it the
    // reqwest-native rows would report Rust's bytes as the whole, so they are skipped.
    let native = alloc::count_openssl();
    match &native {
        Ok(()) => println!(
            "note: a native-tls build: the reqwest (rustls) rows with roots ca or system \
             include OpenSSL parsing their certificates (summary method.reqwest_native_tls)"
        ),
        Err(alloc::OpensslCountError::NotBuilt) => println!(
            "note: reqwest-native rows skipped: built without OpenSSL (cargo bench \
             --features native-tls; needs apt-get install libssl-dev pkg-config)"
        ),
        Err(e) => println!("note: reqwest-native rows skipped: {e}"),
    }
    let native = native.is_ok();
    let mut suite = Suite::from_args();
    let fx = Fixture::new();
    let system = harness::tls::config::system_roots()
        .inspect_err(|e| println!("note: build/hyper/system and build/reqwest/system skipped: {e}"))
        .is_ok();
    bench_build(&mut suite, &fx, system, native);
    bench_request(&mut suite, &fx);
    bench_modes(&mut suite, &fx, native);
    bench_retention(&mut suite, &fx);
    suite.finish();
}
