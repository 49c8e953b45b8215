//! The "What to do" block printed under the table and in the HTML report.
//!
//! Every figure it quotes is one the run measured, or is derived from measured figures and
//! says so; every line names the figures it comes from. A figure the run did not measure drops
//! its clause: no configured setting (such as `--rate`) stands in for it, and nothing is
//! quoted as 0.

use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;
use crate::vocab::owner::Owner;
use crate::vocab::units::bytes as fmt_bytes;

/// The advice lines, each tagged `[client] ` when the run measured more than one client.
pub fn advice(summary: &Summary) -> Vec<String> {
    let mut clients: Vec<ClientKind> = Vec::new();
    for m in &summary.modes {
        if !clients.contains(&m.client) {
            clients.push(m.client);
        }
    }
    let many = clients.len() > 1;
    let mut out = Vec::new();
    for client in clients {
        let tag = if many {
            format!("[{client}] ")
        } else {
            String::new()
        };
        out.extend(
            advice_for(summary, client)
                .into_iter()
                .map(|l| format!("{tag}{l}")),
        );
    }
    out
}

fn advice_for(summary: &Summary, client: ClientKind) -> Vec<String> {
    let find = |mode: Mode| {
        summary
            .modes
            .iter()
            .find(|m| m.mode == mode && m.client == client)
    };
    let (fresh, shared) = (find(Mode::Fresh), find(Mode::Shared));
    let mut out = Vec::new();
    if let (Some(f), Some(s)) = (fresh, shared) {
        out.extend(share_line(f, s));
    }
    if let Some(f) = fresh {
        out.extend(build_line(f, shared));
        out.extend(retention_line(f));
        out.extend(knob_line(f));
        out.extend(owner_line(f, f));
    }
    if let Some(l) = find(Mode::Leak) {
        out.extend(leak_line(summary, l));
        out.extend(owner_line(l, fresh.unwrap_or(l)));
    }
    out
}

/// The client setting of the knob probe ([`crate::run::knobs`]) that changes an owner's bytes,
/// as its `KnobFigure::setting` reads; owners without one are moved only by sharing or
/// dropping the session.
const OWNER_KNOBS: &[(Owner, &str)] = &[
    (Owner::ResumptionStore, "--client-cache 0"),
    (Owner::Tickets, "--client-cache 0"),
    (Owner::Config, "--roots ca"),
    (Owner::KeyExchange, "--kx x25519"),
];

/// `--breakdown`: the owner holding most of b in mode `m`, and what the knob that moves it
/// measured (the knob probe runs in the fresh leg `probe` of the same client).
fn owner_line(m: &ModeSummary, probe: &ModeSummary) -> Option<String> {
    let b = m.retained_bytes_per_session?;
    let top = m
        .retained_breakdown
        .as_ref()?
        .iter()
        .filter(|s| s.owner != Owner::Remainder)
        .max_by(|a, b| a.bytes.total_cmp(&b.bytes))?;
    let what = match m.mode {
        Mode::Leak => "kept session",
        _ => "retained session",
    };
    let mut line = format!(
        "Where b goes: `{}` holds {} of the {} per {what} ({}; measured: the load's dhat heap profile, live bytes by owner ÷ sessions held)",
        top.owner,
        fmt_bytes(top.bytes),
        fmt_bytes(b),
        crate::vocab::units::percent(top.share),
    );
    let knob = OWNER_KNOBS
        .iter()
        .find(|(o, _)| *o == top.owner)
        .map(|(_, k)| *k);
    let figures = probe.knobs.as_ref();
    let measured = knob.and_then(|k| {
        let base = figures?.iter().find(|f| f.setting.is_empty())?;
        let with = figures?.iter().find(|f| f.setting == k)?;
        Some((
            base.retained_bytes_per_session?,
            with.retained_bytes_per_session?,
        ))
    });
    match (knob, measured) {
        (Some(k), Some((base, with))) => line.push_str(&format!(
            "; `{k}` moves it: {} instead of {} per retained session (measured by the knob probe).",
            fmt_bytes(with),
            fmt_bytes(base)
        )),
        // The probe measures every variant that differs from the run's own settings: a
        // missing one is the run's own.
        (Some(k), None) if figures.is_some() => line.push_str(&format!(
            "; this run already uses `{k}`, the setting that moves it; sharing the session is what remains."
        )),
        (Some(k), None) => line.push_str(&format!(
            "; `{k}` is the setting that moves it (not measured in this run: the knob probe runs in a fresh hyper leg against the built-in server)."
        )),
        (None, _) => line.push_str(
            "; no client setting moves it: it is held while the session lives, and goes when the session is dropped.",
        ),
    }
    Some(line)
}

