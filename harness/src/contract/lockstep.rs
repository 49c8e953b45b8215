//! The lockstep scenario's data: the point a `handshakes` worker measures, its reading, the report.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::vocab::tls::{ConfigSharing, KxChoice, TlsLibrary, TlsVersion};
use crate::vocab::units::count;

/// One point: a library, a protocol version, a key exchange, shared or per-connection client
/// configs, and a number of sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockstepPoint {
    #[serde(flatten)]
    pub key: SeriesKey,
    /// OpenSSL only: the clients set `SSL_MODE_RELEASE_BUFFERS`, as native-tls (and so
    /// reqwest-native) does, and free their record buffers when idle.
    #[serde(default)]
    pub release_buffers: bool,
    /// Sessions, counting both sides: `sessions / 2` clients connected to `sessions / 2`
    /// servers, as the published tables (and `rustls-bench memory <count>`) count them.
    pub sessions: u64,
    /// Where the harness CA and server certificate are.
    pub certs_dir: PathBuf,
}

impl LockstepPoint {
    /// Client–server pairs: half the sessions.
    pub fn pairs(&self) -> u64 {
        self.sessions / 2
    }

    /// What names its series: all but N.
    pub fn series(&self) -> (SeriesKey, bool) {
        (self.key, self.release_buffers)
    }
}

/// What a series holds fixed besides OpenSSL's buffer release (flattened into its points and
/// itself, whose `release_buffers` are documented apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesKey {
    pub library: TlsLibrary,
    pub tls: TlsVersion,
    pub kx: KxChoice,
    pub config: ConfigSharing,
}

impl SeriesKey {
    /// One name per series (all but N), for points, series and the tables alike.
    pub fn name(&self, release_buffers: bool) -> String {
        let Self {
            library,
            tls,
            kx,
            config,
        } = self;
        let release = if release_buffers {
            " release-buffers"
        } else {
            ""
        };
        format!("{library} TLS {tls} kx {kx} config {config}{release}")
    }
}

/// The TLS version the variant series (X25519 alone, a config per client, OpenSSL releasing
/// its buffers) run at: 1.3 when it is among `versions`, else the first.
pub fn variant_tls(versions: &[TlsVersion]) -> Option<TlsVersion> {
    let v13 = versions
        .contains(&TlsVersion::V13)
        .then_some(TlsVersion::V13);
    v13.or(versions.first().copied())
}

/// Bytes per session between two `(sessions, bytes)` points (derived); `None` for the same N.
pub fn slope(a: (u64, f64), b: (u64, f64)) -> Option<f64> {
    (a.0 != b.0).then(|| (b.1 - a.1) / (b.0 as f64 - a.0 as f64))
}

/// How every slope names the two N it is taken between: `N 1,000→10,000`.
pub fn span(from: u64, to: u64) -> String {
    format!("N {}→{}", count(from), count(to))
}

/// What one worker measured at one point. Every figure is `None` when it could not be read
/// (never 0): heap figures need the counting allocator, `malloc_*` glibc's `mallinfo2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockstepReading {
    pub point: LockstepPoint,
    /// Pairs whose handshake completed (both sides); the figures are valid only when this is
    /// every pair.
    pub handshakes_completed: u64,
    /// Lockstep rounds run (a round moves every pair one flight forward).
    pub rounds: u32,
    /// Peak resident set of the worker's program image, in bytes (`VmHWM`, read last): the
    /// figure GNU `time -f %M` prints for it and the published tables report.
    pub peak_rss_bytes: Option<u64>,
    /// Resident set once every pair has finished (`/proc/self/statm`), in bytes.
    pub rss_at_rest_bytes: Option<u64>,
    /// Live heap (counting allocator: Rust allocations, and OpenSSL's when it is counted)
    /// after the configs were built and before the first connection.
    pub heap_before_bytes: Option<u64>,
    /// The largest live heap read once every pair was made or after any lockstep round (a
    /// reading per round, not per allocation: a transient inside one pair's step is not seen).
    pub heap_peak_bytes: Option<u64>,
    /// Live heap once every pair has finished and the 1 KiB of data has been delivered.
    pub heap_at_rest_bytes: Option<u64>,
    /// Bytes in use in glibc's malloc (`mallinfo2`: `uordblks + hblkhd`) before the first
    /// connection: every malloc'd byte, C allocations (aws-lc, OpenSSL) included.
    pub malloc_before_bytes: Option<u64>,
    /// The largest `mallinfo2` in-use figure, read when `heap_peak_bytes` is.
    pub malloc_peak_bytes: Option<u64>,
    /// `mallinfo2` in-use bytes at rest.
    pub malloc_at_rest_bytes: Option<u64>,
    /// Free bytes malloc keeps in its arenas at rest (`mallinfo2` `fordblks`): freed
    /// transients it holds for reuse.
    pub malloc_free_at_rest_bytes: Option<u64>,
    /// Live heap given back when the servers were dropped (all of them), then when the
    /// clients were: each side's bytes at rest, exactly.
    pub server_bytes: Option<u64>,
    pub client_bytes: Option<u64>,
}

