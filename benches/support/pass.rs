//! The bytes pass's data: how it runs ([`PassMode`]), the counters it reads before and after
//! a round, a round's totals, a benchmark's rows, and the [`Book`] that collects them.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use harness::measure::alloc::{self, HeapStats, ThreadAllocs};
use harness::tls::connector::ConnStats;

use super::conns::Side;
use super::server_counters::server_counts;

/// Iterations per round of the bytes pass, and rounds (their spread is the determinism check).
pub(super) const PASS_ITERS: u64 = 200;
pub(super) const PASS_ROUNDS: usize = 3;
/// How long the bytes pass lets the server threads finish their side and park before it
/// reads the counters.
const QUIESCE: Duration = Duration::from_millis(50);

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
pub(super) struct Snapshot {
    client: ThreadAllocs,
    server: ThreadAllocs,
    process: HeapStats,
    opened: u64,
    full: u64,
    resumed: u64,
}

pub(super) fn snapshot(stats: &ConnStats) -> Option<Snapshot> {
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
pub(super) struct Round {
    pub(super) iters: u64,
    pub(super) client_bytes: u64,
    pub(super) client_allocs: u64,
    pub(super) server_bytes: u64,
    pub(super) server_allocs: u64,
    /// Allocated minus freed on the bench thread: what the client still holds at the end of
    /// the round (the held outputs, e.g. leaked sessions; ~0 for steps that clean up).
    pub(super) client_net: i64,
    /// The same on the server threads (e.g. the server side of leaked connections).
    pub(super) server_net: i64,
    pub(super) unattributed_bytes: i64,
    pub(super) live_delta: i64,
    pub(super) conns: u64,
    pub(super) full: u64,
    pub(super) resumed: u64,
}

impl Round {
    pub(super) fn between(a: &Snapshot, b: &Snapshot, iters: u64) -> Self {
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

    pub(super) fn per(&self, v: f64) -> f64 {
        v / self.iters as f64
    }
}

/// One benchmark's figures.
pub(super) struct Row {
    /// Criterion's full id, `group/function/parameter`.
    pub(super) id: String,
    /// Criterion's directory for it, relative to the criterion home.
    pub(super) dir: String,
    pub(super) rounds: Vec<Round>,
    /// Each step's client bytes and allocations, over all rounds.
    pub(super) steps: Vec<(u64, u64)>,
    /// Whose counters the conns/full/res columns are.
    pub(super) conns_side: Side,
}

/// Collects the bytes passes of every benchmark that ran, then reports them.
pub struct Book {
    pub(super) mode: PassMode,
    pub(super) rows: Vec<Row>,
    pub(super) started: Instant,
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
