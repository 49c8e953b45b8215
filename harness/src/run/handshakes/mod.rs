//! `harness handshakes`: per-session memory by the published method (the in-memory lockstep
//! scenario of [`crate::measure::lockstep`], one worker process per point), beside the exact
//! heap and this tool's own per-session figures, in one reconciliation table
//! (docs/handshakes.md; ARCHITECTURE.md, "Published figures").
//!
//! The points: every library × TLS version × N with rustls's default key exchange and one
//! shared client config (the published setup); then, at TLS 1.3, the differences the table
//! explains: X25519 alone (rustls), and a config per client (both libraries).

pub mod foreign;
pub mod series;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::contract::lockstep::{
    variant_tls, HandshakesSummary, HeldFigures, LockstepPoint, LockstepReading, LockstepVersions,
    PerRequestFigures,
};
use crate::contract::summary::Summary;
use crate::measure::held;
use crate::run::methods::versions;
use crate::run::orchestrator::{create_run_dir, point_latest};
use crate::run::process::last_line;
use crate::tls::certs;
use crate::tls::config::ClientTls;
use crate::vocab::client::ClientKind;
use crate::vocab::defaults::CLIENT_CACHE;
use crate::vocab::mode::Mode;
use crate::vocab::tls::{ConfigSharing, KxChoice, RootsChoice, TlsLibrary, TlsVersion};

/// `summary.json`'s schema version for `harness handshakes`.
pub const SCHEMA: u32 = 1;

/// What `harness handshakes` was asked for, checked.
#[derive(Debug, Clone)]
pub struct HandshakesPlan {
    /// Distinct, ascending, each ≥ 2.
    pub sessions: Vec<u64>,
    pub tls: Vec<TlsVersion>,
    pub libraries: Vec<TlsLibrary>,
    pub certs_dir: PathBuf,
    /// Reports go to `<out>/handshakes/<run-id>/`.
    pub out: PathBuf,
    /// A load run whose fresh and leak `b` go in the table.
    pub load_run: Option<PathBuf>,
    /// rustls's own `rustls-bench` binaries, each run at the same points.
    pub rustls_bench: Vec<PathBuf>,
    pub command: String,
}

/// What can stop `harness handshakes`.
#[derive(Debug, thiserror::Error)]
pub enum HandshakesError {
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot find the harness binary: {0}")]
    Exe(std::io::Error),
    #[error("{point}: {reason}")]
    Point { point: String, reason: String },
    #[error(transparent)]
    Out(#[from] crate::run::orchestrator::RunError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The points of a plan, in the order they run.
pub fn points(plan: &HandshakesPlan) -> Vec<LockstepPoint> {
    let mut out = Vec::new();
    let mut at = |library, tls, kx, config, release_buffers| {
        for &sessions in &plan.sessions {
            out.push(LockstepPoint {
                library,
                tls,
                kx,
                config,
                release_buffers,
                sessions,
                certs_dir: plan.certs_dir.clone(),
            });
        }
    };
    let (default, shared) = (KxChoice::Default, ConfigSharing::Shared);
    for &library in &plan.libraries {
        for &tls in &plan.tls {
            at(library, tls, default, shared, false);
        }
    }
    let Some(v) = variant_tls(&plan.tls) else {
        return out;
    };
    for &library in &plan.libraries {
        if library == TlsLibrary::Rustls {
            at(library, v, KxChoice::X25519, shared, false);
        }
        at(library, v, default, ConfigSharing::PerConnection, false);
        if library == TlsLibrary::Openssl {
            at(library, v, default, shared, true);
        }
    }
    out
}

fn label(p: &LockstepPoint) -> String {
    format!("{} N = {}", p.series_name(), p.sessions)
}

/// Runs `cmd` (stdin closed) to its end; its output, or its last line on stderr if it failed.
pub(super) fn output_of(mut cmd: Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            last_line(&err)
        ));
    }
    Ok(out)
}

