//! The JSON lines a worker sends the parent, and the structs of each sampled and total figure.

use std::collections::BTreeMap;
use std::io::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::probes::KnobFigure;
use crate::vocab::handshake::Handshake;

/// What a worker says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerMsg {
    /// The server listens on `port`.
    Ready {
        port: u16,
        fd_limit: Option<u64>,
    },
    Client(Box<ClientSample>),
    Server(ServerSample),
    ClientDone(Box<ClientFinal>),
    /// The server's record of every connection (only when it was asked to keep one), sent
    /// just before `ServerDone`.
    Connections {
        conns: Vec<ConnRecord>,
    },
    ServerDone(ServerSample),
}

impl WorkerMsg {
    /// Writes the message as one line to stdout, flushed. Errors mean the parent is gone.
    pub fn emit(&self) -> std::io::Result<()> {
        let line = serde_json::to_string(self).map_err(std::io::Error::other)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }
}

/// One client sample: the client columns of a `timeline.csv` row, under their published
/// names (the timeline embeds it whole). Counters are cumulative since load start; a figure
/// the worker could not measure is `None` (an empty cell), never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientSample {
    /// Wall-clock seconds since the mode's load started.
    pub t_s: f64,
    /// Virtual seconds (request i stamped at i/R) when `--clock virtual`, else equal to `t_s`.
    pub virtual_t_s: f64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    /// Requests completed in this interval divided by the interval's wall length.
    pub interval_rps: f64,
    /// Requests that started ≥ 2 ms after their scheduled time, or had to wait for a slot;
    /// `None` under the virtual clock, which has no schedule to be late for.
    pub late_starts: Option<u64>,
    /// Resident set size of the client worker (`/proc/self/statm`).
    pub client_rss_bytes: Option<u64>,
    /// Live heap bytes (counting allocator).
    pub client_heap_live_bytes: Option<u64>,
    /// Bytes allocated since the process started (counting allocator, cumulative).
    pub client_alloc_bytes_total: Option<u64>,
    /// Allocations since the process started (counting allocator, cumulative).
    pub client_allocs_total: Option<u64>,
    /// Process CPU time, user + system, seconds.
    pub client_cpu_s: Option<f64>,
    /// OpenSSL's share of `client_heap_live_bytes` (its allocator replaced by counting
    /// functions, `CRYPTO_set_mem_functions`); `None` where OpenSSL's heap is not counted.
    #[serde(default)]
    pub openssl_heap_live_bytes: Option<u64>,
    /// OpenSSL's share of `client_alloc_bytes_total` (cumulative).
    #[serde(default)]
    pub openssl_alloc_bytes_total: Option<u64>,
    /// Entries of `/proc/self/fd`.
    pub client_open_fds: Option<u64>,
    /// Open connections, counted by the harness's connector (`None`: not visible, reqwest).
    pub client_open_conns: Option<u64>,
    /// Sessions the client keeps after their request (leak mode's kept sessions, or the
    /// retention store's entries); `None` when the mode keeps none by design.
    pub retained_sessions: Option<u64>,
    /// Handshakes seen by the client, by kind (`None` where not visible: reqwest).
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_reused_conn: Option<u64>,
    /// Latency of requests completed in this interval, µs (`None`: none completed).
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    pub latency_max_us: Option<u64>,
}

/// The client worker's totals for its mode: the figures the summary publishes as they are
/// (under their published names; [`crate::contract::summary::ModeSummary`] embeds them whole), plus
/// what the parent derives figures from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientFinal {
    pub totals: ClientTotals,
    /// RLIMIT_NOFILE soft limit the worker ran with.
    pub fd_limit: Option<u64>,
    /// The retention store's counters after it was drained (fresh mode with retention).
    pub retention: Option<RetentionStats>,
    /// The knob probe's figures (fresh mode), or why it could not run.
    pub knobs: Option<Result<Vec<KnobFigure>, String>>,
    /// `--breakdown`: the load's heap profile by owner, or why it could not be read.
    #[serde(default)]
    pub profile: Option<Result<crate::contract::breakdown::LoadProfile, String>>,
    /// `--breakdown`, leak: what one idle held connection costs each side, TLS vs TCP
    /// (`held::probe`), or why it could not be measured.
    #[serde(default)]
    pub held: Option<Result<crate::contract::probes::HeldConnections, String>>,
    /// Leak mode: what the kept sessions held, measured by dropping them at the end of the
    /// load, or why it could not be measured.
    #[serde(default)]
    pub kept: Option<Result<KeptRelease, String>>,
}

