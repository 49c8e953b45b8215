//! Test fixtures shared by the advice modules' tests: summaries and modes with the figures a
//! test sets, and a finder for the line that starts with a given text.

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
pub(super) fn summary(modes: Vec<ModeSummary>) -> Summary {
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
pub(super) fn leak(client: &str) -> ModeSummary {
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

pub(super) fn fresh(client: &str) -> ModeSummary {
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

pub(super) fn shared(client: &str) -> ModeSummary {
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

pub(super) fn knob(setting: &str, bytes: f64) -> KnobFigure {
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

pub(super) fn line_with<'a>(lines: &'a [String], start: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in {lines:#?}"))
}

pub(super) fn share(owner: Owner, bytes: f64, of: f64) -> crate::contract::breakdown::Share {
    crate::contract::breakdown::Share {
        owner,
        bytes,
        share: bytes / of,
    }
}
