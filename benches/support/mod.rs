//! Machinery shared by the criterion benches: the server fixture, the timed driver, the
//! allocator "bytes pass" that runs beside criterion, and the final table / `bytes.json`.
//!
//! Threads. The HTTPS servers run on their own multi-thread tokio runtime (one worker
//! thread, plus nothing else: the server never uses the blocking pool). The client is driven
//! on the bench thread by a current-thread runtime: hyper-util's legacy client spawns its
//! connection tasks with `tokio::spawn` (its `TokioExecutor`), which lands them on the
//! runtime whose context is current — the bench thread's current-thread runtime, whose tasks
//! only ever run inside `block_on` on that thread. So the bench thread's allocator counters
//! (`thread_counts()`) charge the client and nothing else.
//!
//! That claim is checked on every bytes pass rather than trusted: the server worker records
//! its own thread counters each time it parks (`on_thread_park`), and the pass reports
//! `unattributed = process-wide bytes − bench thread − server threads`. It is 0 when every
//! byte allocated during the pass was allocated on the bench thread or a server thread (no
//! hidden helper thread such as a DNS `spawn_blocking`, which the connector avoids for
//! `localhost`).
//!
//! reqwest sessions run the same way: reqwest's client is a hyper-util legacy client with a
//! `TokioExecutor` too, so its connection tasks *and* its pool's idle-reaper task (reqwest
//! gives the pool a timer, which the harness's hyper sessions do not have) are spawned onto
//! the bench thread's runtime; its `resolve` override keeps `localhost` off getaddrinfo's
//! blocking thread. The same `unattributed` column checks that claim for the reqwest rows.
//! What reqwest does not expose is its connections: for those rows the connection columns
//! and the per-request connection check come from the server's own counters
//! ([`Conns::Server`], [`ServerMark`]).

use std::cell::Cell;
use std::fmt::Write as _;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use harness::measure::alloc;
use harness::measure::alloc::{HeapStats, ThreadAllocs};
use harness::measure::settle;
use harness::tls::certs;
use harness::tls::certs::CertSet;
use harness::tls::config::ClientTls;
use harness::tls::connector::{ConnStats, ConnUse};
use harness::tls::server::{Server, ServerOptions};
use harness::tls::session::{Outcome, RequestError, Session, SessionFactory};
use harness::vocab::client::ClientKind;
use harness::vocab::server_cache::ServerCachePolicy;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};
use hyper::Uri;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::runtime::{Runtime, RuntimeFlavor};

/// Response body size: the harness's `--body-bytes` default.
pub const BODY_BYTES: usize = 128;
/// Iterations per timed `block_on` at most, and so the most outputs (for example leaked
/// sessions with their open connections) held at once before they are dropped untimed.
const CHUNK: u64 = 256;
/// Iterations per round of the bytes pass, and rounds (their spread is the determinism check).
const PASS_ITERS: u64 = 200;
const PASS_ROUNDS: usize = 3;
/// How long the bytes pass lets the server threads finish their side and park before it
/// reads the counters.
const QUIESCE: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Server-thread allocation counters

const SLOTS: usize = 16;
static SERVER_BYTES: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static SERVER_ALLOCS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static SERVER_FREED: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs on every server runtime thread at start, park and stop: publishes the thread's
/// cumulative allocator counters so the bytes pass can charge the server its share.
fn server_thread_checkpoint() {
    let Some(now) = alloc::thread_counts() else {
        return;
    };
    let slot = SLOT.with(|s| match s.get() {
        Some(i) => Some(i),
        None => {
            let i = NEXT_SLOT.fetch_add(1, Relaxed);
            (i < SLOTS).then(|| {
                s.set(Some(i));
                i
            })
        }
    });
    // A thread beyond SLOTS goes uncounted and shows up as "unattributed".
    if let Some(i) = slot {
        SERVER_BYTES[i].store(now.bytes, Relaxed);
        SERVER_ALLOCS[i].store(now.allocs, Relaxed);
        SERVER_FREED[i].store(now.freed, Relaxed);
    }
}

fn server_counts() -> ThreadAllocs {
    ThreadAllocs {
        bytes: SERVER_BYTES.iter().map(|a| a.load(Relaxed)).sum(),
        allocs: SERVER_ALLOCS.iter().map(|a| a.load(Relaxed)).sum(),
        freed: SERVER_FREED.iter().map(|a| a.load(Relaxed)).sum(),
    }
}

