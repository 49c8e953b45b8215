//! `harness handshakes`: the lockstep points, one worker process each, rustls-bench, the summary.

pub mod guard;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::contract::lockstep::{
    self, variant_tls, ForeignPoint, HandshakesSummary, HeldFigures, LockstepPoint,
    LockstepReading, LockstepSeries, LockstepVersions, PerRequestFigures, RefusedLeg, SeriesKey,
};
use crate::contract::summary::{write_json, Summary};
use crate::measure::held;
use crate::run::assemble::per;
use crate::run::method_text::versions;
use crate::run::orchestrator::{create_run_dir, point_latest, run_id};
use crate::run::process::{ending, failure_message};
use crate::tls::certs;
use crate::tls::config::ClientTls;
use crate::vocab::client::ClientKind;
use crate::vocab::defaults::{CLIENT_CACHE, LOCKSTEP_DATA_BYTES};
use crate::vocab::mode::Mode;
use crate::vocab::owner::Owner;
use crate::vocab::tls::{ConfigSharing, KxChoice, RootsChoice, TlsLibrary, TlsVersion};
use crate::vocab::units;

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
    /// `load_run` is the default (`<out>/latest`), not named with `--run`.
    pub load_run_default: bool,
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
    /// The point, and why it gave no reading.
    #[error("{0}: {1}")]
    Point(String, String),
    #[error(transparent)]
    Out(#[from] crate::run::orchestrator::OutError),
    #[error(transparent)]
    Write(#[from] crate::contract::summary::SummaryError),
}

/// The points of a plan, in the order they run.
fn points(plan: &HandshakesPlan) -> Vec<LockstepPoint> {
    let mut out = Vec::new();
    let mut at = |library, tls, kx, config, release_buffers| {
        for &sessions in &plan.sessions {
            out.push(LockstepPoint {
                key: SeriesKey {
                    library,
                    tls,
                    kx,
                    config,
                },
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
    format!("{} N = {}", p.key.name(p.release_buffers), p.sessions)
}

fn failed(point: &LockstepPoint, reason: impl ToString) -> HandshakesError {
    HandshakesError::Point(label(point), reason.to_string())
}

/// Runs `cmd` (stdin closed) to its end; its output, or how it ended and what it said of
/// its end (its panic, else its last line on stderr) if it failed.
fn output_of(mut cmd: Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{what} failed ({}): {}",
            ending(out.status),
            failure_message(&err)
        ));
    }
    Ok(out)
}

/// Runs one point in a new worker process (`harness __worker handshakes <json>`).
fn run_point(exe: &Path, point: &LockstepPoint) -> Result<LockstepReading, HandshakesError> {
    let json = serde_json::to_string(point).map_err(|e| failed(point, e))?;
    let mut cmd = Command::new(exe);
    cmd.args(["__worker", "handshakes", &json]);
    let out = output_of(cmd, "the worker").map_err(|e| failed(point, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).map_err(|e| failed(point, format!("unreadable worker output: {e}")))
}

/// The worker: measures the point given as JSON and prints the reading as one JSON line.
pub fn worker_main(config: &str) -> Result<(), HandshakesError> {
    let bad = |e| HandshakesError::Point("worker".into(), format!("bad configuration: {e}"));
    let point: LockstepPoint = serde_json::from_str(config).map_err(bad)?;
    let reading = crate::measure::lockstep::measure(&point).map_err(|e| failed(&point, e))?;
    let json = serde_json::to_string(&reading).map_err(|e| failed(&point, e))?;
    println!("{json}");
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
    let probe = held::probe(set, &client, held::CONNECTIONS);
    let h = probe.as_ref().ok();
    HeldFigures {
        tls,
        connections: h.map_or(held::CONNECTIONS as u64, |h| h.connections),
        tls_client_bytes: h.and_then(|h| h.tls_client_bytes),
        tls_server_bytes: h.and_then(|h| h.tls_server_bytes),
        tcp_client_bytes: h.and_then(|h| h.tcp_client_bytes),
        tcp_server_bytes: h.and_then(|h| h.tcp_server_bytes),
        error: probe.as_ref().err().map(ToString::to_string),
    }
}

/// Fresh and leak `b` from a load run's `summary.json` (the hyper client's legs, and leak's
/// reqwest legs). A leg marked `per_session_unsound` (rate-bound, or with failed requests)
/// gives no `b`: its figure is null and the leg is listed in `refused` with its own reason.
pub fn per_request(dir: &Path) -> Result<PerRequestFigures, String> {
    let path = dir.join("summary.json");
    let summary = Summary::read(&path).map_err(|e| e.to_string())?;
    let mut refused = Vec::new();
    let leg = |mode: Mode, client: ClientKind| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == mode && m.client == client)
    };
    let mut b = |mode: Mode, client: ClientKind| {
        let m = leg(mode, client)?;
        let unsound = m.per_session_unsound.as_ref().or(m.rate_bound.as_ref());
        if let Some(reason) = unsound.cloned() {
            refused.push(RefusedLeg {
                mode,
                client,
                reason,
            });
            return None;
        }
        m.retained_bytes_per_session
    };
    let fresh_b = b(Mode::Fresh, ClientKind::Hyper);
    let leak_b = b(Mode::Leak, ClientKind::Hyper);
    let reqwest_leak_b = b(Mode::Leak, ClientKind::Reqwest);
    let reqwest_native_leak_b = b(Mode::Leak, ClientKind::ReqwestNative);
    if [fresh_b, leak_b, reqwest_leak_b, reqwest_native_leak_b]
        .iter()
        .all(Option::is_none)
        && refused.is_empty()
    {
        return Err(format!(
            "{}: no fresh or leak leg with a measured b (run with --mode fresh,leak)",
            path.display()
        ));
    }
    // Only a sound leg's breakdown is quoted: it divides the same b.
    let hyper = |mode: Mode, b: Option<f64>| {
        b?;
        leg(mode, ClientKind::Hyper)?
            .retained_breakdown
            .as_ref()?
            .iter()
            .find(|s| s.owner == Owner::Http)
            .map(|s| s.bytes)
    };
    Ok(PerRequestFigures {
        run_id: summary.run_id.clone(),
        tls: summary.scenario.tls,
        fresh_b,
        leak_b,
        reqwest_leak_b,
        reqwest_native_leak_b,
        fresh_hyper_b: hyper(Mode::Fresh, fresh_b),
        leak_hyper_b: hyper(Mode::Leak, leak_b),
        refused,
    })
}

/// How the load run was chosen, for the report: named, or the default and where it points.
fn load_run_choice(plan: &HandshakesPlan) -> String {
    match &plan.load_run {
        Some(dir) if plan.load_run_default => {
            let target = std::fs::read_link(dir)
                .ok()
                .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "?".into());
            format!("{} -> {target} (default)", dir.display())
        }
        Some(dir) => format!("{} (--run)", dir.display()),
        None => format!(
            "none ({} has no summary.json; name one with --run DIR)",
            plan.out.join("latest").display()
        ),
    }
}

