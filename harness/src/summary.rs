//! `summary.json`: the stable, documented contract users script against (schema 1).
//!
//! Field names follow `DESIGN.md`; new fields are added, never renamed. A figure the run could
//! not measure is `null`, never 0.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Version of the `summary.json` layout. Bumped only on an incompatible change.
pub const SCHEMA: u32 = 1;

/// The whole of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: u32,
    /// The command line that produced the run, as typed (arguments joined by spaces).
    pub command: String,
    /// `real` or `virtual`.
    pub clock: String,
    /// True when the run was cut short (Ctrl-C, SIGTERM, a worker died); `stopped_reason` says why.
    pub interrupted: bool,
    pub stopped_reason: Option<String>,
    /// Run id, which is also the report directory's name.
    pub run_id: String,
    /// UTC start time, RFC 3339.
    pub started_at: String,
    pub scenario: Scenario,
    pub versions: Versions,
    /// How each kind of figure was measured, in words, so a reader need not guess.
    pub method: BTreeMap<String, String>,
    pub modes: Vec<ModeSummary>,
}

/// The settings every mode of the run shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Target request rate, requests/s.
    pub rate: f64,
    /// Planned load duration per mode, seconds.
    pub duration_s: f64,
    /// Retention of invalidated sessions' TLS state, seconds (`null`: not modelled).
    pub retention_s: Option<f64>,
    /// `1.2` or `1.3`.
    pub tls: String,
    /// Key-exchange groups the client offered, in order, as rustls names them.
    pub kx_groups: Vec<String>,
    pub max_in_flight: u64,
    pub sample_interval_s: f64,
    pub response_body_bytes: u64,
    /// Where requests went, e.g. `https://localhost:43211/`.
    pub target: String,
    /// File-descriptor limit (RLIMIT_NOFILE soft) the workers ran with.
    pub fd_limit: Option<u64>,
    /// Retention count cap (`--retention-cap`), if any.
    #[serde(default)]
    pub retention_cap: Option<u64>,
    /// `ca` or `webpki`.
    #[serde(default)]
    pub roots: Option<String>,
    /// Client resumption store capacity per session (0: resumption off).
    #[serde(default)]
    pub client_cache: Option<u64>,
    /// Server session store policy, in words.
    #[serde(default)]
    pub server_cache: Option<String>,
    /// True when the client workers ran under dhat (slower: times are not representative).
    #[serde(default)]
    pub dhat: bool,
}

/// Library versions the run was built with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub harness: String,
    pub rustls: String,
    pub hyper: String,
    pub hyper_util: String,
    pub tokio_rustls: String,
    pub crypto_provider: String,
}

/// p50 / p99 of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct P50P99 {
    pub p50: u64,
    pub p99: u64,
}

/// p50 / p99 / max of a latency distribution, µs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

/// The server worker's own figures while it served one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    pub rss_peak_bytes: Option<u64>,
    pub heap_peak_bytes: Option<u64>,
    pub session_cache_entries_peak: Option<u64>,
    pub session_cache_bytes_peak: Option<u64>,
    pub connections_total: Option<u64>,
    pub open_connections_peak: Option<u64>,
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub handshakes_failed: Option<u64>,
    pub cpu_s: Option<f64>,
}