/// Leak mode's `b`, measured the way fresh mode's is: by what dropping the sessions frees.
/// At the end of the load (no request in flight, the `--breakdown` profile ended) the kept
/// sessions are dropped, their connections' tasks are let run to the end, and the process's
/// live heap (counting allocator) is read before and after. The list that kept them is
/// emptied but not freed in between, so what it cost the harness is not in the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptRelease {
    pub sessions: u64,
    /// Live heap with every kept session alive.
    pub live_before: u64,
    /// Live heap once they were dropped and their connections' tasks had ended.
    pub live_after: u64,
}

impl KeptRelease {
    /// Bytes one kept session held: the live heap its drop gave back, per session. Signed:
    /// a heap that grew instead is shown, not hidden. `None` with no session kept.
    pub fn bytes_per_session(&self) -> Option<f64> {
        (self.sessions > 0)
            .then(|| (self.live_before as f64 - self.live_after as f64) / self.sessions as f64)
    }
}

/// What the client worker measured over its whole mode, as published in `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientTotals {
    /// Requests the schedule called for within the duration.
    pub requests_planned: u64,
    /// Requests started (fewer than planned when the run was stopped or could not keep up).
    pub requests_started: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    /// Failed requests by stable kind (`timeout`, `status: 503`, `tls: …`, `io: …`).
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Wall seconds from the first scheduled start to the last completion.
    pub elapsed_s: f64,
    /// Virtual seconds covered (virtual clock only); `elapsed_s` is then wall time.
    pub virtual_s: Option<f64>,
    /// Starts ≥ 2 ms behind schedule or that waited for a slot (`null` under the virtual
    /// clock: it has no schedule).
    pub late_starts: Option<u64>,
    /// Scheduling lag (actual start − scheduled start), µs (`null` under the virtual clock).
    pub start_lag_us: Option<P50P99>,
    /// Client-side connection figures; `null` where the client's connections are not
    /// visible to the harness (reqwest: see the server's figures).
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_on_reused_connection: Option<u64>,
    /// New TCP+TLS connections the client opened.
    pub connections_opened: Option<u64>,
    /// Bytes and allocations the client worker made during the load (counting allocator,
    /// process-wide delta); the per-request figures are derived from them.
    pub client_load_alloc_bytes: Option<u64>,
    pub client_load_allocs: Option<u64>,
    /// OpenSSL's share of `client_load_alloc_bytes` (`null` where OpenSSL's heap is not
    /// counted; 0 is a count: the client never called OpenSSL).
    #[serde(default)]
    pub openssl_load_alloc_bytes: Option<u64>,
    /// Sessions built (fresh and leak: one per request started; shared and resume: one).
    pub client_builds: u64,
    /// Wall time of one build, µs (monotonic clock around the synchronous build).
    pub client_build_us: Option<P50P99>,
    /// CPU time of the building thread per build, µs (`CLOCK_THREAD_CPUTIME_ID`).
    pub client_build_cpu_us: Option<P50P99>,
    /// Total building-thread CPU time over all builds, µs.
    pub client_build_cpu_us_total: Option<u64>,
    /// Bytes allocated on the building thread over all builds (exact, thread-local count).
    pub client_build_alloc_bytes_total: Option<u64>,
    /// OpenSSL's share of `client_build_alloc_bytes_total` (same thread, same builds).
    #[serde(default)]
    pub openssl_build_alloc_bytes_total: Option<u64>,
    /// Why this client ran out of CPU for its builds, the bound measured: the cores the
    /// machine offers (`available_parallelism`), read by the worker.
    #[serde(default)]
    pub cores_available: Option<u64>,
    pub client_rss_start_bytes: Option<u64>,
    pub client_rss_end_bytes: Option<u64>,
    pub client_heap_start_bytes: Option<u64>,
    pub client_heap_end_bytes: Option<u64>,
    /// OpenSSL's share of `client_heap_start_bytes` / `client_heap_end_bytes`.
    #[serde(default)]
    pub openssl_heap_start_bytes: Option<u64>,
    #[serde(default)]
    pub openssl_heap_end_bytes: Option<u64>,
    /// Client worker CPU time during the load, user + system, seconds.
    pub client_cpu_s: Option<f64>,
    pub open_fds_start: Option<u64>,
    pub open_fds_end: Option<u64>,
    /// Request latency over the whole load, µs.
    pub latency_us: Option<Latency>,
    /// The worker's one-time warm-up before its load clock started (seeding the crypto
    /// library's random generator), µs; in no other figure (`null`: it failed, and the first
    /// request pays it instead).
    pub warmup_us: Option<u64>,
    /// CPU time the client worker spent taking samples (`null` if the sampler could not
    /// measure itself or died).
    pub sampler_cpu_us_total: Option<u64>,
    /// Why the mode stopped early, if it did (fd limit, interrupt, worker error).
    pub stopped_early: Option<String>,
}