/// `harness handshakes`'s report (`summary.json` in its directory): the readings, their slopes
/// and what the reconciliation table is computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandshakesSummary {
    pub schema: u32,
    pub command: String,
    pub run_id: String,
    /// The libraries measured, and the allocator under both.
    pub versions: LockstepVersions,
    /// How each figure was measured, in words.
    pub method: String,
    pub readings: Vec<LockstepReading>,
    pub series: Vec<LockstepSeries>,
    /// Idle held connections (tokio-rustls over TCP, `measure::held`), per TLS version.
    pub held: Vec<HeldFigures>,
    /// The per-request client figures of a load run, when one was given or found.
    pub per_request: Option<PerRequestFigures>,
    /// Why `per_request` is null.
    pub per_request_error: Option<String>,
    /// `rustls-bench memory` (rustls's own program) run here, when `--rustls-bench` was given.
    pub rustls_bench: Vec<ForeignPoint>,
    /// The reconciliation table, as printed (`report::handshakes::reconciliation`).
    pub reconciliation: Vec<ReconciliationRow>,
    /// Which load run `per_request` was read from and how it was chosen (named with `--run`,
    /// or the default `reports/latest` and the run it points to), or why there is none.
    #[serde(default)]
    pub load_run: Option<String>,
}

/// One row of the reconciliation table: a figure (measured, a difference of two measured
/// figures, or a quoted published one, as `how` says) and how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReconciliationRow {
    pub label: String,
    /// Bytes; null when a figure it needs was not measured.
    pub bytes: Option<f64>,
    pub how: String,
}

/// Versions of what was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockstepVersions {
    pub rustls: Option<String>,
    pub crypto_provider: Option<String>,
    /// `OpenSSL_version()`, or null in a build without OpenSSL.
    pub openssl: Option<String>,
    /// The allocator under the counting allocator.
    pub allocator: String,
}

/// One series (a library, version, key exchange and config sharing over every N): slopes
/// per session between the smallest and the largest N, bytes. Derived from the readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockstepSeries {
    #[serde(flatten)]
    pub key: SeriesKey,
    pub release_buffers: bool,
    pub from_sessions: u64,
    pub to_sessions: u64,
    /// Peak RSS slope per session: the published metric.
    pub peak_rss_slope: Option<f64>,
    /// Peak RSS ÷ sessions at the largest N: the published tables' quick ratio (baseline
    /// included).
    pub peak_rss_per_session: Option<f64>,
    pub malloc_peak_slope: Option<f64>,
    pub heap_peak_slope: Option<f64>,
    pub heap_at_rest_slope: Option<f64>,
    pub malloc_at_rest_slope: Option<f64>,
    pub malloc_free_at_rest_slope: Option<f64>,
    /// Bytes at rest per client connection and per server connection, at the largest N
    /// (freed when the side was dropped ÷ pairs): exact.
    pub client_bytes_per_connection: Option<f64>,
    pub server_bytes_per_connection: Option<f64>,
    /// Peak RSS slopes between consecutive N values: how straight the line is.
    pub peak_rss_steps: Vec<Option<f64>>,
    /// The N of the readings, ascending: `peak_rss_steps[i]` is the slope between
    /// `sessions[i]` and `sessions[i + 1]`.
    #[serde(default)]
    pub sessions: Vec<u64>,
}