// ---------------------------------------------------------------------------------------------
// Fixture

/// The servers (TLS 1.3 and TLS 1.2, on their own runtime) and the client's runtime.
pub struct Fixture {
    servers: Vec<(TlsVersion, Server)>,
    _server_rt: Runtime,
    /// Current-thread runtime that drives every client on the bench thread.
    pub rt: Runtime,
    certs: CertSet,
}

impl Fixture {
    pub fn new() -> Self {
        // Certificates persist in `<target>/bench-certs` (reused while valid, regenerated by
        // `certs::ensure` a day before expiry) rather than in a temporary directory: a new CA
        // and leaf per run would shift every handshake's bytes by a few bytes run to run
        // (random serial numbers and ECDSA signature lengths change the DER sizes).
        let dir = target_dir().join("bench-certs");
        let (certs, _) = certs::ensure(&dir).expect("load or generate the CA and server leaf");
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
                    addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                    tls,
                    body_bytes: BODY_BYTES,
                    cache: ServerCachePolicy::default(),
                    witness: false,
                };
                // `start` spawns the accept loop onto the server runtime's worker.
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
        let (_, server) = self
            .servers
            .iter()
            .find(|(v, _)| *v == tls)
            .expect("a server for every TLS version");
        format!("https://localhost:{}/", server.addr.port())
            .parse()
            .expect("a valid URI")
    }

    /// The connection counters of the server speaking `tls`.
    pub fn server_stats(&self, tls: TlsVersion) -> Arc<ConnStats> {
        let (_, server) = self
            .servers
            .iter()
            .find(|(v, _)| *v == tls)
            .expect("a server for every TLS version");
        server.stats.clone()
    }

    /// A factory of hyper client sessions trusting the harness CA (plus `roots`).
    pub fn factory(
        &self,
        tls: TlsVersion,
        roots: RootsChoice,
        client_cache: usize,
    ) -> SessionFactory {
        self.factory_of(ClientKind::Hyper, tls, roots, client_cache)
    }

    /// A factory of `kind` client sessions trusting the harness CA (plus `roots`). For
    /// reqwest, `client_cache` only applies to roots `webpki` (the harness's own
    /// `ClientConfig`); with `ca` and `system` reqwest builds its config with rustls's
    /// default resumption store (256 entries).
    pub fn factory_of(
        &self,
        kind: ClientKind,
        tls: TlsVersion,
        roots: RootsChoice,
        client_cache: usize,
    ) -> SessionFactory {
        SessionFactory::with_kind(
            kind,
            ClientTls::new(
                tls,
                KxChoice::Default,
                roots,
                vec![self.certs.ca.clone()],
                client_cache,
            ),
        )
    }
}

/// The connection counters a case settles on and reports per iteration: the client's own
/// (hyper sessions' connector) or, where the client's connections are not visible
/// (reqwest), the server's — the same connections seen from the other end. Both are
/// [`ConnStats`]; which end they belong to is only needed to label the table.
#[derive(Debug, Clone, Copy)]
pub enum Conns<'a> {
    Client(&'a ConnStats),
    Server(&'a ConnStats),
}

impl<'a> Conns<'a> {
    fn stats(self) -> &'a ConnStats {
        match self {
            Conns::Client(s) | Conns::Server(s) => s,
        }
    }

    fn side(self) -> Side {
        match self {
            Conns::Client(_) => Side::Client,
            Conns::Server(_) => Side::Server,
        }
    }
}

/// Whose counters a row's conns/full/res columns are (`connections_counted_by` in
/// `bytes.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

/// The connection counters of a factory of hyper sessions (the only kind the benches build).
pub fn conn_stats(factory: &SessionFactory) -> Arc<ConnStats> {
    factory
        .stats()
        .expect("hyper sessions have connection counters")
        .clone()
}

/// Checks a request succeeded on the expected kind of connection.
pub fn expect_conn(out: Result<Outcome, RequestError>, want: ConnUse, what: &str) {
    let out = expect_body(out, what);
    assert_eq!(
        out.conn,
        Some(want),
        "{what}: the response did not travel on the expected kind of connection"
    );
}

/// Checks a request succeeded with the whole body.
fn expect_body(out: Result<Outcome, RequestError>, what: &str) -> Outcome {
    let out = out.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    assert_eq!(out.body_bytes, BODY_BYTES, "{what}: short body");
    out
}

