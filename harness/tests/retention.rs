//! The retention model end to end: the real binary under the virtual clock, fresh
//! mode, checked through `timeline.csv` and `summary.json`. Relations only (R·t growth, the
//! R·T plateau, b repeatable, no growth without retention, the cap), never timings.
//!
//! The heap-exact checks on `RetentionStore` with real rustls configs need the counting
//! allocator installed, so they live in their own binary: `tests/retention_alloc.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use harness::contract::plan::RetentionSpec;
use harness::contract::summary::{ModeSummary, Summary};
use harness::contract::timeline::{read_csv, TimelineRow};
use harness::run::retention::RetentionStore;

/// Requests/s of every scenario here.
const R: f64 = 50.0;
/// Retention T and duration of the main scenario: R·T = 500 sessions, 2000 requests (~4 s of
/// wall time in a debug build under the virtual clock).
const T: f64 = 10.0;
const SECONDS: f64 = 40.0;

struct Run {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    summary: Summary,
    rows: Vec<TimelineRow>,
}

impl Run {
    fn fresh(&self) -> &ModeSummary {
        self.summary
            .modes
            .iter()
            .find(|m| m.mode.as_str() == "fresh")
            .expect("fresh mode in summary.json")
    }

    fn fresh_rows(&self) -> Vec<&TimelineRow> {
        let rows: Vec<&TimelineRow> = self
            .rows
            .iter()
            .filter(|r| r.mode.as_str() == "fresh")
            .collect();
        assert!(!rows.is_empty(), "no fresh rows in {}", self.dir.display());
        rows
    }
}

fn show(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `harness --mode fresh --clock virtual` with `extra` in a temp dir and reads the report.
fn run_fresh_virtual(extra: &[&str]) -> Run {
    run_fresh_virtual_with(None, extra)
}

/// The same, with the certificates in `certs` (a new CA in the temp dir when `None`).
fn run_fresh_virtual_with(certs: Option<&Path>, extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("reports");
    let certs = certs.map_or_else(|| tmp.path().join("certs"), Path::to_path_buf);
    let output = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["--mode", "fresh", "--clock", "virtual", "--quiet"])
        .args(["--rate", &R.to_string(), "--sample-interval", "1s"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .arg("--certs-dir")
        .arg(&certs)
        .output()
        .expect("run harness");
    assert!(output.status.success(), "{}", show(&output));
    let dir = std::fs::canonicalize(out.join("latest")).expect("reports/latest exists");
    common::check_report(&dir);
    let summary = Summary::read(&dir.join("summary.json")).expect("summary.json parses");
    let rows = read_csv(&dir.join("timeline.csv")).expect("timeline.csv parses");
    assert_eq!(summary.clock.as_str(), "virtual");
    let run = Run {
        _tmp: tmp,
        dir,
        summary,
        rows,
    };
    let m = run.fresh();
    assert_eq!(m.load.requests_failed, 0, "{:?}", m.load.failures_by_kind);
    assert!(m.load.stopped_early.is_none(), "{:?}", m.load.stopped_early);
    // The virtual clock has no schedule: lateness is not measured, so it is null, not 0.
    assert_eq!(m.load.start_lag_us, None);
    assert_eq!(m.load.late_starts, None);
    assert!(run.rows.iter().all(|r| r.sample.late_starts.is_none()));
    let text = std::fs::read_to_string(run.dir.join("summary.json")).expect("summary text");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["modes"][0]["start_lag_us"], serde_json::Value::Null);
    assert_eq!(json["modes"][0]["late_starts"], serde_json::Value::Null);
    run
}

/// The main scenario, retention T: shared by the plateau test and the retention-off comparison.
fn retained_run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        run_fresh_virtual(&[
            "--seconds",
            &SECONDS.to_string(),
            "--retention",
            &format!("{T}s"),
        ])
    })
}

fn within(actual: f64, expected: f64, rel: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs()
}