/// Idle held connection heap, per side (`measure::held`), for one TLS version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HeldFigures {
    pub tls: TlsVersion,
    pub connections: u64,
    pub tls_client_bytes: Option<f64>,
    pub tls_server_bytes: Option<f64>,
    /// The same probe's plain TCP connection (a tokio `TcpStream` held the same way), per side.
    #[serde(default)]
    pub tcp_client_bytes: Option<f64>,
    #[serde(default)]
    pub tcp_server_bytes: Option<f64>,
    /// Why the figures are null.
    pub error: Option<String>,
}

/// `b` of the fresh and leak modes, read from a load run's `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PerRequestFigures {
    pub run_id: String,
    pub tls: TlsVersion,
    /// Retained bytes per fresh session (hyper client), or null if the run had no fresh leg.
    pub fresh_b: Option<f64>,
    /// Bytes per leaked session (hyper client with its connection), or null.
    pub leak_b: Option<f64>,
    /// Leak's b with reqwest (rustls) and reqwest-native (OpenSSL) clients, when the run had
    /// those legs.
    pub reqwest_leak_b: Option<f64>,
    pub reqwest_native_leak_b: Option<f64>,
    /// Legs whose `b` is not used, and why: rate-bound, or with failed requests
    /// (`per_session_unsound`). Their figure above is null.
    #[serde(default)]
    pub refused: Vec<RefusedLeg>,
    /// Bytes of fresh's and leak's `b` (hyper client) that the run's `--breakdown` attributes
    /// to the owner `hyper`, when the run had a breakdown.
    #[serde(default)]
    pub fresh_hyper_b: Option<f64>,
    #[serde(default)]
    pub leak_hyper_b: Option<f64>,
}

/// A load leg whose per-session figure a reconciliation row does not use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RefusedLeg {
    pub mode: crate::vocab::mode::Mode,
    pub client: crate::vocab::client::ClientKind,
    /// The leg's own `per_session_unsound` text.
    pub reason: String,
}

/// One run of a foreign program: its peak RSS as GNU `time -f %M` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForeignPoint {
    pub tls: TlsVersion,
    pub sessions: u64,
    /// The command line run.
    pub argv: Vec<String>,
    pub peak_rss_bytes: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The rustls TLS 1.3 points and readings the lockstep unit tests build on.

    use super::*;

    /// A TLS 1.3 series key of `library`, `kx` and `config`.
    pub(crate) fn key(library: TlsLibrary, kx: KxChoice, config: ConfigSharing) -> SeriesKey {
        SeriesKey {
            library,
            tls: TlsVersion::V13,
            kx,
            config,
        }
    }

    /// A point of `sessions` at `key`, keeping OpenSSL's buffers.
    pub(crate) fn point(key: SeriesKey, sessions: u64) -> LockstepPoint {
        LockstepPoint {
            key,
            release_buffers: false,
            sessions,
            certs_dir: "certs".into(),
        }
    }

    /// A rustls TLS 1.3 point of `sessions` with the default key exchange and one shared config.
    pub(crate) fn rustls(sessions: u64) -> LockstepPoint {
        point(
            key(TlsLibrary::Rustls, KxChoice::Default, ConfigSharing::Shared),
            sessions,
        )
    }

    /// A reading of `point` whose pairs all completed in two rounds, with no figure read.
    pub(crate) fn reading(point: LockstepPoint) -> LockstepReading {
        LockstepReading {
            handshakes_completed: point.pairs(),
            rounds: 2,
            point,
            peak_rss_bytes: None,
            rss_at_rest_bytes: None,
            heap_before_bytes: None,
            heap_peak_bytes: None,
            heap_at_rest_bytes: None,
            malloc_before_bytes: None,
            malloc_peak_bytes: None,
            malloc_at_rest_bytes: None,
            malloc_free_at_rest_bytes: None,
            server_bytes: None,
            client_bytes: None,
        }
    }
}
