//! Instructions per operation under callgrind, client and server apart (docs/benchmarks.md).

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gungraun::{
    library_benchmark, library_benchmark_group, main, Callgrind, EntryPoint, LibraryBenchmarkConfig,
};
use harness::tls::config::{self, ClientTls};
use harness::tls::session::{Pooling, SessionFactory};
use harness::tls::store::SessionStore;
use harness::vocab::client::ClientKind;
use harness::vocab::defaults::{BODY_BYTES, CLIENT_CACHE};
use harness::vocab::server_cache::ServerCachePolicy;
use harness::vocab::tls::{RootsChoice, TlsVersion};
use rustls::pki_types::ServerName;
use rustls::HandshakeKind::{self, Full, Resumed};
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection};

use bench_tls::{certs, client_tls};

#[path = "support/bench_tls.rs"]
mod bench_tls;

/// The request; the response has the harness server's default body, as in the criterion benches.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";

/// Set while the benchmark's operation runs (not in its setup): only then do the turns go
/// through [`counted_client`] and [`counted_server`], whose entry toggles callgrind's counting.
static MEASURING: AtomicBool = AtomicBool::new(false);

/// Runs `f` as one side's work: inside `counted` while the operation is measured.
fn work(counted: fn(&mut dyn FnMut()), f: &mut dyn FnMut()) {
    if MEASURING.load(Ordering::Relaxed) {
        counted(f)
    } else {
        f()
    }
}

/// Client work while measuring. Not inlined, so callgrind toggles its counting on entry and
/// exit ([`side`]); the `black_box`ed tag keeps LLVM from merging it with [`counted_server`].
#[inline(never)]
fn counted_client(f: &mut dyn FnMut()) {
    black_box(0u8);
    f()
}

/// Server work while measuring (`--toggle-collect=*counted_server*`).
#[inline(never)]
fn counted_server(f: &mut dyn FnMut()) {
    black_box(1u8);
    f()
}

/// Runs the benchmark's operation `f` with its turns counted.
fn measure<T>(f: impl FnOnce() -> T) -> T {
    MEASURING.store(true, Ordering::Relaxed);
    let out = f();
    MEASURING.store(false, Ordering::Relaxed);
    out
}

/// One client and one server, their TLS configurations, and the two directions' buffers.
struct Pair {
    client_cfg: Arc<ClientConfig>,
    server_cfg: Arc<ServerConfig>,
    client: Option<ClientConnection>,
    server: Option<ServerConnection>,
    /// Client to server, and server to client, TLS bytes in flight.
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    /// What each side has read of the other's plaintext so far.
    request_in: Vec<u8>,
    response_in: Vec<u8>,
    response: Vec<u8>,
    /// What one benchmark does once: a new connection and a request on it, with this handshake,
    /// closed after; or (`None`) a request on the open connection.
    op: Option<HandshakeKind>,
    /// `mode/fresh`: the client's TLS settings, to build a new `ClientConfig` per operation.
    fresh: Option<ClientTls>,
}

impl Pair {
    fn new(version: TlsVersion, client_cache: usize, op: Option<HandshakeKind>) -> Self {
        let certs = certs();
        let client_tls = client_tls(&certs, version, RootsChoice::Ca, client_cache);
        let store = Arc::new(SessionStore::new(ServerCachePolicy::default()));
        let server_cfg =
            Arc::new(config::server_config(&certs, version, store).expect("a server config"));
        // Seed aws-lc's random generator now, uncounted (a one-time cost per process).
        config::warm_up(&client_tls.provider).expect("seed the random generator");
        let mut response = format!("HTTP/1.1 200 OK\r\ncontent-length: {BODY_BYTES}\r\n\r\n");
        response.extend(std::iter::repeat_n('x', BODY_BYTES as usize));
        Self {
            client_cfg: Arc::new(client_tls.client_config().expect("a client config")),
            server_cfg,
            client: None,
            server: None,
            c2s: Vec::new(),
            s2c: Vec::new(),
            request_in: Vec::new(),
            response_in: Vec::new(),
            response: response.into_bytes(),
            op,
            fresh: None,
        }
    }