/// The server's counters at one instant: for a client that cannot say which connection a
/// response travelled on (reqwest: `Outcome::conn` is `None`), the server can. Its
/// counters move before the response is written (connection accepted, handshake counted,
/// request counted), so once the client has the response they show what the request did.
/// Valid because the bench thread is the server's only client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerMark {
    conns: u64,
    full: u64,
    resumed: u64,
    requests: u64,
}

impl ServerMark {
    pub fn read(s: &ConnStats) -> Self {
        Self {
            conns: s.opened.load(Relaxed),
            full: s.handshakes_full.load(Relaxed),
            resumed: s.handshakes_resumed.load(Relaxed),
            requests: s.requests.load(Relaxed),
        }
    }

    /// Checks that exactly one request reached the server since `self`, on the expected
    /// kind of connection.
    pub fn expect(self, s: &ConnStats, want: ConnUse, what: &str) {
        let now = Self::read(s);
        let got = (
            now.conns - self.conns,
            now.full - self.full,
            now.resumed - self.resumed,
            now.requests - self.requests,
        );
        let expected = match want {
            ConnUse::NewFull => (1, 1, 0, 1),
            ConnUse::NewResumed => (1, 0, 1, 1),
            ConnUse::Reused => (0, 0, 0, 1),
        };
        assert_eq!(
            got, expected,
            "{what}: server saw (connections, full, resumed, requests) = {got:?}, \
             expected {expected:?} for {want:?}"
        );
    }
}

/// One GET on `session`, checked from the server's side (see [`ServerMark`]).
pub async fn get_checked_by_server(
    session: &Session,
    server: &ConnStats,
    uri: &Uri,
    want: ConnUse,
    what: &str,
) {
    let mark = ServerMark::read(server);
    expect_body(session.get(uri).await, what);
    mark.expect(server, want, what);
}

/// Tasks alive on the current runtime (the client's, on the bench thread): read before a
/// reqwest step so that the step can wait for the tasks it spawned to end
/// ([`settle::tasks`]).
pub fn alive_tasks() -> usize {
    settle::alive_tasks().expect("steps run on the client runtime")
}

// ---------------------------------------------------------------------------------------------
// Driving a case

/// Runs `n` steps in one `block_on`, pushing each step's output into `held` (pre-allocated by
/// the caller, so neither the timer nor the allocator counters see the vector). Returns the
/// time the steps took; `held` is dropped by the caller, outside the timed region.
fn run_chunk<H, F, Fut>(rt: &Runtime, step: &mut F, n: u64, held: &mut Vec<H>) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        let t0 = Instant::now();
        for _ in 0..n {
            held.push(step().await);
        }
        t0.elapsed()
    })
}

/// Runs `n` steps in one `block_on`, dropping each output at once, inside the timed region.
fn run_chunk_dropping<H, F, Fut>(rt: &Runtime, step: &mut F, n: u64) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        let t0 = Instant::now();
        for _ in 0..n {
            drop(step().await);
        }
        t0.elapsed()
    })
}

/// What the timed run does with a step's output (the bytes pass always holds outputs to the
/// end of its round, so that their size shows as "held").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    /// Dropped right away, the drop timed with the step. For cheap steps whose outputs are
    /// big (sessions): holding a chunk of them would time page faults and heap trimming
    /// rather than the step (a 256-session chunk of webpki sessions is ~15 MB).
    DropTimed,
    /// Held to the end of the chunk (at most `CHUNK` steps) and dropped untimed.
    HoldUntimed,
}

/// [`run_chunk`] for the bytes pass: also records each step's own bench-thread bytes and
/// allocations in `per_step` (pre-allocated too), to show how they vary step to step.
fn run_chunk_counted<H, F, Fut>(
    rt: &Runtime,
    step: &mut F,
    n: u64,
    held: &mut Vec<H>,
    per_step: &mut Vec<(u64, u64)>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        for _ in 0..n {
            let a = alloc::thread_counts().unwrap_or_default();
            held.push(step().await);
            let b = alloc::thread_counts().unwrap_or_default();
            per_step.push((b.bytes - a.bytes, b.allocs - a.allocs));
        }
    })
}

/// How the bytes pass runs, from the command line criterion was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassMode {
    /// `cargo bench`: full pass, table printed, `bytes.json` written.
    Full,
    /// `cargo test --benches` / `cargo bench -- --test`: one short round, nothing written.
    Quick,
    /// `--list`, `--profile-time`: no pass.
    Off,
}