/// Full handshakes a mode performed, and whose count it is: the client's, else the server's.
fn full_handshakes(m: &ModeSummary) -> Option<(u64, &'static str)> {
    m.load
        .handshakes_full
        .map(|n| (n, "client count"))
        .or_else(|| {
            m.server
                .as_ref()
                .and_then(|s| s.handshakes_full)
                .map(|n| (n, "server count"))
        })
}

/// The client's live-heap peak (`None`: no counting allocator).
fn heap_peak(m: &ModeSummary) -> Option<f64> {
    m.client_heap_peak_bytes.map(|b| b as f64)
}

/// Fresh vs shared: allocation traffic, memory held and handshakes, each as measured.
fn share_line(f: &ModeSummary, s: &ModeSummary) -> Option<String> {
    let mut clauses = Vec::new();
    if let (Some(fb), Some(sb)) = (
        f.client_alloc_bytes_per_request,
        s.client_alloc_bytes_per_request,
    ) {
        let diff = fb - sb;
        let (amount, direction) = if diff >= 0.0 {
            (diff, "less")
        } else {
            (-diff, "more")
        };
        clauses.push(format!(
            "allocation traffic (bytes allocated per request, not memory held) was {} fresh vs {} shared, {} {direction} per request when shared (measured: client allocator totals ÷ completed requests; difference derived)",
            fmt_bytes(fb),
            fmt_bytes(sb),
            fmt_bytes(amount),
        ));
    }
    if let (Some(fh), Some(sh)) = (heap_peak(f), heap_peak(s)) {
        clauses.push(format!(
            "memory held: client live heap peaked at {} fresh vs {} shared (measured)",
            fmt_bytes(fh),
            fmt_bytes(sh),
        ));
    }
    if let (Some((ff, fsrc)), Some((sf, ssrc))) = (full_handshakes(f), full_handshakes(s)) {
        let src = if fsrc == ssrc {
            fsrc.to_string()
        } else {
            format!("fresh {fsrc}, shared {ssrc}")
        };
        clauses.push(format!(
            "{ff} full handshakes fresh vs {sf} shared (measured: {src})"
        ));
    }
    (!clauses.is_empty()).then(|| format!("Share one session: {}.", clauses.join("; ")))
}

/// CPU spent building sessions in fresh mode, from the building threads' CPU time.
fn build_line(f: &ModeSummary, shared: Option<&ModeSummary>) -> Option<String> {
    let share = f.client_build_core_share?;
    let shared_builds = shared
        .map(|s| {
            format!(
                "; shared built {} (measured: build count)",
                s.load.client_builds
            )
        })
        .unwrap_or_default();
    Some(format!(
        "Building a session per request took {:.2} % of one core in fresh mode (measured: thread CPU time spent on {} builds ÷ {:.1} s elapsed wall time){shared_builds}.",
        share * 100.0,
        f.load.client_builds,
        f.load.elapsed_s,
    ))
}