    /// The client's turn: open the connection and queue the request if there is none.
    fn client_turn(&mut self) {
        work(counted_client, &mut || {
            let conn = self.client.get_or_insert_with(|| {
                let name = ServerName::try_from("localhost").expect("a server name");
                let mut conn = ClientConnection::new(self.client_cfg.clone(), name)
                    .expect("a client connection");
                conn.writer().write_all(REQUEST).expect("queue the request");
                conn
            });
            receive(conn, &mut self.s2c, &mut self.response_in);
            send(conn, &mut self.c2s);
        });
    }

    /// The server's turn: accept the connection if there is none, answer a complete request.
    fn server_turn(&mut self) {
        work(counted_server, &mut || {
            let conn = self.server.get_or_insert_with(|| {
                ServerConnection::new(self.server_cfg.clone()).expect("a server connection")
            });
            let closed = receive(conn, &mut self.c2s, &mut self.request_in);
            if self.request_in.ends_with(b"\r\n\r\n") {
                self.request_in.clear();
                conn.writer()
                    .write_all(&self.response)
                    .expect("queue the response");
            }
            if closed {
                conn.send_close_notify();
            }
            send(conn, &mut self.s2c);
        });
    }

    /// Turns until the client has the whole response and nothing is in flight.
    fn request(&mut self) {
        if let Some(conn) = self.client.as_mut() {
            work(counted_client, &mut || {
                conn.writer().write_all(REQUEST).expect("queue the request");
            });
        }
        self.response_in.clear();
        for _ in 0..16 {
            self.client_turn();
            self.server_turn();
            if self.response_in.len() == self.response.len() && self.s2c.is_empty() {
                assert_eq!(self.response_in, self.response, "the whole response");
                return;
            }
        }
        panic!("no response after 16 turns");
    }

    /// Both ends close (close_notify each way) and drop their connections.
    fn close(&mut self) {
        work(counted_client, &mut || {
            let conn = self.client.as_mut().expect("an open client connection");
            conn.send_close_notify();
            send(conn, &mut self.c2s);
        });
        self.server_turn();
        self.client_turn();
        work(counted_client, &mut || drop(self.client.take()));
        work(counted_server, &mut || drop(self.server.take()));
    }
}

/// Takes in the peer's TLS bytes from `input` and the plaintext they carry into `plaintext`;
/// true when the peer has closed.
fn receive<D>(
    conn: &mut ConnectionCommon<D>,
    input: &mut Vec<u8>,
    plaintext: &mut Vec<u8>,
) -> bool {
    let mut rest = &input[..];
    let mut closed = false;
    while !rest.is_empty() {
        conn.read_tls(&mut rest).expect("read TLS from the peer");
        closed |= conn
            .process_new_packets()
            .expect("the peer's records")
            .peer_has_closed();
    }
    input.clear();
    let (mut reader, mut buf) = (conn.reader(), [0u8; 4096]);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return closed,
            Ok(n) => plaintext.extend_from_slice(&buf[..n]),
            // No plaintext for now: rustls says so with WouldBlock.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return closed,
            Err(e) => panic!("reading plaintext: {e}"),
        }
    }
}

/// Writes the TLS bytes `conn` has due into `out`.
fn send<D>(conn: &mut ConnectionCommon<D>, out: &mut Vec<u8>) {
    while conn.wants_write() {
        conn.write_tls(out).expect("write TLS to the buffer");
    }
}

/// A new connection, handshake, request, close.
fn connect_request_close(pair: &mut Pair, expect: HandshakeKind) {
    pair.request();
    let kind = pair.client.as_ref().and_then(|c| c.handshake_kind());
    assert_eq!(kind, Some(expect), "handshake kind");
    pair.close();
}

/// Setup (uncounted): a pair ready for `op`, warmed by one run of it so its one-time costs are
/// paid and, for `Resumed`, the client holds the server's ticket or session ID.
fn prepare(op: Option<HandshakeKind>, version: TlsVersion) -> Pair {
    let cache = if op == Some(Full) { 0 } else { CLIENT_CACHE };
    let mut pair = Pair::new(version, cache, op);
    connect_request_close(&mut pair, Full);
    if op.is_none() {
        pair.request();
    }
    run(pair)
}

fn run(mut pair: Pair) -> Pair {
    match pair.op {
        Some(kind) => connect_request_close(&mut pair, kind),
        None => pair.request(),
    }
    pair
}

