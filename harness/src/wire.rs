//! Messages between the orchestrating parent and its worker processes: one JSON object per
//! line on the worker's stdout. The parent stops a worker by closing its stdin.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::knobs::KnobFigure;
use crate::retention::RetentionStats;
use crate::summary::{Latency, P50P99};

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

/// One client sample. Counters are cumulative since load start.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientSample {
    pub t_s: f64,
    pub virtual_t_s: f64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub interval_rps: f64,
    pub late_starts: u64,
    pub rss_bytes: Option<u64>,
    pub heap_live_bytes: Option<u64>,
    pub alloc_bytes_total: Option<u64>,
    pub allocs_total: Option<u64>,
    pub cpu_s: Option<f64>,
    pub open_fds: Option<u64>,
    /// `None` where the client's connections are not visible (reqwest).
    pub open_conns: Option<u64>,
    pub retained_sessions: Option<u64>,
    pub retained_bytes: Option<u64>,
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_reused_conn: Option<u64>,
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    pub latency_max_us: Option<u64>,
}

/// The client worker's totals for its mode.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClientFinal {
    pub requests_planned: u64,
    pub requests_started: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub failures_by_kind: BTreeMap<String, u64>,
    pub elapsed_s: f64,
    pub late_starts: u64,
    pub start_lag_us: Option<P50P99>,
    pub connections_opened: Option<u64>,
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_reused_conn: Option<u64>,
    /// Heap bytes / allocations made during the load (process-wide counter delta).
    pub load_alloc_bytes: Option<u64>,
    pub load_allocs: Option<u64>,
    pub builds: u64,
    pub build_us: Option<P50P99>,
    pub build_us_total: u64,
    pub build_alloc_bytes_total: Option<u64>,
    pub heap_start: Option<u64>,
    pub heap_end: Option<u64>,
    pub rss_start: Option<u64>,
    pub rss_end: Option<u64>,
    pub fds_start: Option<u64>,
    pub fds_end: Option<u64>,
    pub cpu_s: Option<f64>,
    pub latency: Option<Latency>,
    pub sampler_cpu_us: u64,
    pub fd_limit: Option<u64>,
    pub stopped_early: Option<String>,
    /// The retention store's counters after it was drained (fresh mode with retention).
    pub retention: Option<RetentionStats>,
    /// Virtual seconds covered (virtual clock only).
    pub virtual_s: Option<f64>,
    /// The knob probe's figures (fresh mode), or why it could not run.
    pub knobs: Option<Result<Vec<KnobFigure>, String>>,
}

/// One server sample (or its last, in `ServerDone`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerSample {
    pub t_s: f64,
    pub rss_bytes: Option<u64>,
    pub heap_live_bytes: Option<u64>,
    pub cpu_s: Option<f64>,
    pub open_fds: Option<u64>,
    pub open_conns: u64,
    pub connections: u64,
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    pub handshakes_failed: u64,
    pub requests: u64,
    pub accept_errors: u64,
    pub cache_entries: u64,
    pub cache_bytes: u64,
}