#[test]
fn fresh_retention_grows_as_r_t_then_holds_r_t() {
    let run = retained_run();
    let m = run.fresh();
    let rows = run.fresh_rows();
    assert_eq!(m.load.requests_ok, (R * SECONDS) as u64);
    assert_eq!(m.load.virtual_s, Some(SECONDS));
    // One sample per virtual second, the last at the end of the run.
    assert_eq!(rows.len(), SECONDS as usize, "samples: {}", rows.len());
    let last = rows.last().expect("rows");
    assert!(
        (last.sample.virtual_t_s - SECONDS).abs() < 1e-9,
        "{}",
        last.sample.virtual_t_s
    );

    let plateau = R * T;
    for r in &rows {
        let t = r.sample.virtual_t_s;
        let n = r
            .sample
            .retained_sessions
            .expect("fresh with retention counts its store") as f64;
        if t < T - 1e-9 {
            let want = R * t;
            assert!(
                (n - want).abs() <= 2.0_f64.max(0.02 * want),
                "growing: {n} retained at t = {t}, expected R·t = {want}"
            );
        } else {
            assert!(
                within(n, plateau, 0.02),
                "plateau: {n} retained at t = {t}, expected R·T = {plateau}"
            );
        }
    }

    let b = m.retained_bytes_per_session.expect("b measured");
    let model = m.model_plateau_sessions.expect("model sessions");
    let measured = m.measured_plateau_sessions.expect("measured sessions");
    let reached = m.plateau_reached_s.expect("plateau reached");
    let ratio = m.plateau_ratio.expect("plateau ratio");
    let slope = m.retained_bytes_slope.expect("slope cross-check");
    println!(
        "b = {b} B/session (slope cross-check {slope:.0}), model plateau {model} sessions, \
         measured {measured:.2}, reached at {reached} s, plateau_ratio {ratio:.4}"
    );
    assert!(b > 0.0);
    assert_eq!(model, plateau, "model_plateau_sessions is R·T");
    assert!(within(measured, plateau, 0.02), "measured {measured}");
    assert!(
        (reached - T).abs() <= 1.0,
        "plateau reached at {reached} s, T = {T} s"
    );
    assert!((0.9..=1.1).contains(&ratio), "plateau_ratio {ratio}");
    // The live-heap slope over the retained count during growth agrees with the exact b.
    assert!(within(slope, b, 0.10), "slope {slope} vs b {b}");
    let model_bytes = m.model_plateau_bytes.expect("model bytes");
    assert!(within(model_bytes, b * plateau, 1e-9), "{model_bytes}");
    // Request i is stamped i/R and expires at i/R + T, so a sample at a boundary sees R·T − 1.
    let peak = m.retained_sessions_peak.expect("peak");
    assert!(
        peak == plateau as u64 || peak + 1 == plateau as u64,
        "peak {peak} vs R·T {plateau}"
    );
    // The timeline's retained bytes are the count times b.
    for r in &rows {
        let n = r.sample.retained_sessions.expect("counted") as f64;
        let bytes = r.retained_bytes.expect("retained bytes filled in") as f64;
        assert!((bytes - n * b).abs() <= 1.0, "{bytes} vs {n} × {b}");
    }
}

#[test]
fn b_is_the_same_in_two_identical_runs() {
    // Same settings, same certificates: a new CA and leaf differ by a byte or two of DER
    // (ECDSA signature lengths), which the retained server chain carries into b.
    let certs = tempfile::tempdir().expect("tempdir");
    let args = ["--seconds", "10", "--retention", "4s"];
    let one = run_fresh_virtual_with(Some(certs.path()), &args);
    let two = run_fresh_virtual_with(Some(certs.path()), &args);
    let b1 = one.fresh().retained_bytes_per_session.expect("b, run 1");
    let b2 = two.fresh().retained_bytes_per_session.expect("b, run 2");
    let rel = (b1 - b2).abs() / b1.max(b2);
    println!("b: run 1 {b1} B, run 2 {b2} B, relative difference {rel:.2e}");
    assert!(b1 > 0.0 && b2 > 0.0);
    assert!(rel <= 0.01, "b differs by {:.3} %", rel * 100.0);
    for run in [&one, &two] {
        let m = run.fresh();
        assert_eq!(m.model_plateau_sessions, Some(R * 4.0));
        assert_eq!(m.load.requests_ok, (R * 10.0) as u64);
    }
}