/// One server sample (or its last, in `ServerDone`): the server columns of a `timeline.csv`
/// row, under their published names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerSample {
    /// Seconds since the server worker started serving.
    pub server_t_s: f64,
    pub server_rss_bytes: Option<u64>,
    pub server_heap_live_bytes: Option<u64>,
    pub server_cpu_s: Option<f64>,
    pub server_open_fds: Option<u64>,
    pub server_open_conns: u64,
    /// Connections accepted (cumulative).
    pub server_connections: u64,
    pub server_handshakes_full: u64,
    pub server_handshakes_resumed: u64,
    pub server_handshakes_failed: u64,
    pub server_requests: u64,
    /// `accept()` errors (cumulative).
    pub server_accept_errors: u64,
    pub server_cache_entries: u64,
    pub server_cache_bytes: u64,
}

/// Counters of a `RetentionStore` (`crate::run::retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct RetentionStats {
    pub entries: u64,
    pub inserted: u64,
    pub expired: u64,
    pub evicted: u64,
    /// Entries whose drop was measured (`None` bytes when the counting allocator is absent).
    pub dropped_measured: u64,
    /// Bytes freed when those entries were dropped.
    pub dropped_bytes: u64,
}

impl RetentionStats {
    /// Mean bytes an entry held, from the measured drops.
    pub fn bytes_per_entry(&self) -> Option<f64> {
        (self.dropped_measured > 0)
            .then(|| self.dropped_bytes as f64 / self.dropped_measured as f64)
    }
}

/// One accepted connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnRecord {
    /// The client's port: with `/proc/net/tcp` it names the client's socket.
    pub peer_port: u16,
    /// `CLOCK_MONOTONIC` ns when it was accepted.
    pub opened_ns: u64,
    /// `CLOCK_MONOTONIC` ns when the server saw it end (`None`: still open).
    pub closed_ns: Option<u64>,
    pub handshake: Handshake,
    pub requests: u64,
    /// `CLOCK_MONOTONIC` ns when the server received the last request on it (`None`: it
    /// carried no request). The latest over all connections is the program's last request.
    pub last_request_ns: Option<u64>,
}

/// p50 / p99 of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct P50P99 {
    pub p50: u64,
    pub p99: u64,
}

/// p50 / p90 / p99 / max / mean of a latency distribution, µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}