impl PassMode {
    pub fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| {
            args.iter()
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        };
        if has("--list") || has("--profile-time") {
            PassMode::Off
        } else if has("--bench") && !has("--test") {
            PassMode::Full
        } else {
            PassMode::Quick
        }
    }
}

/// Counters at one instant, read after the server threads have gone quiet.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    client: ThreadAllocs,
    server: ThreadAllocs,
    process: HeapStats,
    opened: u64,
    full: u64,
    resumed: u64,
}

fn snapshot(stats: &ConnStats) -> Option<Snapshot> {
    std::thread::sleep(QUIESCE);
    Some(Snapshot {
        client: alloc::thread_counts()?,
        server: server_counts(),
        process: alloc::heap()?,
        opened: stats.opened.load(Relaxed),
        full: stats.handshakes_full.load(Relaxed),
        resumed: stats.handshakes_resumed.load(Relaxed),
    })
}

/// One round of the bytes pass, totals over its iterations.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    iters: u64,
    client_bytes: u64,
    client_allocs: u64,
    server_bytes: u64,
    server_allocs: u64,
    /// Allocated minus freed on the bench thread: what the client still holds at the end of
    /// the round (the held outputs, e.g. leaked sessions; ~0 for steps that clean up).
    client_net: i64,
    /// The same on the server threads (e.g. the server side of leaked connections).
    server_net: i64,
    unattributed_bytes: i64,
    live_delta: i64,
    conns: u64,
    full: u64,
    resumed: u64,
}

impl Round {
    fn between(a: &Snapshot, b: &Snapshot, iters: u64) -> Self {
        let process = b.process.total_bytes - a.process.total_bytes;
        let client = b.client.bytes - a.client.bytes;
        let server = b.server.bytes - a.server.bytes;
        Round {
            iters,
            client_bytes: client,
            client_allocs: b.client.allocs - a.client.allocs,
            server_bytes: server,
            server_allocs: b.server.allocs - a.server.allocs,
            client_net: client as i64 - (b.client.freed - a.client.freed) as i64,
            server_net: server as i64 - (b.server.freed - a.server.freed) as i64,
            unattributed_bytes: process as i64 - client as i64 - server as i64,
            live_delta: b.process.live_bytes as i64 - a.process.live_bytes as i64,
            conns: b.opened - a.opened,
            full: b.full - a.full,
            resumed: b.resumed - a.resumed,
        }
    }

    fn per(&self, v: f64) -> f64 {
        v / self.iters as f64
    }
}

/// One benchmark's figures.
struct Row {
    /// Criterion's full id, `group/function/parameter`.
    id: String,
    /// Criterion's directory for it, relative to the criterion home.
    dir: String,
    rounds: Vec<Round>,
    /// Each step's client bytes and allocations, over all rounds.
    steps: Vec<(u64, u64)>,
    /// Whose counters the conns/full/res columns are.
    conns_side: Side,
}

/// Collects the bytes passes of every benchmark that ran, then reports them.
pub struct Book {
    mode: PassMode,
    rows: Vec<Row>,
    started: Instant,
}

impl Book {
    pub fn new(mode: PassMode) -> Self {
        Self {
            mode,
            rows: Vec::new(),
            started: Instant::now(),
        }
    }
}

/// A criterion group with the suite's settings, and the book its bytes go to.
pub struct Group<'c, 'b> {
    g: BenchmarkGroup<'c, WallTime>,
    name: &'static str,
    book: &'b mut Book,
}

impl<'c, 'b> Group<'c, 'b> {
    /// Sample size 20, 1 s warm-up, 2 s measurement: about 3.5 s per benchmark, analysis
    /// included, plus ~2 s for the bytes pass of the slowest (handshaking) cases.
    pub fn new(c: &'c mut Criterion, name: &'static str, book: &'b mut Book) -> Self {
        let mut g = c.benchmark_group(name);
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        Self { g, name, book }
    }

