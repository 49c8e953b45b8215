//! `summary.json`: the published contract, its reading and writing, and every report's schema.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::wire::ClientTotals;
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;
use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

/// Version of the `summary.json` layout. Bumped only on an incompatible change.
pub const SCHEMA: u32 = 1;

/// The whole of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub schema: u32,
    /// The command line that produced the run, as typed (arguments joined by spaces).
    pub command: String,
    pub clock: Clock,
    /// True when Ctrl-C or SIGTERM cut the run short. `stopped_reason` says why a run stopped
    /// early, whether interrupted or because a worker died.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scenario {
    /// Target request rate, requests/s.
    pub rate: f64,
    /// Planned load duration per mode, seconds.
    pub duration_s: f64,
    /// Retention of invalidated sessions' TLS state, seconds (`null`: not modelled).
    pub retention_s: Option<f64>,
    pub tls: TlsVersion,
    /// Key-exchange groups the client offered, in order, as rustls names them.
    pub kx_groups: Vec<String>,
    pub max_in_flight: u64,
    pub sample_interval_s: f64,
    pub response_body_bytes: u64,
    /// Where requests went, e.g. `https://localhost:43211/` (`null`: no mode started).
    pub target: Option<String>,
    /// File-descriptor limit (RLIMIT_NOFILE soft) the workers ran with.
    pub fd_limit: Option<u64>,
    /// Retention count cap (`--retention-cap`), if any.
    #[serde(default)]
    pub retention_cap: Option<u64>,
    #[serde(default)]
    pub roots: Option<RootsChoice>,
    /// Key exchange the client offered (`--kx`); `kx_groups` lists its groups.
    #[serde(default)]
    pub kx: Option<KxChoice>,
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

/// Library versions the run was built with, read from `Cargo.lock` at build time (`null`:
/// the build could not read it, and said so in a build warning).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Versions {
    pub harness: String,
    pub rustls: Option<String>,
    pub hyper: Option<String>,
    pub hyper_util: Option<String>,
    pub tokio_rustls: Option<String>,
    pub crypto_provider: Option<String>,
    #[serde(default)]
    pub reqwest: Option<String>,
    #[serde(default)]
    pub webpki_roots: Option<String>,
    /// Cargo profile the harness was built with (`release`, `debug`): a debug build's times
    /// are not representative.
    #[serde(default)]
    pub build_profile: Option<String>,
}

/// The server worker's own figures while it served one mode (peaks are maxima over its
/// samples).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Requests the server answered.
    #[serde(default)]
    pub requests: Option<u64>,
    /// `accept()` errors (for example EMFILE): a client that could not connect shows here.
    #[serde(default)]
    pub accept_errors: Option<u64>,
}