/// Everything measured for one session mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeSummary {
    pub mode: String,
    pub client: String,
    pub roots: String,
    /// Requests the schedule called for within the duration.
    pub requests_planned: u64,
    /// Requests started (fewer than planned when the run was stopped or could not keep up).
    pub requests_started: u64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Wall seconds from the first scheduled start to the last completion.
    pub elapsed_s: f64,
    pub achieved_rps: f64,
    pub late_starts: u64,
    /// Scheduling lag (actual start − scheduled start), µs.
    pub start_lag_us: P50P99,
    /// Client-side connection figures; `null` where the client's connections are not
    /// visible to the harness (reqwest: see the server's figures).
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    pub requests_on_reused_connection: Option<u64>,
    /// New TCP+TLS connections the client opened.
    pub connections_opened: Option<u64>,
    /// Heap bytes allocated by the client worker during the load, per completed request.
    pub client_alloc_bytes_per_request: Option<f64>,
    pub client_allocs_per_request: Option<f64>,
    /// Building a session (rustls `ClientConfig` + connector + client), µs.
    pub client_builds: u64,
    pub client_build_us: Option<P50P99>,
    /// Bytes allocated on the building thread per build (exact, thread-local count).
    pub client_build_alloc_bytes: Option<f64>,
    /// Share of one core spent building sessions at the achieved rate.
    pub client_build_core_share: Option<f64>,
    pub retained_bytes_per_session: Option<f64>,
    pub retained_bytes_method: Option<String>,
    pub model_plateau_bytes: Option<f64>,
    pub measured_plateau_bytes: Option<f64>,
    /// Cross-check of `retained_bytes_per_session`: live-heap slope over retained count.
    #[serde(default)]
    pub retained_bytes_slope: Option<f64>,
    /// R·T (capped by --retention-cap): sessions the model says are held at the plateau.
    #[serde(default)]
    pub model_plateau_sessions: Option<f64>,
    /// Mean retained sessions over the samples on the plateau.
    #[serde(default)]
    pub measured_plateau_sessions: Option<f64>,
    /// measured_plateau_bytes / model_plateau_bytes.
    #[serde(default)]
    pub plateau_ratio: Option<f64>,
    /// Run-clock seconds of the first sample at which retained sessions were within half an
    /// interval's worth of requests of the plateau, i.e. growth had stopped (≈ T).
    #[serde(default)]
    pub plateau_reached_s: Option<f64>,
    #[serde(default)]
    pub retained_sessions_peak: Option<u64>,
    /// Virtual seconds covered (virtual clock only); `elapsed_s` is then wall time.
    #[serde(default)]
    pub virtual_s: Option<f64>,
    /// Fresh mode: bytes per retained session and per build under each client setting that
    /// does not need a shared session (the knob probe), measured in the same worker.
    #[serde(default)]
    pub knobs: Option<Vec<crate::knobs::KnobFigure>>,
    /// Why the knob probe could not run, if it could not.
    #[serde(default)]
    pub knobs_error: Option<String>,
    pub client_rss_start_bytes: Option<u64>,
    pub client_rss_peak_bytes: Option<u64>,
    pub client_rss_end_bytes: Option<u64>,
    pub client_heap_start_bytes: u64,
    pub client_heap_peak_bytes: u64,
    pub client_heap_end_bytes: u64,
    pub client_cpu_s: Option<f64>,
    pub open_fds_start: Option<u64>,
    pub open_fds_peak: Option<u64>,
    pub open_fds_end: Option<u64>,
    pub open_connections_peak: Option<u64>,
    pub latency_us: Option<Latency>,
    /// Time the client worker spent taking samples, and that as a share of the run.
    pub sampler_cpu_us_total: u64,
    pub sampler_share: f64,
    /// Why the mode stopped early, if it did (fd limit, interrupt, worker error).
    pub stopped_early: Option<String>,
    pub server: Option<ServerSummary>,
}

/// Errors reading or writing `summary.json`.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid summary.json: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
}

impl Summary {
    /// Writes the summary as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), SummaryError> {
        let p = path.display().to_string();
        let text = serde_json::to_string_pretty(self).map_err(|source| SummaryError::Json {
            path: p.clone(),
            source,
        })?;
        std::fs::write(path, text + "\n").map_err(|source| SummaryError::Io { path: p, source })
    }

    /// Reads a summary written by [`Summary::write`].
    pub fn read(path: &Path) -> Result<Self, SummaryError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SummaryError::Io {
            path: p.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SummaryError::Json { path: p, source })
    }
}