/// Runs one point in a new worker process (`harness __worker handshakes <json>`).
fn run_point(exe: &Path, point: &LockstepPoint) -> Result<LockstepReading, HandshakesError> {
    let fail = |reason: String| HandshakesError::Point {
        point: label(point),
        reason,
    };
    let json = serde_json::to_string(point).map_err(|e| fail(e.to_string()))?;
    let mut cmd = Command::new(exe);
    cmd.args(["__worker", "handshakes", &json]);
    let out = output_of(cmd, "the worker").map_err(fail)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| fail(format!("unreadable worker output: {e}")))
}

/// The worker: measures the point given as JSON and prints the reading as one JSON line.
pub fn worker_main(config: &str) -> Result<(), HandshakesError> {
    let point: LockstepPoint =
        serde_json::from_str(config).map_err(|e| HandshakesError::Point {
            point: "worker".into(),
            reason: format!("bad configuration: {e}"),
        })?;
    let reading =
        crate::measure::lockstep::measure(&point).map_err(|e| HandshakesError::Point {
            point: label(&point),
            reason: e.to_string(),
        })?;
    let line = serde_json::to_string(&reading).map_err(|e| HandshakesError::Point {
        point: label(&point),
        reason: e.to_string(),
    })?;
    println!("{line}");
    Ok(())
}

/// The held-connection figures for `tls` (64 connections each side, `measure::held`).
fn held_figures(set: &certs::CertSet, tls: TlsVersion) -> HeldFigures {
    let client = ClientTls::new(
        tls,
        KxChoice::Default,
        RootsChoice::Ca,
        vec![set.ca.clone()],
        CLIENT_CACHE,
    );
    match held::probe(set, &client, held::CONNECTIONS) {
        Ok(h) => HeldFigures {
            tls,
            connections: h.connections,
            tls_client_bytes: h.tls_client_bytes,
            tls_server_bytes: h.tls_server_bytes,
            error: None,
        },
        Err(e) => HeldFigures {
            tls,
            connections: held::CONNECTIONS as u64,
            tls_client_bytes: None,
            tls_server_bytes: None,
            error: Some(e.to_string()),
        },
    }
}

/// Fresh and leak `b` from a load run's `summary.json` (the hyper client's legs).
pub fn per_request(dir: &Path) -> Result<PerRequestFigures, String> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let summary: Summary =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let b = |mode: Mode, client: ClientKind| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == mode && m.client == client)
            .and_then(|m| m.retained_bytes_per_session)
    };
    let (fresh_b, leak_b) = (
        b(Mode::Fresh, ClientKind::Hyper),
        b(Mode::Leak, ClientKind::Hyper),
    );
    let reqwest_leak_b = b(Mode::Leak, ClientKind::Reqwest);
    let reqwest_native_leak_b = b(Mode::Leak, ClientKind::ReqwestNative);
    if [fresh_b, leak_b, reqwest_leak_b, reqwest_native_leak_b]
        .iter()
        .all(Option::is_none)
    {
        return Err(format!(
            "{}: no fresh or leak leg with a measured b (run with --mode fresh,leak)",
            path.display()
        ));
    }
    Ok(PerRequestFigures {
        run_id: summary.run_id,
        tls: summary.scenario.tls,
        fresh_b,
        leak_b,
        reqwest_leak_b,
        reqwest_native_leak_b,
    })
}

/// The method, in words, for `summary.json`.
pub const METHOD: &str = "In-memory lockstep (rustls-bench memory's method, as jbp.io 2019 and aochagavia/rustls-bench-results 2024 published it): N sessions = N/2 client connections and N/2 server connections made in one process, all moved one flight per round until every handshake is done, then 1 KiB from each client to its server. One worker process per point. peak_rss = the worker's VmHWM, read last (what GNU time %M, the published figure, reports for it; rustls-bench is run under GNU time itself); heap = the counting allocator's live bytes (Rust, and OpenSSL's allocations routed through it in a native-tls build), read before the first connection, after every round (peak) and at rest; malloc = glibc mallinfo2 uordblks + hblkhd (every malloc, aws-lc's C allocations included); client_bytes / server_bytes = live heap given back when all servers, then all clients were dropped. Slopes per session = difference between the largest and smallest N ÷ difference in N (derived): the process's fixed costs cancel. Key exchange default = rustls's list with aws-lc-rs (X25519MLKEM768 first); OpenSSL uses its own default groups. Shared config: one client config, resumption off (rustls-bench's setup); per-connection: a config per client with the default resumption store (what a per-request client builds). held = measure::held (tokio-rustls over TCP, 64 idle connections per side). fresh_b / leak_b are read from the named load run, not measured by this command";