#[test]
fn without_retention_the_fresh_heap_returns_to_its_baseline() {
    let off = run_fresh_virtual(&["--seconds", &SECONDS.to_string(), "--retention", "0"]);
    let m = off.fresh();
    assert!(
        m.load.requests_ok >= 1000,
        "{} requests",
        m.load.requests_ok
    );
    assert_eq!(m.retained_bytes_per_session, None);
    assert_eq!(m.retained_bytes_method, None);
    assert_eq!(m.model_plateau_sessions, None);
    assert_eq!(m.model_plateau_bytes, None);
    assert_eq!(m.measured_plateau_bytes, None);
    assert_eq!(m.plateau_ratio, None);
    assert_eq!(off.summary.scenario.retention_s, None);
    let rows = off.fresh_rows();
    assert!(rows.iter().all(|r| r.sample.retained_sessions.is_none()));

    let growth = |rows: &[&TimelineRow]| {
        let heap = |r: &TimelineRow| r.sample.client_heap_live_bytes.expect("heap measured") as i64;
        let first = heap(rows.first().expect("rows"));
        let last = heap(rows.last().expect("rows"));
        last - first
    };
    let g_off = growth(&rows);
    let on = retained_run();
    let g_on = growth(&on.fresh_rows());
    println!(
        "live-heap growth first→last sample over {} requests: retention 0 {g_off} B \
         (heap start {:?} B, end {:?} B); retention {T} s {g_on} B",
        m.load.requests_ok, m.load.client_heap_start_bytes, m.load.client_heap_end_bytes
    );
    assert!(g_off < 1 << 20, "retention 0 grew the heap by {g_off} B");
    assert!(
        g_on >= 10 * g_off.max(1 << 16),
        "retention on grew {g_on} B, off {g_off} B: expected ≥ 10× more"
    );
}

#[test]
fn retention_cap_bounds_the_retained_count() {
    const CAP: u64 = 120;
    // R·T = 250 > CAP: the cap, not the TTL, sets the plateau.
    let run = run_fresh_virtual(&[
        "--seconds",
        "12",
        "--retention",
        "5s",
        "--retention-cap",
        &CAP.to_string(),
    ]);
    let m = run.fresh();
    assert_eq!(run.summary.scenario.retention_cap, Some(CAP));
    let rows = run.fresh_rows();
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r.sample.retained_sessions.expect("counted"))
        .collect();
    println!("retained with cap {CAP}: {counts:?}");
    assert!(counts.iter().all(|&n| n <= CAP), "{counts:?}");
    assert_eq!(counts.iter().max(), Some(&CAP), "the cap is reached");
    assert_eq!(m.retained_sessions_peak, Some(CAP));
    assert_eq!(m.model_plateau_sessions, Some(CAP as f64));
    let measured = m.measured_plateau_sessions.expect("measured");
    assert!(within(measured, CAP as f64, 0.02), "measured {measured}");
    let b = m.retained_bytes_per_session.expect("b");
    let model_bytes = m.model_plateau_bytes.expect("model bytes");
    assert!(within(model_bytes, b * CAP as f64, 1e-9), "{model_bytes}");
}

/// Requests complete out of order (several are in flight), so the store receives insertions
/// whose times are not monotonic. Each entry must still expire at its own `now + ttl`.
#[test]
fn out_of_order_insertions_still_expire_at_their_own_time() {
    let mut s: RetentionStore<u32> = RetentionStore::new(RetentionSpec {
        ttl: Duration::from_secs(10),
        cap: None,
    });
    // Request stamped 0.02 completes before the one stamped 0.0.
    s.insert(0.02, 1);
    s.insert(0.0, 0);
    s.expire(10.0);
    assert_eq!(
        s.stats().entries,
        1,
        "the entry stamped 0.0 is due at exactly 10.0"
    );
    assert_eq!(s.stats().expired, 1);
}

/// The same bug seen end to end: with integer R·T, the sessions younger than T at a sample
/// time t ≥ T are those stamped in (t − T, t), R·T − 1 of them (the one stamped exactly t − T
/// is due at t). Entries stuck behind a younger one at the queue's front make it R·T or more.
#[test]
fn plateau_count_is_exact_under_the_virtual_clock() {
    let run = retained_run();
    let want = (R * T) as u64 - 1;
    for r in run.fresh_rows() {
        if r.sample.virtual_t_s >= T - 1e-9 {
            assert_eq!(
                r.sample.retained_sessions,
                Some(want),
                "at virtual t = {}",
                r.sample.virtual_t_s
            );
        }
    }
}