    /// Benchmarks `step` as `group/id` (an `id` of `a/b` becomes function `a`, parameter
    /// `b`), then — if criterion ran it (it passed the filter) — runs the bytes pass on it.
    ///
    /// Steps run in chunks of at most `CHUNK` per `block_on`; `outputs` says whether each
    /// step's output is dropped inside the timed region or held to the end of the chunk and
    /// dropped outside it. After each chunk the runtime runs (untimed) until `stats` has no
    /// more than `baseline` connections open again. A step that must include its own
    /// teardown in the figures (dropping a session, closing a connection) does it itself.
    ///
    /// `conns` are the connection counters to settle on and report: the client's own where
    /// it has them, else the server's (see [`Conns`]).
    pub fn case<H, F, Fut>(
        &mut self,
        rt: &Runtime,
        id: &str,
        conns: Conns<'_>,
        outputs: Outputs,
        mut step: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = H>,
    {
        let stats = conns.stats();
        let baseline = stats.open();
        let wait_closed = || {
            rt.block_on(settle::connections(stats, baseline))
                .unwrap_or_else(|e| panic!("{}/{id}: {e}", self.name));
        };
        let (bench_id, dir) = match id.split_once('/') {
            Some((f, p)) => (BenchmarkId::new(f, p), format!("{}/{f}/{p}", self.name)),
            None => (
                BenchmarkId::from_parameter(id),
                format!("{}/{id}", self.name),
            ),
        };
        let mut ran = false;
        self.g.bench_function(bench_id, |b| {
            ran = true;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    if outputs == Outputs::DropTimed {
                        total += run_chunk_dropping(rt, &mut step, n);
                    } else {
                        let mut held = Vec::with_capacity(n as usize);
                        total += run_chunk(rt, &mut step, n, &mut held);
                        drop(held);
                    }
                    wait_closed();
                    left -= n;
                }
                total
            })
        });
        if !ran || self.book.mode == PassMode::Off {
            return;
        }
        let (iters, rounds) = match self.book.mode {
            PassMode::Full => (PASS_ITERS, PASS_ROUNDS),
            _ => (3, 1),
        };
        let mut out = Vec::with_capacity(rounds);
        let mut steps = Vec::with_capacity(rounds * iters as usize);
        for _ in 0..rounds {
            let mut held = Vec::with_capacity(iters as usize);
            let Some(before) = snapshot(stats) else {
                return; // the counting allocator is not installed: nothing to report
            };
            run_chunk_counted(rt, &mut step, iters, &mut held, &mut steps);
            let Some(after) = snapshot(stats) else {
                return;
            };
            drop(held);
            wait_closed();
            out.push(Round::between(&before, &after, iters));
        }
        self.book.rows.push(Row {
            id: format!("{}/{id}", self.name),
            dir,
            rounds: out,
            steps,
            conns_side: conns.side(),
        });
    }

    pub fn finish(self) {
        self.g.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Report

/// Where criterion writes: `$CRITERION_HOME`, else `<target>/criterion` (criterion's order).
fn criterion_home() -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(home) => PathBuf::from(home),
        None => target_dir().join("criterion"),
    }
}

/// Cargo's target directory, found as criterion finds it: `$CARGO_TARGET_DIR`, cargo
/// metadata's `target_directory`, or `target`.
fn target_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(find_target_dir).clone()
}

fn find_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let from_metadata = std::env::var_os("CARGO").and_then(|cargo| {
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        Some(PathBuf::from(v.get("target_directory")?.as_str()?))
    });
    from_metadata.unwrap_or_else(|| PathBuf::from("target"))
}