/// Runs the plan: every point, the held connections, the load run's figures, rustls-bench;
/// writes `summary.json` and returns it with its directory.
pub fn run(
    plan: &HandshakesPlan,
    progress: bool,
) -> Result<(HandshakesSummary, PathBuf), HandshakesError> {
    let exe = std::env::current_exe().map_err(HandshakesError::Exe)?;
    let (set, _) = certs::ensure(&plan.certs_dir)?;
    let mut readings = Vec::new();
    let points = points(plan);
    for (i, point) in points.iter().enumerate() {
        let t0 = Instant::now();
        let r = run_point(&exe, point)?;
        if progress {
            eprintln!(
                "[{}/{}] {}: peak RSS {} ({:.1} s)",
                i + 1,
                points.len(),
                label(point),
                r.peak_rss_bytes
                    .map_or("n/a".into(), |b| format!("{} KiB", b / 1024)),
                t0.elapsed().as_secs_f64()
            );
        }
        readings.push(r);
    }
    let mut all_series = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for r in &readings {
        let name = r.point.series_name();
        if seen.contains(&name) {
            continue;
        }
        let group: Vec<&LockstepReading> = readings
            .iter()
            .filter(|o| o.point.series_name() == name)
            .collect();
        all_series.extend(series::series(&group));
        seen.push(name);
    }
    let held = plan.tls.iter().map(|&t| held_figures(&set, t)).collect();
    let (per_request, per_request_error) = match &plan.load_run {
        Some(dir) => match per_request(dir) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, Some("no load run given (--run DIR)".into())),
    };
    let mut rustls_bench = Vec::new();
    for bench in &plan.rustls_bench {
        for &tls in &plan.tls {
            for &n in &plan.sessions {
                let p = foreign::run(bench, tls, n);
                if progress {
                    eprintln!(
                        "rustls-bench TLS {tls} N = {n}: peak RSS {}",
                        p.peak_rss_bytes.map_or_else(
                            || p.error.clone().unwrap_or_default(),
                            |b| format!("{} KiB", b / 1024)
                        )
                    );
                }
                rustls_bench.push(p);
            }
        }
    }
    let v = versions();
    let mut summary = HandshakesSummary {
        schema: SCHEMA,
        command: plan.command.clone(),
        run_id: String::new(),
        versions: LockstepVersions {
            rustls: v.rustls,
            crypto_provider: v.crypto_provider,
            openssl: openssl_version(),
            allocator: "glibc malloc (Rust's System allocator), under the counting allocator"
                .into(),
        },
        method: METHOD.into(),
        readings,
        series: all_series,
        held,
        per_request,
        per_request_error,
        rustls_bench,
        reconciliation: Vec::new(),
    };
    summary.reconciliation = crate::report::handshakes::reconciliation(&summary);
    write(plan, summary)
}

fn write(
    plan: &HandshakesPlan,
    mut summary: HandshakesSummary,
) -> Result<(HandshakesSummary, PathBuf), HandshakesError> {
    let root = plan.out.join("handshakes");
    let dir = create_run_dir(&root)?;
    summary.run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let path = dir.join("summary.json");
    let wr = |source| HandshakesError::Write {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_string_pretty(&summary)
        .map_err(|e| wr(std::io::Error::other(e.to_string())))?;
    std::fs::write(&path, text + "\n").map_err(wr)?;
    let _ = point_latest(&root, &dir);
    Ok((summary, dir))
}

#[cfg(feature = "native-tls")]
fn openssl_version() -> Option<String> {
    Some(openssl::version::version().to_string())
}

#[cfg(not(feature = "native-tls"))]
fn openssl_version() -> Option<String> {
    None
}
