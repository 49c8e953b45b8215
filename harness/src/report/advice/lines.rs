//! The advice lines, one function each: what the run's figures say to do.

use super::sound_knob as sound;
use crate::contract::probes::{Knob, Settings};
use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;
use crate::vocab::owner::Owner;
use crate::vocab::units::{self, bytes as fmt_bytes};

/// Full handshakes a mode performed, and whose count it is: the client's, else the server's.
fn full_handshakes(m: &ModeSummary) -> Option<(u64, &'static str)> {
    let server = m.server.as_ref().and_then(|s| s.handshakes_full);
    let client = m.load.handshakes_full.map(|n| (n, "client count"));
    client.or(server.map(|n| (n, "server count")))
}

/// Fresh vs shared: allocation traffic per request (derived), memory held and handshakes
/// (measured); the fresh heap peak holds the retention model's store, and the line says so.
pub(super) fn share_line(
    f: &ModeSummary,
    s: &ModeSummary,
    retention_s: Option<f64>,
) -> Option<String> {
    let mut clauses = Vec::new();
    if let (Some(fb), Some(sb)) = (
        f.client_alloc_bytes_per_request,
        s.client_alloc_bytes_per_request,
    ) {
        let direction = if fb - sb >= 0.0 { "less" } else { "more" };
        clauses.push(format!(
            "allocation traffic (bytes allocated per request, not memory held) was {} fresh vs {} shared, {} {direction} per request when shared (derived: client allocator totals ÷ completed requests, and their difference)",
            fmt_bytes(fb),
            fmt_bytes(sb),
            fmt_bytes((fb - sb).abs()),
        ));
    }
    // The client's live-heap peak (`None`: no counting allocator).
    if let (Some(fh), Some(sh)) = (f.client_heap_peak_bytes, s.client_heap_peak_bytes) {
        clauses.push(format!(
            "memory held: client live heap peaked at {} fresh vs {} shared in this {} run (measured){}",
            fmt_bytes(fh as f64),
            fmt_bytes(sh as f64),
            units::seconds(f.load.elapsed_s),
            retention_s.map_or(String::new(), |t| format!(
                "; the fresh peak includes the retention model's store (--retention {})",
                units::seconds(t)
            )),
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

/// CPU spent building fresh sessions. Under the virtual clock CPU ÷ wall time is not what the
/// planned rate costs: the share at the planned rate comes first, the one over wall time named.
pub(super) fn build_line(
    summary: &Summary,
    f: &ModeSummary,
    shared: Option<&ModeSummary>,
) -> Option<String> {
    let share = f.client_build_core_share?;
    let (builds, elapsed) = (f.load.client_builds, f.load.elapsed_s);
    let shared_builds = shared
        .map(|s| s.load.client_builds)
        .map(|n| format!("; shared built {n} (measured: build count)"))
        .unwrap_or_default();
    let over_wall =
        format!("thread CPU time spent on {builds} builds ÷ {elapsed:.1} s elapsed wall time");
    if summary.clock != Clock::Virtual {
        return Some(format!(
            "Building a session per request took {:.2} % of one core in fresh mode (derived: {over_wall}){shared_builds}.",
            share * 100.0,
        ));
    }
    let ran = f.load.virtual_s.map_or_else(String::new, |v| {
        format!(" ({v:.1} s of scheduled requests ran in {elapsed:.1} s)")
    });
    let over_own_wall = format!(
        "over this virtual-clock run's own wall time{ran} the builds took {:.2} % of one core (derived: {over_wall})",
        share * 100.0,
    );
    let mean_us = f
        .load
        .client_build_cpu_us_total
        .filter(|_| builds > 0)
        .map(|us| us as f64 / builds as f64);
    match (f.build_cores_needed, mean_us) {
        (Some(need), Some(mean_us)) => {
            let rate = units::rate(summary.scenario.rate);
            Some(format!(
                "Building a session per request at the planned {rate} takes {:.2} % of one core in fresh mode (derived: mean build CPU {} × {rate}); {over_own_wall}{shared_builds}.",
                need * 100.0,
                units::micros(mean_us),
            ))
        }
        _ => Some(format!(
            "Building a session per request: {over_own_wall}, not the share at the planned rate (the mean build CPU was not measured){shared_builds}."
        )),
    }
}

/// What the harness's retention model (standing in for a platform's session cache) keeps of
/// each fresh session, and the plateau: model and measured, each named.
pub(super) fn retention_line(f: &ModeSummary, retention_s: Option<f64>) -> Option<String> {
    let b = f.retained_bytes_per_session?;
    let method = f
        .retained_bytes_method
        .as_deref()
        .unwrap_or("method not recorded");
    let held_for = retention_s.map_or("for the configured retention".to_string(), |t| {
        format!("for {} (--retention)", units::seconds(t))
    });
    let mut line = format!(
        "The harness's retention model keeps each fresh session's TLS state {held_for}: {} per session (derived: {method})",
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
    line.push('.');
    Some(line)
}

/// The cheapest client setting the knob probe measured, when it is cheaper than the run's own.
/// A variant with failed sessions is skipped, and the line is dropped when the run's own
/// settings had any: their figures cover other sessions than the ones asked about.
pub(super) fn knob_line(f: &ModeSummary) -> Option<String> {
    let knobs = f.knobs.as_ref()?;
    let base = knobs.iter().find(|k| k.setting.is_empty())?;
    let base_b = sound(base)?;
    let (k, kb) = knobs
        .iter()
        .filter(|k| !k.setting.is_empty())
        .filter_map(|k| sound(k).map(|b| (k, b)))
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
        "If sessions cannot be shared, `{}` is the cheapest setting measured: {} per retained session instead of {}, over {sessions} (derived by the knob probe: bytes freed dropping them, per session)",
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
    // The measured plateau is the load's: not quoted from a leg whose per-session figures
    // are marked (the knob figures themselves come from the probe, after the load).
    if let Some(n) = f
        .measured_plateau_sessions
        .filter(|_| f.per_session_unsound.is_none())
    {
        line.push_str(&format!(
            "; {} less at the measured plateau of {n:.0} sessions (derived: the difference × the measured retained count)",
            fmt_bytes(saved * n)
        ));
    }
    line.push('.');
    Some(line)
}

/// The knob of the knob probe ([`crate::run::knobs`]) that changes an owner's bytes; owners
/// without one are moved only by sharing or dropping the session.
const OWNER_KNOBS: &[(Owner, Knob)] = &[
    (Owner::ResumptionStore, Knob::NoResumption),
    (Owner::Tickets, Knob::NoResumption),
    (Owner::Config, Knob::RootsCa),
    (Owner::KeyExchange, Knob::KxX25519),
];

/// `--breakdown`: the owner holding most of b in mode `m`, and what the knob that moves it
/// measured (the knob probe runs in the fresh leg `probe` of the same client).
pub(super) fn owner_line(
    summary: &Summary,
    m: &ModeSummary,
    probe: &ModeSummary,
) -> Option<String> {
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
        units::percent(top.share),
    );
    let Some(&(_, knob)) = OWNER_KNOBS.iter().find(|(o, _)| *o == top.owner) else {
        line.push_str(
            "; no client setting moves it: it is held while the session lives, and goes when the session is dropped.",
        );
        return Some(line);
    };
    let k = knob.setting();
    // The run's own settings, from the plan the summary publishes (an older one may lack them).
    let sc = &summary.scenario;
    let plan = sc
        .client_cache
        .zip(sc.kx)
        .map(|(client_cache, kx)| Settings {
            roots: m.roots,
            client_cache,
            kx,
        });
    if plan.is_some_and(|s| knob.in_use(&s)) {
        line.push_str(&format!(
            "; this run already uses `{k}`, the setting that moves it; sharing the session is what remains."
        ));
        return Some(line);
    }
    let figures = probe.knobs.as_ref();
    let find = |setting: &str| figures?.iter().find(|f| f.setting == setting);
    let (base, with) = (find(""), find(&k));
    match (base.and_then(sound), with.and_then(sound)) {
        (Some(base), Some(with)) => line.push_str(&format!(
            "; `{k}` moves it: {} instead of {} per retained session (derived by the knob probe: bytes freed ÷ sessions).",
            fmt_bytes(with),
            fmt_bytes(base)
        )),
        _ => {
            let why = if figures.is_none() {
                "the knob probe runs in a fresh hyper leg against the built-in server"
            } else if base.into_iter().chain(with).any(|f| f.failed > 0) {
                "the knob probe's requests failed for it"
            } else {
                "the knob probe has no figure for it"
            };
            line.push_str(&format!(
                "; `{k}` is the setting that moves it (not measured in this run: {why})."
            ));
        }
    }
    Some(line)
}

/// Never invalidating: bytes and descriptors per kept session, their growth over the run, and
/// the extrapolated time to the descriptor limit, all from leak mode's own figures.
pub(super) fn leak_line(summary: &Summary, l: &ModeSummary) -> Option<String> {
    let mut clauses = Vec::new();
    if let Some(b) = l.retained_bytes_per_session {
        let method = l
            .retained_bytes_method
            .as_deref()
            .unwrap_or("method not recorded");
        clauses.push(format!(
            "each kept session holds {} (derived: {method})",
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
        let (n, one, many) = match l.retained_sessions_peak {
            Some(n) => (n, "kept session", "kept sessions at peak"),
            None => (
                l.load.requests_ok,
                "completed request",
                "completed requests",
            ),
        };
        if n > 0 {
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
    let clauses = clauses.join("; ");
    (!clauses.is_empty())
        .then(|| format!("Never invalidating (drop the sessions you stop using): {clauses}."))
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, knob, leak, line_with, share, shared, summary};
    use crate::vocab::clock::Clock;
    use crate::vocab::owner::Owner;

    #[test]
    fn sharing_is_allocation_traffic_not_memory_saved() {
        let lines = advice(&summary(vec![fresh("hyper"), shared("hyper")]));
        let l = line_with(&lines, "Share one session");
        assert!(
            l.contains("allocation traffic (bytes allocated per request, not memory held) was 112 KiB fresh vs 13.7 KiB shared, 98.8 KiB less per request when shared"),
            "{l}"
        );
        assert!(
            l.contains("client live heap peaked at 52.9 MiB fresh vs 617 KiB shared in this"),
            "{l}"
        );
        assert!(
            l.contains(" run (measured); the fresh peak includes the retention model's store (--retention 600 s)"),
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
        // A quotient of two measured figures is derived, and the brief view marks it so.
        assert!(l.contains(
            "(derived: thread CPU time spent on 3000 builds ÷ 30.0 s elapsed wall time)"
        ));
        assert!(l.contains("shared built 1"), "{l}");

        let mut f = fresh("hyper");
        f.client_build_core_share = None;
        let lines = advice(&summary(vec![f, shared("hyper")]));
        assert!(
            lines.iter().all(|l| !l.contains("core")),
            "no CPU figure, no build line: {lines:#?}"
        );
    }

    /// `--rate 1000 --minutes 10 --clock virtual`: 600,000 builds of 17 µs CPU each ran in
    /// 182.8 s of wall time. At the planned rate that is 17 µs × 1,000/s = 1.70 % of one core;
    /// the 5.58 % over the run's own wall time is said to be that, second.
    #[test]
    fn under_the_virtual_clock_the_share_is_at_the_planned_rate() {
        let mut f = fresh("hyper");
        f.load.client_builds = 600_000;
        f.load.client_build_cpu_us_total = Some(600_000 * 17);
        f.load.elapsed_s = 182.8;
        f.load.virtual_s = Some(600.0);
        f.client_build_core_share = Some(600_000.0 * 17e-6 / 182.8);
        f.build_cores_needed = Some(17e-6 * 1_000.0);
        let mut s = summary(vec![f, shared("hyper")]);
        s.clock = Clock::Virtual;
        s.scenario.rate = 1_000.0;
        let lines = advice(&s);
        let l = line_with(&lines, "Building a session");
        assert!(
            l.starts_with("Building a session per request at the planned 1000 req/s takes 1.70 % of one core in fresh mode (derived: mean build CPU 17 µs × 1000 req/s)"),
            "{l}"
        );
        assert!(
            l.contains("over this virtual-clock run's own wall time (600.0 s of scheduled requests ran in 182.8 s) the builds took 5.58 % of one core (derived: thread CPU time spent on 600000 builds ÷ 182.8 s elapsed wall time)"),
            "{l}"
        );
        // Without the mean build CPU there is no share at the rate, and the one given says
        // what it is per.
        s.modes[0].build_cores_needed = None;
        s.modes[0].load.client_build_cpu_us_total = None;
        let lines = advice(&s);
        let l = line_with(&lines, "Building a session");
        assert!(!l.contains("1.70"), "{l}");
        assert!(
            l.contains("own wall time") && l.contains("not the share at the planned rate"),
            "{l}"
        );
    }

    #[test]
    fn plateau_figures_name_the_model() {
        let lines = advice(&summary(vec![fresh("hyper")]));
        let r = line_with(&lines, "The harness's retention model");
        assert!(
            r.contains("retention model keeps each fresh session's TLS state for 600 s (--retention): 17.9 KiB per session"),
            "{r}"
        );
        assert!(
            r.contains("model plateau R·b·T = 1.02 GiB for 60000 sessions (model:"),
            "{r}"
        );
        assert!(r.contains("not reached in this run"), "{r}");
    }

    #[test]
    fn knob_figures_name_the_model() {
        let lines = advice(&summary(vec![fresh("hyper")]));
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
    fn variants_with_failed_sessions_are_not_compared() {
        // The cheapest variant had a failed session: the next cheapest sound one is named.
        let mut f = fresh("hyper");
        let knobs = f.knobs.as_mut().expect("fixture knobs");
        knobs.push(knob("--roots ca", 9_000.0));
        knobs[1].failed = 1;
        let lines = advice(&summary(vec![f.clone()]));
        let k = line_with(&lines, "If sessions cannot be shared");
        assert!(
            k.contains("`--roots ca` is the cheapest setting measured: 8.79 KiB per retained session instead of 17.9 KiB"),
            "{k}"
        );
        // The run's own settings had a failed session: no comparison at all.
        f.knobs.as_mut().expect("fixture knobs")[0].failed = 2;
        let lines = advice(&summary(vec![f]));
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("If sessions cannot be shared")),
            "{lines:#?}"
        );
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
        // A variant with a failed session is not quoted.
        let mut failing = f.clone();
        failing.knobs.as_mut().expect("fixture knobs")[1].failed = 1;
        let lines = advice(&summary(vec![failing]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("`--client-cache 0` is the setting that moves it (not measured in this run: the knob probe's requests failed for it)"),
            "{line}"
        );
        // The run's own setting, read from the plan the summary records.
        let mut own = f.clone();
        own.retained_breakdown = Some(vec![share(Owner::Config, 1_114.0, 1_114.0)]);
        own.retained_bytes_per_session = Some(1_114.0);
        let lines = advice(&summary(vec![own.clone()]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("this run already uses `--roots ca`"),
            "{line}"
        );
        // A missing figure is not "already uses": with webpki roots planned and no `--roots
        // ca` figure, the setting is named as not measured.
        let mut other = own.clone();
        other.roots = crate::vocab::tls::RootsChoice::Webpki;
        let lines = advice(&summary(vec![other]));
        let line = lines
            .iter()
            .find(|l| l.starts_with("Where b goes"))
            .expect("owner line");
        assert!(
            line.contains("`--roots ca` is the setting that moves it (not measured in this run: the knob probe has no figure for it)"),
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
        assert!(l.contains("each kept session holds 48.8 KiB (derived: live-heap slope)"));
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
}