/// What each fresh session holds after it is gone, and the plateau: model and measured, each
/// named.
fn retention_line(f: &ModeSummary) -> Option<String> {
    let b = f.retained_bytes_per_session?;
    let method = f
        .retained_bytes_method
        .as_deref()
        .unwrap_or("method not recorded");
    let mut line = format!(
        "Each fresh session holds {} after it is gone, until retention expires it (measured: {method})",
        fmt_bytes(b)
    );
    if let Some(model) = f.model_plateau_bytes {
        let sessions = f
            .model_plateau_sessions
            .map(|n| format!(" for {n:.0} sessions"))
            .unwrap_or_default();
        line.push_str(&format!(
            "; model plateau R·b·T = {}{sessions} (model: configured rate × retention × the measured b)",
            fmt_bytes(model)
        ));
    }
    match (f.measured_plateau_bytes, f.measured_plateau_sessions) {
        (Some(bytes), Some(n)) => line.push_str(&format!(
            "; measured plateau {} over {n:.0} retained sessions (measured: mean client live heap above its start, and retained count, on the plateau samples)",
            fmt_bytes(bytes)
        )),
        (Some(bytes), None) => line.push_str(&format!(
            "; measured plateau {} (measured: mean client live heap above its start on the plateau samples)",
            fmt_bytes(bytes)
        )),
        (None, _) if f.model_plateau_bytes.is_some() => {
            line.push_str("; the plateau was not reached in this run")
        }
        (None, _) => {}
    }
    line.push_str("; a shared session holds none of it.");
    Some(line)
}

/// The cheapest client setting the knob probe measured, when it is cheaper than the run's own.
fn knob_line(f: &ModeSummary) -> Option<String> {
    let knobs = f.knobs.as_ref()?;
    let base = knobs.iter().find(|k| k.setting.is_empty())?;
    let base_b = base.retained_bytes_per_session?;
    let (k, kb) = knobs
        .iter()
        .filter(|k| !k.setting.is_empty())
        .filter_map(|k| k.retained_bytes_per_session.map(|b| (k, b)))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    if kb >= base_b {
        return None;
    }
    let saved = base_b - kb;
    let sessions = if k.sessions == base.sessions {
        format!("{} sessions each", k.sessions)
    } else {
        format!("{} and {} sessions", k.sessions, base.sessions)
    };
    let mut line = format!(
        "If sessions cannot be shared, `{}` is the cheapest setting measured: {} per retained session instead of {} (measured by the knob probe: bytes freed dropping {sessions})",
        k.setting,
        fmt_bytes(kb),
        fmt_bytes(base_b),
    );
    if let Some(n) = f.model_plateau_sessions {
        line.push_str(&format!(
            "; {} less at the model plateau of {n:.0} sessions (model: the difference × R·T sessions)",
            fmt_bytes(saved * n)
        ));
    }
    if let Some(n) = f.measured_plateau_sessions {
        line.push_str(&format!(
            "; {} less at the measured plateau of {n:.0} sessions (derived: the difference × the measured retained count)",
            fmt_bytes(saved * n)
        ));
    }
    line.push('.');
    Some(line)
}