/// Counts only inside `counted`: the `--toggle-collect` pattern is made from the function's own
/// name, so renaming it moves the toggle with it (a toggle matching nothing counts 0).
fn side<F>(_counted: F) -> LibraryBenchmarkConfig {
    let path = std::any::type_name::<F>();
    let name = path.rsplit("::").next().unwrap_or(path);
    let toggle = format!("--toggle-collect=*{name}*");
    let mut cfg = LibraryBenchmarkConfig::default();
    cfg.tool(
        Callgrind::with_args(["--cache-sim=no", "--collect-atstart=no", &toggle])
            .entry_point(EntryPoint::None),
    );
    cfg
}

// One request on a new connection, full (resumption off) or resumed, or on an open one.
#[library_benchmark]
#[bench::full_tls13_client(args = (Some(Full), TlsVersion::V13), setup = prepare, config = side(counted_client))]
#[bench::full_tls13_server(args = (Some(Full), TlsVersion::V13), setup = prepare, config = side(counted_server))]
#[bench::resumed_tls13_client(args = (Some(Resumed), TlsVersion::V13), setup = prepare, config = side(counted_client))]
#[bench::resumed_tls13_server(args = (Some(Resumed), TlsVersion::V13), setup = prepare, config = side(counted_server))]
#[bench::reused_tls13_client(args = (None, TlsVersion::V13), setup = prepare, config = side(counted_client))]
#[bench::reused_tls13_server(args = (None, TlsVersion::V13), setup = prepare, config = side(counted_server))]
#[bench::full_tls12_client(args = (Some(Full), TlsVersion::V12), setup = prepare, config = side(counted_client))]
#[bench::full_tls12_server(args = (Some(Full), TlsVersion::V12), setup = prepare, config = side(counted_server))]
#[bench::resumed_tls12_client(args = (Some(Resumed), TlsVersion::V12), setup = prepare, config = side(counted_client))]
#[bench::resumed_tls12_server(args = (Some(Resumed), TlsVersion::V12), setup = prepare, config = side(counted_server))]
#[bench::reused_tls12_client(args = (None, TlsVersion::V12), setup = prepare, config = side(counted_client))]
#[bench::reused_tls12_server(args = (None, TlsVersion::V12), setup = prepare, config = side(counted_server))]
fn request(pair: Pair) -> Pair {
    black_box(measure(|| run(pair)))
}

/// Setup of `mode/fresh` (uncounted): a pair whose client builds its `ClientConfig` anew per
/// operation, warmed by one fresh operation.
fn fresh13() -> Pair {
    let mut pair = prepare(Some(Full), TlsVersion::V13);
    let tls = client_tls(&certs(), TlsVersion::V13, RootsChoice::Ca, CLIENT_CACHE);
    pair.fresh = Some(tls);
    fresh(&mut pair);
    pair
}

/// A fresh session's request at the TLS layer: a new `ClientConfig` replacing the previous one
/// (whose drop is counted too, as the end of the previous session), a full handshake, the
/// request, close.
fn fresh(pair: &mut Pair) {
    let tls = pair.fresh.as_ref().expect("a fresh pair");
    work(counted_client, &mut || {
        pair.client_cfg = Arc::new(tls.client_config().expect("a client config"));
    });
    connect_request_close(pair, Full);
}

// `mode/fresh`, client and server: one request on a fresh session (see [`fresh`]). Its
// counterpart `mode/shared` — one request on a shared session's open connection — is
// `request/reused/tls1.3` exactly, so it is not run twice.
#[library_benchmark]
#[bench::fresh_client(setup = fresh13, config = side(counted_client))]
#[bench::fresh_server(setup = fresh13, config = side(counted_server))]
fn mode(mut pair: Pair) -> Pair {
    measure(|| fresh(&mut pair));
    black_box(pair)
}

/// Setup of `build/*` (uncounted): a session factory, warmed by one build. Building draws no
/// random numbers, so aws-lc's generator is not seeded here (seeding takes ~3 s under callgrind).
fn factory(kind: ClientKind, roots: RootsChoice, cache: usize) -> SessionFactory {
    if roots == RootsChoice::System {
        if let Err(e) = config::system_roots() {
            panic!("build/*/system needs the OS root store: {e}");
        }
    }
    let tls = client_tls(&certs(), TlsVersion::V13, roots, cache);
    let factory = SessionFactory::with_kind(kind, tls);
    drop(factory.build(Pooling::KeepAlive).expect("build a session"));
    factory
}