/// Criterion's estimate of one iteration, ns: the slope of the linear regression when it
/// has one (what it prints as `time:`), else the mean.
fn criterion_ns(home: &std::path::Path, dir: &str) -> Option<f64> {
    let path = home.join(dir).join("new").join("estimates.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let pick = |k: &str| v.get(k)?.get("point_estimate")?.as_f64();
    pick("slope").or_else(|| pick("mean"))
}

fn fmt_time(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(ns) if ns < 1e3 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        Some(ns) => format!("{:.3} ms", ns / 1e6),
    }
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 && v.abs() < 1e15 {
        let s = format!("{}", v.abs().round() as u64);
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else {
        format!("{v:.1}")
    }
}

/// One table line: the benchmark id left-aligned, figures right-aligned, the note last.
fn line(cols: &[&str; 13]) -> String {
    const WIDTHS: [usize; 11] = [10, 9, 7, 8, 9, 7, 8, 6, 5, 4, 4];
    let mut out = format!("{:<24}", cols[0]);
    for (c, w) in cols[1..12].iter().zip(WIDTHS) {
        let _ = write!(out, " {c:>w$}");
    }
    let _ = write!(out, "  {}", cols[12]);
    out
}

/// Distinct values with their counts, most frequent first (ties: smaller value first).
fn distribution(xs: impl Iterator<Item = u64>) -> Vec<(u64, usize)> {
    let mut m = std::collections::BTreeMap::new();
    for x in xs {
        *m.entry(x).or_insert(0usize) += 1;
    }
    let mut v: Vec<(u64, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn spread(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

/// `<criterion home>/bytes.json`: the bytes pass's figures of every benchmark, merged run to
/// run (a filtered run replaces only the entries it measured) so the next run can compare.
/// Typed, so the writer and the reader of the previous run cannot disagree on a field.
#[derive(Debug, Serialize, Deserialize)]
struct BytesFile {
    schema: u32,
    units: String,
    pass_iterations: u64,
    pass_rounds: usize,
    benchmarks: Vec<BytesEntry>,
}

impl BytesFile {
    /// The previous run's file; `None` if there is none or it cannot be read (said on stderr:
    /// its entries are then neither compared with nor kept).
    fn read(path: &std::path::Path) -> Option<Self> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                eprintln!("note: cannot read {}: {e}; not compared", path.display());
                return None;
            }
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| {
                eprintln!(
                    "note: {} is not a bytes.json this version reads ({e}); not compared, and \
                     replaced",
                    path.display()
                )
            })
            .ok()
    }
}

/// One benchmark's figures; `*_per_iter` are means over the rounds.
#[derive(Debug, Serialize, Deserialize)]
struct BytesEntry {
    /// Criterion's id, `group/function/parameter`.
    id: String,
    run_at_unix_s: u64,
    /// Criterion's estimate; null in a run that had none.
    time_ns_per_iter: Option<f64>,
    client_bytes_per_iter: f64,
    client_allocs_per_iter: f64,
    client_bytes_per_iter_min: f64,
    client_bytes_per_iter_max: f64,
    client_allocs_per_iter_min: f64,
    client_allocs_per_iter_max: f64,
    /// Every round gave the same client bytes and allocations.
    deterministic: bool,
    step_bytes_min: Option<u64>,
    step_bytes_max: Option<u64>,
    /// The most frequent per-step client byte counts (at most 8), most frequent first.
    step_bytes_distribution: Vec<StepBytes>,
    step_allocs_distribution: Vec<StepAllocs>,
    server_bytes_per_iter: f64,
    server_allocs_per_iter: f64,
    client_held_bytes_per_iter: f64,
    server_held_bytes_per_iter: f64,
    unattributed_bytes_per_iter: f64,
    live_delta_bytes_per_iter: f64,
    connections_per_iter: f64,
    handshakes_full_per_iter: f64,
    handshakes_resumed_per_iter: f64,
    connections_counted_by: Side,
    rounds: Vec<RoundEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StepBytes {
    bytes: u64,
    steps: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct StepAllocs {
    allocs: u64,
    steps: usize,
}

/// One round's totals.
#[derive(Debug, Serialize, Deserialize)]
struct RoundEntry {
    iters: u64,
    client_bytes: u64,
    client_allocs: u64,
    server_bytes: u64,
    server_allocs: u64,
    client_held_bytes: i64,
    server_held_bytes: i64,
    unattributed_bytes: i64,
    live_delta_bytes: i64,
}

impl From<&Round> for RoundEntry {
    fn from(x: &Round) -> Self {
        Self {
            iters: x.iters,
            client_bytes: x.client_bytes,
            client_allocs: x.client_allocs,
            server_bytes: x.server_bytes,
            server_allocs: x.server_allocs,
            client_held_bytes: x.client_net,
            server_held_bytes: x.server_net,
            unattributed_bytes: x.unattributed_bytes,
            live_delta_bytes: x.live_delta,
        }
    }
}

impl Book {
    /// Prints the table (time from criterion's estimates, bytes from the passes), a few
    /// ratios, and, after a full run, merges the figures into `<criterion home>/bytes.json`,
    /// comparing them with what the previous run wrote there.
    pub fn finish(self) {
        if self.mode == PassMode::Off || self.rows.is_empty() {
            return;
        }
        let home = criterion_home();
        let json_path = home.join("bytes.json");
        let previous = BytesFile::read(&json_path);
        let prev_of = |id: &str| -> Option<(f64, f64, Option<u64>)> {
            let e = previous.as_ref()?.benchmarks.iter().find(|e| e.id == id)?;
            Some((
                e.client_bytes_per_iter,
                e.client_allocs_per_iter,
                e.step_bytes_min,
            ))
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);

        let mut table = String::new();
        let _ =
            writeln!(
            table,
            "\nPer-iteration cost. time: criterion's estimate; bytes/allocs: counting allocator, \
             {} round(s) x {} iterations after criterion's run.\n\
             client = bench thread (the client runtime); server = server threads; \
             B = bytes allocated, held = allocated - freed (still held at the end of the round: \
             e.g. a leaked session), unattr = process - client - server bytes (0: nothing else \
             allocated); conns/full/res = new connections / full / resumed handshakes.",
            self.rows.first().map_or(0, |r| r.rounds.len()),
            self.rows.first().and_then(|r| r.rounds.first()).map_or(0, |r| r.iters),
        );
        let _ = writeln!(
            table,
            "{}",
            line(&[
                "benchmark",
                "time/iter",
                "client B",
                "allocs",
                "held B",
                "server B",
                "allocs",
                "held B",
                "unattr",
                "conns",
                "full",
                "res",
                "rounds / steps / vs previous run",
            ])
        );
        let mut entries = Vec::new();
        let mut times = std::collections::BTreeMap::new();
        for row in &self.rows {
            let ns = if self.mode == PassMode::Full {
                criterion_ns(&home, &row.dir)
            } else {
                None
            };
            times.insert(row.id.clone(), ns);
            let r = &row.rounds;
            let per = |f: fn(&Round) -> f64| mean(r.iter().map(|x| x.per(f(x))));
            let cb = per(|x| x.client_bytes as f64);
            let ca = per(|x| x.client_allocs as f64);
            let (cb_lo, cb_hi) = spread(r.iter().map(|x| x.per(x.client_bytes as f64)));
            let (ca_lo, ca_hi) = spread(r.iter().map(|x| x.per(x.client_allocs as f64)));
            let deterministic = cb_lo == cb_hi && ca_lo == ca_hi;
            let mut note = if deterministic {
                "rounds equal".to_string()
            } else {
                format!(
                    "rounds differ: B {}..{}, allocs {}..{}",
                    fmt_num(cb_lo),
                    fmt_num(cb_hi),
                    fmt_num(ca_lo),
                    fmt_num(ca_hi)
                )
            };
            let step_bytes = distribution(row.steps.iter().map(|s| s.0));
            let step_allocs = distribution(row.steps.iter().map(|s| s.1));
            let floor = row.steps.iter().map(|s| s.0).min();
            let ceiling = row.steps.iter().map(|s| s.0).max();
            if step_bytes.len() > 1 || step_allocs.len() > 1 {
                let (b, n) = step_bytes[0];
                let _ = write!(
                    note,
                    "; steps: {} B in {n}/{}, range {}..{}, {} distinct",
                    fmt_num(b as f64),
                    row.steps.len(),
                    fmt_num(floor.unwrap_or(0) as f64),
                    fmt_num(ceiling.unwrap_or(0) as f64),
                    step_bytes.len()
                );
            }
            if row.conns_side == Side::Server {
                note.push_str("; conns/full/res: server side");
            }
            if self.mode == PassMode::Full {
                match prev_of(&row.id) {
                    Some((pb, pa, _)) if pb == cb && pa == ca => note.push_str(", = previous"),
                    Some((pb, pa, pfloor)) => {
                        let _ = write!(
                            note,
                            ", previous {} B / {} allocs ({:+.3}% B), floor {}",
                            fmt_num(pb),
                            fmt_num(pa),
                            (cb - pb) / pb * 100.0,
                            match pfloor {
                                None => "not in previous",
                                Some(p) if Some(p) == floor => "= previous",
                                Some(_) => "differs",
                            }
                        );
                    }
                    None => note.push_str(", no previous"),
                }
            }
            let sb = per(|x| x.server_bytes as f64);
            let sa = per(|x| x.server_allocs as f64);
            let un = per(|x| x.unattributed_bytes as f64);
            let live = per(|x| x.live_delta as f64);
            let cnet = per(|x| x.client_net as f64);
            let snet = per(|x| x.server_net as f64);
            let conns = per(|x| x.conns as f64);
            let full = per(|x| x.full as f64);
            let res = per(|x| x.resumed as f64);
            let _ = writeln!(
                table,
                "{}",
                line(&[
                    &row.id,
                    &fmt_time(ns),
                    &fmt_num(cb),
                    &fmt_num(ca),
                    &fmt_num(cnet),
                    &fmt_num(sb),
                    &fmt_num(sa),
                    &fmt_num(snet),
                    &fmt_num(un),
                    &fmt_num(conns),
                    &fmt_num(full),
                    &fmt_num(res),
                    &note,
                ])
            );
            entries.push(BytesEntry {
                id: row.id.clone(),
                run_at_unix_s: now,
                time_ns_per_iter: ns,
                client_bytes_per_iter: cb,
                client_allocs_per_iter: ca,
                client_bytes_per_iter_min: cb_lo,
                client_bytes_per_iter_max: cb_hi,
                client_allocs_per_iter_min: ca_lo,
                client_allocs_per_iter_max: ca_hi,
                deterministic,
                step_bytes_min: floor,
                step_bytes_max: ceiling,
                step_bytes_distribution: step_bytes
                    .iter()
                    .take(8)
                    .map(|&(bytes, steps)| StepBytes { bytes, steps })
                    .collect(),
                step_allocs_distribution: step_allocs
                    .iter()
                    .take(8)
                    .map(|&(allocs, steps)| StepAllocs { allocs, steps })
                    .collect(),
                server_bytes_per_iter: sb,
                server_allocs_per_iter: sa,
                client_held_bytes_per_iter: cnet,
                server_held_bytes_per_iter: snet,
                unattributed_bytes_per_iter: un,
                live_delta_bytes_per_iter: live,
                connections_per_iter: conns,
                handshakes_full_per_iter: full,
                handshakes_resumed_per_iter: res,
                connections_counted_by: row.conns_side,
                rounds: r.iter().map(RoundEntry::from).collect(),
            });
        }
        let ratio =
            |a: &str, b: &str| -> Option<f64> { Some((*times.get(a)?)? / (*times.get(b)?)?) };
        for (a, b) in [
            ("request/full/tls1.3", "request/resumed/tls1.3"),
            ("request/full/tls1.3", "request/reused/tls1.3"),
            ("request/resumed/tls1.3", "request/reused/tls1.3"),
            ("request/full/tls1.2", "request/resumed/tls1.2"),
            ("request/full/tls1.2", "request/reused/tls1.2"),
            ("mode/fresh", "mode/shared"),
            ("mode/fresh", "mode/resume"),
            ("mode/leak", "mode/shared"),
            ("build/hyper/system", "build/ca/cache256"),
            ("build/reqwest/system", "build/reqwest/ca"),
            ("build/reqwest/webpki", "build/reqwest/ca"),
            ("build/reqwest/ca", "build/ca/cache256"),
            ("build/reqwest/system", "build/hyper/system"),
            ("mode/reqwest/fresh", "mode/reqwest/shared"),
            ("mode/reqwest/fresh", "mode/fresh"),
            ("mode/reqwest/shared", "mode/shared"),
            ("build/reqwest-native/ca", "build/reqwest/ca"),
            ("build/reqwest-native/system", "build/reqwest/system"),
            ("mode/reqwest-native/fresh", "mode/reqwest/fresh"),
            ("mode/reqwest-native/shared", "mode/reqwest/shared"),
        ] {
            if let Some(x) = ratio(a, b) {
                let _ = writeln!(table, "time ratio {a} / {b} = {x:.1}x");
            }
        }
        let _ = writeln!(
            table,
            "bench binary wall time: {:.1} s",
            self.started.elapsed().as_secs_f64()
        );
        println!("{table}");

        if self.mode != PassMode::Full {
            println!("(test mode: short pass, bytes.json not written)");
            return;
        }
        // Keep entries of benchmarks a filtered run did not touch.
        let mut all: Vec<BytesEntry> = previous
            .map(|p| p.benchmarks)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !self.rows.iter().any(|r| r.id == e.id))
            .collect();
        all.extend(entries);
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let doc = BytesFile {
            schema: 1,
            units: "bytes and allocations per iteration, counted by harness::measure::alloc::CountingAlloc"
                .into(),
            pass_iterations: PASS_ITERS,
            pass_rounds: PASS_ROUNDS,
            benchmarks: all,
        };
        let written = std::fs::create_dir_all(&home).and_then(|()| {
            let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
            std::fs::write(&json_path, text + "\n")
        });
        match written {
            Ok(()) => println!("bytes per iteration written to {}", json_path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", json_path.display()),
        }
    }
}