/// Never invalidating: bytes and descriptors per kept session, their growth over the run, and
/// the extrapolated time to the descriptor limit, all from leak mode's own figures.
fn leak_line(summary: &Summary, l: &ModeSummary) -> Option<String> {
    let mut clauses = Vec::new();
    if let Some(b) = l.retained_bytes_per_session {
        let method = l
            .retained_bytes_method
            .as_deref()
            .unwrap_or("method not recorded");
        clauses.push(format!(
            "each kept session holds {} (measured: {method})",
            fmt_bytes(b)
        ));
    }
    // The span the growth happened over, on the clock the program's time runs on.
    let (span, unit) = if summary.clock == Clock::Virtual {
        (l.load.virtual_s, "virtual s")
    } else {
        (Some(l.load.elapsed_s), "s")
    };
    let span = span.filter(|s| *s > 0.0);
    if let (Some(start), Some(end)) = (l.load.open_fds_start, l.load.open_fds_end) {
        let grew = end as f64 - start as f64;
        let kept = match l.retained_sessions_peak {
            Some(n) => Some((n, "kept session", "kept sessions at peak")),
            None => Some((
                l.load.requests_ok,
                "completed request",
                "completed requests",
            )),
        }
        .filter(|(n, _, _)| *n > 0);
        if let Some((n, one, many)) = kept {
            clauses.push(format!(
                "{:.2} descriptors per {one} (derived: open fds {start} → {end} over {n} {many})",
                grew / n as f64
            ));
        }
        if let Some(span) = span {
            let per = grew / span;
            let moved = if per >= 0.0 {
                format!("grew {per:.1}")
            } else {
                format!("fell {:.1}", -per)
            };
            clauses.push(format!(
                "open descriptors {moved} per {unit} (derived: open fds {start} → {end} over {span:.1} {unit})"
            ));
            if let Some(limit) = summary.scenario.fd_limit {
                if end >= limit {
                    clauses.push(format!(
                        "the run reached the descriptor limit of {limit} (measured: open fds {end}, RLIMIT_NOFILE {limit})"
                    ));
                } else if per > 0.0 {
                    let left = limit - end;
                    clauses.push(format!(
                        "at that rate the {left} descriptors left below the descriptor limit of {limit} (RLIMIT_NOFILE) run out ~{:.0} {unit} after the run's end (extrapolation of the measured growth: ({limit} − {end}) ÷ {per:.1} per {unit})",
                        left as f64 / per
                    ));
                }
            }
        }
    }
    let heap = l
        .load
        .client_heap_start_bytes
        .zip(l.load.client_heap_end_bytes);
    if let (Some(span), Some((h0, h1))) = (span, heap) {
        let per = (h1 as f64 - h0 as f64) / span;
        if per > 0.0 {
            clauses.push(format!(
                "the client live heap grew {} per {unit} (derived: live heap {} → {} over {span:.1} {unit})",
                fmt_bytes(per),
                fmt_bytes(h0 as f64),
                fmt_bytes(h1 as f64),
            ));
        }
    }
    (!clauses.is_empty()).then(|| {
        format!(
            "Never invalidating: {}. Drop (invalidate) sessions you stop using.",
            clauses.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::probes::KnobFigure;
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

    /// A real-clock run at `--rate 100` with a descriptor limit of 20000.
    fn summary(modes: Vec<ModeSummary>) -> Summary {
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
                "fd_limit": 20000
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
    fn leak(client: &str) -> ModeSummary {
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

    fn fresh(client: &str) -> ModeSummary {
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

    fn shared(client: &str) -> ModeSummary {
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

    fn knob(setting: &str, bytes: f64) -> KnobFigure {
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

    fn line_with<'a>(lines: &'a [String], start: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?} in {lines:#?}"))
    }

    fn share(owner: Owner, bytes: f64, of: f64) -> crate::contract::breakdown::Share {
        crate::contract::breakdown::Share {
            owner,
            bytes,
            share: bytes / of,
        }
    }

    #[test]
    fn the_biggest_owner_is_named_with_the_knob_the_probe_measured() {
        let mut f = fresh("hyper");
        f.retained_breakdown = Some(vec![
            share(Owner::ResumptionStore, 16_000.0, 18_329.0),
            share(Owner::Config, 1_100.0, 18_329.0),
            share(Owner::Tickets, 1_229.0, 18_329.0),
        ]);
        let mut l = leak("hyper");
        l.retained_breakdown = Some(vec![
            share(Owner::ResumptionStore, 16_000.0, 50_000.0),
            share(Owner::Http, 28_000.0, 50_000.0),
            share(Owner::Remainder, 6_000.0, 50_000.0),
        ]);
        let lines = advice(&summary(vec![f.clone(), l]));
        let fresh_line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes") && l.contains("per retained session"))
            .expect("an owner line for fresh");
        assert!(
            fresh_line.contains("`rustls_resumption_store` holds 15.6 KiB of the 17.9 KiB"),
            "{fresh_line}"
        );
        assert!(
            fresh_line.contains("`--client-cache 0` moves it: 1.1 KiB instead of 17.9 KiB"),
            "{fresh_line}"
        );
        let leak_line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes") && l.contains("per kept session"))
            .expect("an owner line for leak");
        // The remainder is never "the biggest owner"; hyper has no knob.
        assert!(
            leak_line.contains("`hyper` holds 27.3 KiB of the 48.8 KiB"),
            "{leak_line}"
        );
        assert!(
            leak_line.contains("no client setting moves it"),
            "{leak_line}"
        );
        // Without a breakdown, no owner line; without the probe's figure, the knob is named
        // as not measured, never given a number.
        assert!(!advice(&summary(vec![fresh("hyper")]))
            .iter()
            .any(|l| l.starts_with("Where b goes")));
        // The run's own setting: the probe measured no variant for it.
        let mut own = f.clone();
        own.retained_breakdown = Some(vec![share(Owner::Config, 1_114.0, 1_114.0)]);
        own.retained_bytes_per_session = Some(1_114.0);
        let lines = advice(&summary(vec![own]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("this run already uses `--roots ca`"),
            "{line}"
        );
        f.knobs = None;
        let lines = advice(&summary(vec![f]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(line.contains("not measured in this run"), "{line}");
    }

    #[test]
    fn leak_growth_is_the_measured_one_not_the_rate() {
        let lines = advice(&summary(vec![leak("hyper")]));
        let l = line_with(&lines, "Never invalidating");
        assert!(l.contains("each kept session holds 48.8 KiB (measured: live-heap slope)"));
        assert!(l.contains("1.00 descriptors per kept session (derived: open fds 10 → 1510 over 1500 kept sessions at peak)"), "{l}");
        assert!(
            l.contains(
                "open descriptors grew 50.0 per s (derived: open fds 10 → 1510 over 30.0 s)"
            ),
            "{l}"
        );
        // (20000 − 1510) ÷ 50 = 369.8 s.
        assert!(l.contains("the 18490 descriptors left below the descriptor limit of 20000 (RLIMIT_NOFILE) run out ~370 s after the run's end (extrapolation of the measured growth"), "{l}");
        assert!(!l.contains("100"), "the configured rate leaked in: {l}");
    }

    #[test]
    fn leak_without_descriptor_end_drops_the_growth_clauses() {
        let mut m = leak("hyper");
        m.load.open_fds_end = None;
        let lines = advice(&summary(vec![m.clone()]));
        let l = line_with(&lines, "Never invalidating");
        assert!(l.contains("each kept session holds 48.8 KiB"));
        assert!(!l.contains("descriptor"), "{l}");
        assert!(!l.contains("per s"), "{l}");

        // Nothing measured at all: no leak line, and no panic.
        m.retained_bytes_per_session = None;
        m.load.open_fds_start = None;
        assert!(advice(&summary(vec![m])).is_empty());
    }

    #[test]
    fn leak_without_kept_count_says_per_completed_request() {
        let mut m = leak("hyper");
        m.retained_sessions_peak = None;
        let lines = advice(&summary(vec![m]));
        let l = line_with(&lines, "Never invalidating");
        assert!(
            l.contains("1.00 descriptors per completed request (derived: open fds 10 → 1510 over 1500 completed requests)"),
            "{l}"
        );
    }

    #[test]
    fn leak_under_the_virtual_clock_uses_virtual_seconds() {
        let mut m = leak("hyper");
        m.load.elapsed_s = 3.0;
        m.load.virtual_s = Some(60.0);
        let mut s = summary(vec![m]);
        s.clock = Clock::Virtual;
        let lines = advice(&s);
        let l = line_with(&lines, "Never invalidating");
        assert!(
            l.contains("grew 25.0 per virtual s (derived: open fds 10 → 1510 over 60.0 virtual s)"),
            "{l}"
        );
        assert!(l.contains("~740 virtual s"), "{l}");

        // Virtual clock without virtual seconds: no rate, no extrapolation.
        s.modes[0].load.virtual_s = None;
        let lines = advice(&s);
        let l = line_with(&lines, "Never invalidating");
        assert!(!l.contains("per virtual s") && !l.contains("limit"), "{l}");
    }

    #[test]
    fn leak_at_the_limit_says_so_instead_of_extrapolating() {
        let mut s = summary(vec![leak("hyper")]);
        s.scenario.fd_limit = Some(1510);
        let lines = advice(&s);
        let l = line_with(&lines, "Never invalidating");
        assert!(
            l.contains("the run reached the descriptor limit of 1510"),
            "{l}"
        );
        assert!(!l.contains("extrapolation"), "{l}");
    }

    #[test]
    fn sharing_is_allocation_traffic_not_memory_saved() {
        let lines = advice(&summary(vec![fresh("hyper"), shared("hyper")]));
        let l = line_with(&lines, "Share one session");
        assert!(
            l.contains("allocation traffic (bytes allocated per request, not memory held) was 112 KiB fresh vs 13.7 KiB shared, 98.8 KiB less per request when shared"),
            "{l}"
        );
        assert!(
            l.contains("client live heap peaked at 52.9 MiB fresh vs 617 KiB shared (measured)"),
            "{l}"
        );
        assert!(
            l.contains("3000 full handshakes fresh vs 8 shared (measured: client count)"),
            "{l}"
        );
        assert!(!l.contains("per hour") && !l.contains("saves"), "{l}");
    }

    #[test]
    fn unmeasured_heap_is_not_quoted_as_zero() {
        let mut f = fresh("hyper");
        f.client_heap_peak_bytes = None;
        let lines = advice(&summary(vec![f, shared("hyper")]));
        let l = line_with(&lines, "Share one session");
        assert!(!l.contains("heap") && !l.contains(" 0 B"), "{l}");
    }

    #[test]
    fn build_line_uses_cpu_share_only() {
        let lines = advice(&summary(vec![fresh("hyper"), shared("hyper")]));
        let l = line_with(&lines, "Building a session");
        assert!(l.contains("1.23 % of one core"), "{l}");
        assert!(l.contains("thread CPU time spent on 3000 builds ÷ 30.0 s elapsed wall time"));
        assert!(l.contains("shared built 1"), "{l}");

        let mut f = fresh("hyper");
        f.client_build_core_share = None;
        let lines = advice(&summary(vec![f, shared("hyper")]));
        assert!(
            lines.iter().all(|l| !l.contains("core")),
            "no CPU figure, no build line: {lines:#?}"
        );
    }

    #[test]
    fn plateau_and_knob_figures_name_the_model() {
        let lines = advice(&summary(vec![fresh("hyper")]));
        let r = line_with(&lines, "Each fresh session");
        assert!(r.contains("holds 17.9 KiB after it is gone"), "{r}");
        assert!(
            r.contains("model plateau R·b·T = 1.02 GiB for 60000 sessions (model:"),
            "{r}"
        );
        assert!(r.contains("not reached in this run"), "{r}");
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(k.contains("`--client-cache 0` is the cheapest setting measured: 1.1 KiB per retained session instead of 17.9 KiB"), "{k}");
        assert!(
            k.contains("984 MiB less at the model plateau of 60000 sessions (model:"),
            "{k}"
        );

        // No model sessions: the saving is not computed from the rate instead.
        let mut f = fresh("hyper");
        f.model_plateau_sessions = None;
        f.measured_plateau_sessions = Some(30_000.0);
        let lines = advice(&summary(vec![f]));
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(!k.contains("model"), "{k}");
        assert!(
            k.contains("492 MiB less at the measured plateau of 30000 sessions (derived:"),
            "{k}"
        );
    }

    #[test]
    fn no_figure_comes_from_the_configured_rate() {
        let modes = vec![fresh("hyper"), shared("hyper"), leak("hyper")];
        let mut s = summary(modes);
        let at_100 = advice(&s);
        assert_eq!(at_100.len(), 5, "{at_100:#?}");
        s.scenario.rate = 12_345.0;
        let at_other = advice(&s);
        assert_eq!(at_100, at_other);
        assert!(at_other.iter().all(|l| !l.contains("12345")));
    }

    #[test]
    fn several_clients_are_tagged() {
        let s = summary(vec![leak("hyper"), leak("reqwest")]);
        let lines = advice(&s);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("[hyper] Never invalidating"));
        assert!(lines[1].starts_with("[reqwest] Never invalidating"));
        let one = advice(&summary(vec![leak("hyper")]));
        assert!(one[0].starts_with("Never invalidating"));
    }
}