// `build/*`: building a session and dropping it, client only, counted over the whole benchmark
// function (gungraun's default entry point).
#[library_benchmark]
#[bench::ca_cache256(args = (ClientKind::Hyper, RootsChoice::Ca, CLIENT_CACHE), setup = factory)]
#[bench::ca_cache0(args = (ClientKind::Hyper, RootsChoice::Ca, 0), setup = factory)]
#[bench::webpki_cache256(args = (ClientKind::Hyper, RootsChoice::Webpki, CLIENT_CACHE), setup = factory)]
#[bench::webpki_cache0(args = (ClientKind::Hyper, RootsChoice::Webpki, 0), setup = factory)]
#[bench::hyper_system(args = (ClientKind::Hyper, RootsChoice::System, CLIENT_CACHE), setup = factory)]
#[bench::reqwest_ca(args = (ClientKind::Reqwest, RootsChoice::Ca, CLIENT_CACHE), setup = factory)]
#[bench::reqwest_webpki(args = (ClientKind::Reqwest, RootsChoice::Webpki, CLIENT_CACHE), setup = factory)]
#[bench::reqwest_system(args = (ClientKind::Reqwest, RootsChoice::System, CLIENT_CACHE), setup = factory)]
fn build(factory: SessionFactory) -> SessionFactory {
    drop(black_box(
        factory.build(Pooling::KeepAlive).expect("build a session"),
    ));
    factory
}

library_benchmark_group!(name = build_group, benchmarks = build);
library_benchmark_group!(name = request_group, benchmarks = request);
library_benchmark_group!(name = mode_group, benchmarks = mode);

/// What is missing for the suite to run, if anything, looked up as the runner looks it up
/// (`GUNGRAUN_RUNNER` read at compile time, `GUNGRAUN_VALGRIND_BIN`, else PATH).
fn missing_tool() -> Option<String> {
    // The one place gungraun is pinned (`.ci/run` reads the same line).
    let version = include_str!("../Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("gungraun = \"=")?.strip_suffix('"'))
        .expect("Cargo.toml pins gungraun as `gungraun = \"=X\"`");
    let install_runner = format!(
        "cargo install --locked gungraun-runner --version {version} (docs/benchmarks.md, \"Instructions\")"
    );
    let answer = |exe: &str| {
        std::process::Command::new(exe)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let valgrind = std::env::var("GUNGRAUN_VALGRIND_BIN").unwrap_or_else(|_| "valgrind".into());
    if answer(&valgrind).is_none() {
        return Some(format!(
            "valgrind is not installed (`{valgrind} --version` did not run); install it with \
             apt-get install valgrind"
        ));
    }
    let runner = option_env!("GUNGRAUN_RUNNER").unwrap_or("gungraun-runner");
    match answer(runner) {
        None => Some(format!(
            "gungraun-runner is not installed (`{runner} --version` did not run); install it \
             with {install_runner}"
        )),
        Some(v) if v.split_whitespace().nth(1) != Some(version) => Some(format!(
            "`{runner} --version` says `{v}`, but this bench is built with gungraun {version}; \
             install the same version with {install_runner}"
        )),
        Some(_) => None,
    }
}

/// Runs before gungraun starts the runner (docs/benchmarks.md, "Missing tools are a skip"). No
/// cache simulation: it would double callgrind's run time for figures nothing here reads.
fn config_if_tools_present() -> LibraryBenchmarkConfig {
    if let Some(why) = missing_tool() {
        if std::env::var_os("TLS_SESSION_COST_CI").is_some() {
            eprintln!("instructions: FAILED, not run (TLS_SESSION_COST_CI is set): {why}");
            std::process::exit(1);
        }
        eprintln!("instructions: SKIPPED, no instruction counted: {why}");
        std::process::exit(0);
    }
    let mut cfg = LibraryBenchmarkConfig::default();
    cfg.tool(Callgrind::with_args(["--cache-sim=no"]));
    cfg
}

main!(
    config = config_if_tools_present();
    library_benchmark_groups = build_group, request_group, mode_group
);