/// Everything measured for one session mode: the client worker's totals as measured
/// ([`ClientTotals`], embedded under their own names) and the figures derived from them and
/// from the timeline. A derived figure says so in its doc and in `method`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModeSummary {
    pub mode: Mode,
    pub client: ClientKind,
    pub roots: RootsChoice,
    #[serde(flatten)]
    pub load: ClientTotals,
    /// Derived: `requests_ok` ÷ `elapsed_s` (wall time: under the virtual clock, not the
    /// scenario's time).
    pub achieved_rps: f64,
    /// Derived: `client_load_alloc_bytes` ÷ `requests_ok` (allocation traffic, not memory held).
    pub client_alloc_bytes_per_request: Option<f64>,
    /// Derived: `client_load_allocs` ÷ `requests_ok`.
    pub client_allocs_per_request: Option<f64>,
    /// Derived: `client_build_alloc_bytes_total` ÷ `client_builds`.
    pub client_build_alloc_bytes: Option<f64>,
    /// Derived: `client_build_cpu_us_total` ÷ `elapsed_s`: the share of one core the
    /// building threads spent building sessions (thread CPU time, not wall time). Under the
    /// virtual clock `elapsed_s` is not the scenario's time, so this is the share over the run;
    /// `build_cores_needed` is the share at the planned rate.
    pub client_build_core_share: Option<f64>,
    /// Derived: `openssl_load_alloc_bytes` ÷ `requests_ok`: OpenSSL's part of
    /// `client_alloc_bytes_per_request` (which stays the whole).
    #[serde(default)]
    pub openssl_alloc_bytes_per_request: Option<f64>,
    /// Derived: `openssl_build_alloc_bytes_total` ÷ `client_builds`: OpenSSL's part of
    /// `client_build_alloc_bytes`.
    #[serde(default)]
    pub openssl_build_alloc_bytes: Option<f64>,
    /// Derived, fresh and leak only: mean build CPU (`client_build_cpu_us_total` ÷
    /// `client_builds`) × the planned rate: the cores building alone needs to keep the rate.
    /// Named as the cause in `rate_bound` when it exceeds the measured `cores_available`.
    #[serde(default)]
    pub build_cores_needed: Option<f64>,
    /// Set when the leg could not keep its rate, measured (`crate::run::soundness`, and
    /// `method.rate_bound`): it fell behind its schedule, or its median start lag reached the
    /// time between two scheduled starts. Says which figures show it and the cause they name.
    #[serde(default)]
    pub rate_bound: Option<String>,
    /// Set (real clock) when whether the leg kept its rate was not measured: it did not fall
    /// behind, and it has no start-lag reading to show a queue. Says why; `rate_bound` is then
    /// null because the verdict is unknown, not because the leg kept its rate, and
    /// `per_session_unsound` carries the same reason.
    #[serde(default)]
    pub rate_bound_not_measured: Option<String>,
    /// Set when this leg's per-session and per-request figures do not describe a session at
    /// the planned rate: the leg was rate-bound, or some of its requests failed; or are not
    /// known to: whether it kept its rate was not measured. Says why. The
    /// figures are still published, as measured; the table and page mark them and the advice
    /// draws no conclusion from them (`method.per_session_unsound`).
    #[serde(default)]
    pub per_session_unsound: Option<String>,
    /// `b`: bytes one retained (fresh) or kept (leak) session holds; `retained_bytes_method`
    /// says how it was measured.
    pub retained_bytes_per_session: Option<f64>,
    pub retained_bytes_method: Option<String>,
    /// Cross-check of `b`: live-heap slope over the retained (fresh, while the store grows)
    /// or kept (leak) session count. A second, independent measurement: `b` itself is what
    /// dropping the sessions freed.
    #[serde(default)]
    pub retained_bytes_slope: Option<f64>,
    /// Derived (model): R·T, capped by `--retention-cap`: sessions held at the plateau.
    #[serde(default)]
    pub model_plateau_sessions: Option<f64>,
    /// Derived (model): `model_plateau_sessions` × `b`.
    pub model_plateau_bytes: Option<f64>,
    /// Mean retained sessions over the samples on the plateau.
    #[serde(default)]
    pub measured_plateau_sessions: Option<f64>,
    /// Mean live heap above the load's starting heap over the samples on the plateau.
    pub measured_plateau_bytes: Option<f64>,
    /// Derived: `measured_plateau_bytes` ÷ `model_plateau_bytes`.
    #[serde(default)]
    pub plateau_ratio: Option<f64>,
    /// Run-clock seconds of the first sample at which retained sessions were within half an
    /// interval's worth of requests of the plateau, i.e. growth had stopped (≈ T).
    #[serde(default)]
    pub plateau_reached_s: Option<f64>,
    /// Maximum over the samples of `retained_sessions`.
    #[serde(default)]
    pub retained_sessions_peak: Option<u64>,
    /// Fresh mode: bytes per retained session and per build under each client setting that
    /// does not need a shared session (the knob probe), measured in the same worker.
    #[serde(default)]
    pub knobs: Option<Vec<crate::contract::probes::KnobFigure>>,
    /// Why the knob probe could not run, if it could not.
    #[serde(default)]
    pub knobs_error: Option<String>,
    /// `--breakdown`, fresh (with retention) and leak: `b` by owner. Derived: each owner's
    /// bytes live at the end of the load's dhat profile (docs/method-breakdown.md) ÷ the
    /// sessions held then; a `remainder` entry is `b` minus their sum, so the
    /// entries add up to `b`. Biggest first.
    #[serde(default)]
    pub retained_breakdown: Option<Vec<crate::contract::breakdown::Share>>,
    /// `--breakdown`: `client_alloc_bytes_per_request` by owner. Derived: each owner's bytes
    /// allocated over the load's profile ÷ `requests_ok`, with a `remainder` entry as above.
    #[serde(default)]
    pub request_breakdown: Option<Vec<crate::contract::breakdown::Share>>,
    /// Why `--breakdown` gave no breakdown for this leg, if it did not.
    #[serde(default)]
    pub breakdown_error: Option<String>,
    /// `--breakdown`, leak with the hyper client against the built-in server: the bytes one
    /// idle held connection costs the client and the server side, TLS and plain TCP, measured
    /// in the same worker after the load (docs/method-breakdown.md).
    #[serde(default)]
    pub held_connection: Option<crate::contract::probes::HeldConnections>,
    /// Why the held-connection probe could not run, if it could not.
    #[serde(default)]
    pub held_connection_error: Option<String>,
    /// Maxima over the samples and the final reading (a peak between samples is not seen).
    pub client_rss_peak_bytes: Option<u64>,
    pub client_heap_peak_bytes: Option<u64>,
    pub open_fds_peak: Option<u64>,
    pub open_connections_peak: Option<u64>,
    /// Derived: `sampler_cpu_us_total` ÷ `elapsed_s` (wall time: under the virtual clock, not
    /// the scenario's time).
    pub sampler_share: Option<f64>,
    /// Lines from this mode's workers that were not valid messages (skipped, and counted
    /// here so nothing is dropped silently).
    #[serde(default)]
    pub worker_lines_unparsed: u64,
    pub server: Option<ServerSummary>,
}

/// Errors reading or writing `summary.json`.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The verb (`read`, `write`), the path, the error.
    #[error("cannot {0} {1}: {2}")]
    Io(&'static str, String, #[source] std::io::Error),
    #[error("{0} is not a valid summary.json: {1}")]
    Json(String, #[source] serde_json::Error),
}

/// Writes `value` to `path` as pretty JSON with a final newline, as every `summary.json` is
/// written.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), SummaryError> {
    let p = || path.display().to_string();
    let text = serde_json::to_string_pretty(value).map_err(|e| SummaryError::Json(p(), e))?;
    std::fs::write(path, text + "\n").map_err(|e| SummaryError::Io("write", p(), e))
}

impl Summary {
    /// Reads a summary written by [`write_json`].
    pub fn read(path: &Path) -> Result<Self, SummaryError> {
        let p = || path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SummaryError::Io("read", p(), e))?;
        serde_json::from_str(&text).map_err(|e| SummaryError::Json(p(), e))
    }
}

/// The `method` key of `REQWEST_NATIVE_TLS` (`crate::run::method_text`); its presence marks a `native-tls` build's
/// summary (the table reads it).
pub const METHOD_REQWEST_NATIVE_TLS: &str = "reqwest_native_tls";