/// The method, in words, for `summary.json`; docs/method-handshakes.md gives the detail.
pub fn method() -> String {
    format!(
        "rustls-bench memory's in-memory lockstep: N sessions = N/2 client and N/2 server connections in one worker process per point, moved one flight per round through full handshakes, then {} from each client to its server; peak_rss is the worker's VmHWM (what GNU time %M reports), heap the counting allocator's live bytes, malloc glibc's mallinfo2, client_bytes / server_bytes the heap given back by dropping each side; each slope is derived over the span of N printed beside it. held = measure::held ({} idle connections per side); fresh_b / leak_b come from the named load run, and a leg marked per_session_unsound gives none (per_request.refused). A reconciliation row names the two figures it subtracts and a cause only where this run measured one (docs/method-handshakes.md)",
        units::bytes(LOCKSTEP_DATA_BYTES as f64),
        held::CONNECTIONS,
    )
}

/// Runs the plan: every point, the held connections, the load run's figures, rustls-bench;
/// writes `summary.json` and returns it with its directory.
pub fn run(
    plan: &HandshakesPlan,
    progress: bool,
) -> Result<(HandshakesSummary, PathBuf), HandshakesError> {
    let exe = std::env::current_exe().map_err(HandshakesError::Exe)?;
    let (set, _) = certs::ensure(&plan.certs_dir)?;
    let load_run = load_run_choice(plan);
    if progress {
        eprintln!("load run: {load_run}");
    }
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
    // `points` runs each series' N one after another.
    let all_series = readings
        .chunk_by(|a, b| a.point.series() == b.point.series())
        .filter_map(series)
        .collect();
    let held = plan.tls.iter().map(|&t| held_figures(&set, t)).collect();
    let per_request = match &plan.load_run {
        Some(dir) => per_request(dir),
        None => Err("no load run given (--run DIR)".into()),
    };
    let mut rustls_bench = Vec::new();
    for bench in &plan.rustls_bench {
        for &tls in &plan.tls {
            for &n in &plan.sessions {
                let p = rustls_bench_point(bench, tls, n);
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
        method: method(),
        readings,
        series: all_series,
        held,
        per_request_error: per_request.as_ref().err().cloned(),
        per_request: per_request.ok(),
        rustls_bench,
        reconciliation: Vec::new(),
        load_run: Some(load_run),
    };
    summary.reconciliation = crate::report::handshakes::reconciliation(&summary);
    let root = plan.out.join("handshakes");
    let dir = create_run_dir(&root, "")?;
    summary.run_id = run_id(&dir);
    write_json(&dir.join("summary.json"), &summary)?;
    let _ = point_latest(&root, &dir);
    Ok((summary, dir))
}

fn openssl_version() -> Option<String> {
    #[cfg(feature = "native-tls")]
    return Some(openssl::version::version().to_string());
    #[cfg(not(feature = "native-tls"))]
    None
}

type Reading = fn(&LockstepReading) -> Option<u64>;

/// The series of `readings` (all of one library, version, key exchange and config sharing),
/// or `None` for fewer than two distinct N.
pub fn series(readings: &[LockstepReading]) -> Option<LockstepSeries> {
    let mut sorted: Vec<&LockstepReading> = readings.iter().collect();
    sorted.sort_by_key(|r| r.point.sessions);
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    if first.point.sessions == last.point.sessions {
        return None;
    }
    let slope = |a: &LockstepReading, b: &LockstepReading, f: Reading| {
        lockstep::slope(
            (a.point.sessions, f(a)? as f64),
            (b.point.sessions, f(b)? as f64),
        )
    };
    Some(LockstepSeries {
        key: last.point.key,
        release_buffers: last.point.release_buffers,
        from_sessions: first.point.sessions,
        to_sessions: last.point.sessions,
        peak_rss_slope: slope(first, last, |r| r.peak_rss_bytes),
        peak_rss_per_session: per(last.peak_rss_bytes, last.point.sessions),
        malloc_peak_slope: slope(first, last, |r| r.malloc_peak_bytes),
        heap_peak_slope: slope(first, last, |r| r.heap_peak_bytes),
        heap_at_rest_slope: slope(first, last, |r| r.heap_at_rest_bytes),
        malloc_at_rest_slope: slope(first, last, |r| r.malloc_at_rest_bytes),
        malloc_free_at_rest_slope: slope(first, last, |r| r.malloc_free_at_rest_bytes),
        client_bytes_per_connection: per(last.client_bytes, last.point.pairs()),
        server_bytes_per_connection: per(last.server_bytes, last.point.pairs()),
        peak_rss_steps: sorted
            .windows(2)
            .map(|w| slope(w[0], w[1], |r| r.peak_rss_bytes))
            .collect(),
        sessions: sorted.iter().map(|r| r.point.sessions).collect(),
    })
}

/// GNU `time`, the tool the published tables were measured with (`time -f %M`). Run from a
/// parent as large as the harness, a program's `ru_maxrss` would include the parent's own
/// peak (the kernel carries it across `exec`); `time` is small, so its child's is its own.
pub const GNU_TIME: &str = "/usr/bin/time";

/// Runs one point of `rustls-bench memory`, rustls's own program, under GNU `time`, with the
/// arguments rustls's `admin/bench-measure.mk` gives it.
fn rustls_bench_point(bench: &Path, tls: TlsVersion, sessions: u64) -> ForeignPoint {
    // The suite the harness's rustls pairs negotiate with its ECDSA P-256 certificate.
    let suite = match tls {
        TlsVersion::V12 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TlsVersion::V13 => "TLS13_AES_256_GCM_SHA384",
    };
    let argv = vec![
        bench.display().to_string(),
        "--key-type".into(),
        "ecdsa-p256".into(),
        "memory".into(),
        suite.into(),
        sessions.to_string(),
    ];
    let peak = peak_rss_of(&argv);
    ForeignPoint {
        tls,
        sessions,
        argv,
        peak_rss_bytes: peak.as_ref().ok().copied(),
        error: peak.err(),
    }
}

/// `argv` run to its end under `time -f %M -o FILE`; its peak RSS in bytes, or why not.
fn peak_rss_of(argv: &[String]) -> Result<u64, String> {
    let file = std::env::temp_dir().join(format!("harness-maxrss-{}.txt", std::process::id()));
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", "%M", "-o"]).arg(&file).args(argv);
    output_of(cmd, &format!("{} under {GNU_TIME}", argv[0]))?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()));
    let _ = std::fs::remove_file(&file);
    let text = text?;
    let kib: u64 = text
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("{GNU_TIME} wrote no peak RSS: {text:?}"))?;
    Ok(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::lockstep::fixture;

    #[test]
    fn a_worker_that_panics_and_aborts_is_reported_by_its_panic_and_signal() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "printf '%s\\n' \"thread 'main' panicked at x.rs:1:2:\" boom \
             'note: run with `RUST_BACKTRACE=1` to display a backtrace' >&2; kill -ABRT $$",
        ]);
        assert_eq!(
            output_of(cmd, "the worker").unwrap_err(),
            "the worker failed (killed by signal 6 (SIGABRT)): \
             thread 'main' panicked at x.rs:1:2: boom"
        );
    }

    fn reading(sessions: u64, rss: u64, heap: Option<u64>, client: u64) -> LockstepReading {
        LockstepReading {
            peak_rss_bytes: Some(rss),
            rss_at_rest_bytes: Some(rss),
            heap_before_bytes: Some(1000),
            heap_peak_bytes: heap,
            heap_at_rest_bytes: heap,
            server_bytes: Some(client),
            client_bytes: Some(client),
            ..fixture::reading(fixture::rustls(sessions))
        }
    }

    #[test]
    fn slopes_come_from_the_end_points_in_order_of_n_and_cancel_the_baseline() {
        // Not on one line: the end-point slope (100 → 10,000: 99 MB ÷ 9,900 = 10,000 B) differs
        // from either step (22,222 B, 8,778 B) and from a least-squares fit (about 9,100 B).
        let a = reading(100, 10_000_000, Some(2_000), 50);
        let b = reading(1000, 30_000_000, Some(50_000), 500);
        let c = reading(10_000, 109_000_000, Some(200_000), 5_000);
        // Given out of order: the slope is still first → last by N.
        let s = series(&[c, a, b]).unwrap();
        assert_eq!((s.from_sessions, s.to_sessions), (100, 10_000));
        assert_eq!(s.sessions, vec![100, 1000, 10_000]);
        assert_eq!(s.peak_rss_slope, Some(10_000.0));
        let steps: Vec<f64> = s
            .peak_rss_steps
            .iter()
            .map(|x| x.unwrap().round())
            .collect();
        assert_eq!(steps, vec![22_222.0, 8_778.0]);
        assert_eq!(s.heap_at_rest_slope, Some(20.0));
        // Per connection: a side's bytes ÷ pairs (5,000 pairs at N = 10,000).
        assert_eq!(s.client_bytes_per_connection, Some(1.0));
        // The published quick ratio keeps the baseline in.
        assert_eq!(s.peak_rss_per_session, Some(10_900.0));
        // Unmeasured stays unmeasured, never 0.
        assert_eq!(s.malloc_peak_slope, None);
    }

    #[test]
    fn a_missing_figure_at_either_end_gives_no_slope_and_one_n_gives_no_series() {
        let a = reading(100, 1, None, 1);
        let b = reading(1000, 2, Some(5), 1);
        assert_eq!(series(&[a.clone(), b]).unwrap().heap_at_rest_slope, None);
        assert!(series(std::slice::from_ref(&a)).is_none());
        assert!(series(&[a.clone(), a]).is_none());
    }
}
