//! Test fixtures the advice modules' tests share.

use crate::contract::probes::KnobFigure;
use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::owner::Owner;
use serde_json::json;

/// A mode with only the figures every mode has, all zero or empty; tests set the rest.
fn mode(name: &str, client: &str) -> ModeSummary {
    serde_json::from_value(json!({
        "mode": name,
        "client": client,
        "roots": "ca",
        "requests_planned": 0,
        "requests_started": 0,
        "requests_ok": 0,
        "requests_failed": 0,
        "failures_by_kind": {},
        "elapsed_s": 0.0,
        "achieved_rps": 0.0,
        "client_builds": 0
    }))
    .expect("fixture mode")
}

/// A real-clock run at `--rate 100` with a descriptor limit of 20000, roots `ca`, the
/// default key exchange and rustls's 256-entry resumption store.
pub(crate) fn summary(modes: Vec<ModeSummary>) -> Summary {
    let mut s: Summary = serde_json::from_value(json!({
        "schema": 1,
        "command": "harness run",
        "clock": "real",
        "interrupted": false,
        "stopped_reason": null,
        "run_id": "fixture",
        "started_at": "2025-01-01T00:00:00Z",
        "scenario": {
            "rate": 100.0,
            "duration_s": 30.0,
            "retention_s": 600.0,
            "tls": "1.3",
            "kx_groups": ["X25519"],
            "max_in_flight": 64,
            "sample_interval_s": 1.0,
            "response_body_bytes": 1024,
            "target": "https://localhost:1/",
            "fd_limit": 20000,
            "roots": "ca",
            "kx": "default",
            "client_cache": 256
        },
        "versions": {
            "harness": "0", "rustls": "0", "hyper": "0", "hyper_util": "0",
            "tokio_rustls": "0", "crypto_provider": "aws-lc-rs"
        },
        "method": {},
        "modes": []
    }))
    .expect("fixture summary");
    s.modes = modes;
    s
}

/// Leak mode whose descriptors grew by 50 per second (10 → 1510 over 30 s) while the
/// configured rate was 100.
pub(crate) fn leak(client: &str) -> ModeSummary {
    let mut m = mode("leak", client);
    m.load.requests_ok = 1500;
    m.load.elapsed_s = 30.0;
    m.load.open_fds_start = Some(10);
    m.open_fds_peak = Some(1510);
    m.load.open_fds_end = Some(1510);
    m.retained_sessions_peak = Some(1500);
    m.retained_bytes_per_session = Some(50_000.0);
    m.retained_bytes_method = Some("live-heap slope".into());
    m
}

pub(crate) fn fresh(client: &str) -> ModeSummary {
    let mut m = mode("fresh", client);
    m.load.requests_ok = 3000;
    m.load.elapsed_s = 30.0;
    m.load.client_builds = 3000;
    m.client_alloc_bytes_per_request = Some(115_200.0);
    m.load.client_heap_start_bytes = Some(56_320);
    m.client_heap_peak_bytes = Some(55_469_670);
    m.load.client_heap_end_bytes = Some(55_469_670);
    m.load.handshakes_full = Some(3000);
    m.client_build_core_share = Some(0.0123);
    m.retained_bytes_per_session = Some(18_329.0);
    m.retained_bytes_method = Some("freed bytes on drop".into());
    m.model_plateau_sessions = Some(60_000.0);
    m.model_plateau_bytes = Some(18_329.0 * 60_000.0);
    m.knobs = Some(vec![knob("", 18_329.0), knob("--client-cache 0", 1_126.0)]);
    m
}

pub(crate) fn shared(client: &str) -> ModeSummary {
    let mut m = mode("shared", client);
    m.load.requests_ok = 3000;
    m.load.elapsed_s = 30.0;
    m.load.client_builds = 1;
    m.client_alloc_bytes_per_request = Some(14_029.0);
    m.load.client_heap_start_bytes = Some(63_590);
    m.client_heap_peak_bytes = Some(632_218);
    m.load.client_heap_end_bytes = Some(626_790);
    m.load.handshakes_full = Some(8);
    m
}

pub(crate) fn knob(setting: &str, bytes: f64) -> KnobFigure {
    KnobFigure {
        setting: setting.into(),
        roots: crate::vocab::tls::RootsChoice::Ca,
        client_cache: 256,
        kx: crate::vocab::tls::KxChoice::Default,
        sessions: 16,
        retained_bytes_per_session: Some(bytes),
        build_alloc_bytes: None,
        failed: 0,
    }
}

pub(crate) fn line_with<'a>(lines: &'a [String], start: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in {lines:#?}"))
}

/// What a rate-bound leg's per-session figures are marked with.
pub(crate) const RATE_BOUND: &str =
    "rate-bound: could not keep --rate 100: 274 of 3,000 requests started late";

/// A run that gives every kind of advice line: two clients, so the lines are tagged; the
/// first one's leak leg rate-bound (its "no conclusion" line), its fresh leg's plateau not
/// reached and its biggest owner one the knob probe measured; the second one's fresh leg
/// without the knob probe (its owner's setting not measured) and a leak leg that
/// extrapolates its descriptors to the limit, its biggest owner one no setting moves.
pub(crate) fn every_line() -> Summary {
    let breakdown = |of: f64| {
        Some(vec![
            share(Owner::ResumptionStore, 16_000.0, of),
            share(Owner::Config, 1_100.0, of),
        ])
    };
    let mut hyper_fresh = fresh("hyper");
    hyper_fresh.retained_breakdown = breakdown(18_329.0);
    let mut hyper_leak = leak("hyper");
    hyper_leak.rate_bound = Some(RATE_BOUND.into());
    hyper_leak.per_session_unsound = hyper_leak.rate_bound.clone();
    let mut reqwest_fresh = fresh("reqwest");
    reqwest_fresh.retained_breakdown = breakdown(18_329.0);
    reqwest_fresh.knobs = None;
    let mut reqwest_leak = leak("reqwest");
    reqwest_leak.retained_breakdown = Some(vec![share(Owner::Http, 28_000.0, 50_000.0)]);
    summary(vec![
        hyper_fresh,
        shared("hyper"),
        hyper_leak,
        reqwest_fresh,
        shared("reqwest"),
        reqwest_leak,
    ])
}

pub(crate) fn share(owner: Owner, bytes: f64, of: f64) -> crate::contract::breakdown::Share {
    crate::contract::breakdown::Share {
        owner,
        bytes,
        share: bytes / of,
    }
}
