//! Whether a leg's per-session figures say what one session costs at the planned rate.
//!
//! Two things make them say something else, and both are measured:
//! - the leg was **rate-bound**: it could not keep its schedule, so requests queued behind each
//!   other (more sessions in flight, half-built, than the rate gives; builds and handshakes
//!   competing for the CPU), and the leg measured an overloaded client, not the habit at the
//!   rate;
//! - some **requests failed** (timeouts, refused handshakes): a session whose request failed
//!   holds no tickets and perhaps no connection, yet it counts among leak's kept sessions
//!   that b is divided by, and its allocations are in the bytes per request while it is not
//!   in the divisor.
//!
//! "Rate-bound" is defined here once ([`rate_bound`]); the summary publishes the marks
//! (`rate_bound`, `per_session_unsound`), the table and the page show them next to the figures,
//! and the advice draws no conclusion from a marked leg. A leg stopped early for another reason
//! (interrupted, the descriptor limit, `--max-open`) is marked by `stopped_early` alone: its
//! sessions ran at the rate, there were just fewer of them.

use crate::contract::wire::ClientTotals;
use crate::run::load::plan::LATE_THRESHOLD;
use crate::vocab::clock::Clock;
use crate::vocab::units;

/// `method.rate_bound`.
pub const RATE_BOUND_METHOD: &str = "measured, real clock only: a leg is rate-bound when it could not keep its schedule: either its load stopped because it fell behind (stopped_early \"fell behind: …\": a request could not start within 100 ms of the planned end, or every --max-in-flight slot stayed busy to the end), or its median start lag (start_lag_us.p50) was at least the time between two scheduled starts (1/rate), and at least 2 ms (twice tokio's 1 ms timer resolution, below which a lag is the timer, not a queue): at the median the next request was already due before this one started, so requests were queueing, not jittering. late_starts is not the test: it counts any start 2 ms late, and on this loaded 2-core machine up to 72 % of an ordinary leg's starts were late with a median lag of 4.6 ms between starts 50 ms apart and every figure sound. The text names the measured cause when the figures show one: building alone needs more cores than the machine offers (build_cores_needed against cores_available), or the client worker used (nearly) all the cores (client CPU ÷ elapsed ≥ 90 % of cores_available); otherwise it says the cause was not measured";

/// `method.per_session_unsound`.
pub const PER_SESSION_UNSOUND_METHOD: &str = "set when the leg was rate-bound (see rate_bound) or any of its requests failed: then its per-session and per-request figures (b and its slope, the plateau, bytes and allocations per request, bytes and CPU per build, latency) describe an overloaded or failing client, not a session at the planned rate. The table marks those cells with !, the page highlights them, and the advice draws no conclusion from them. The figures are still published as measured";

/// The `stopped_early` text of a load that fell behind its schedule (`StopReason::FellBehind`
/// and `StopReason::SlotsBusy`, whose `Display` is the published, stable text).
const FELL_BEHIND: &str = "fell behind:";

/// Share of the offered cores above which the client worker itself is the bound.
const CLIENT_CPU_BOUND: f64 = 0.9;

/// Why the leg is rate-bound, naming the measured figures and the cause; `None` when it kept
/// its rate (or, under the virtual clock, had no schedule to keep).
pub fn rate_bound(
    rate: f64,
    clock: Clock,
    t: &ClientTotals,
    build_cores_needed: Option<f64>,
) -> Option<String> {
    if clock != Clock::Real {
        return None;
    }
    let spacing_us = 1e6 / rate;
    let threshold_us = spacing_us.max(LATE_THRESHOLD.as_micros() as f64);
    let fell_behind = t
        .stopped_early
        .as_deref()
        .is_some_and(|s| s.starts_with(FELL_BEHIND));
    let lag = t.start_lag_us.map(|l| l.p50 as f64);
    let queued = lag.is_some_and(|l| l >= threshold_us);
    if !fell_behind && !queued {
        return None;
    }
    let late = t.late_starts.map_or_else(String::new, |n| {
        format!(
            ", {} of them late (≥ 2 ms or waited for a slot)",
            units::count(n)
        )
    });
    let mut evidence = vec![format!(
        "{} of {} planned requests started{late}",
        units::count(t.requests_started),
        units::count(t.requests_planned),
    )];
    if let Some(l) = lag {
        evidence.push(format!(
            "median start lag {} against {} between scheduled starts",
            units::micros(l),
            units::micros(spacing_us)
        ));
    }
    Some(format!(
        "rate-bound: could not keep --rate {}: {}; {}",
        units::sig3(rate),
        evidence.join("; "),
        cause(rate, t, build_cores_needed)
    ))
}

/// What bound the rate, as far as the leg's figures show.
fn cause(rate: f64, t: &ClientTotals, build_cores_needed: Option<f64>) -> String {
    let have = t.cores_available;
    if let (Some(need), Some(have)) = (build_cores_needed, have) {
        if need > have as f64 {
            return format!(
                "cause: building a session per request alone needs {need:.2} cores (derived: mean build CPU {} × {} req/s) and this machine offers {have}",
                units::micros(need / rate * 1e6),
                units::sig3(rate),
            );
        }
    }
    let used = t
        .client_cpu_s
        .filter(|_| t.elapsed_s > 0.0)
        .map(|s| s / t.elapsed_s);
    match (used, have) {
        (Some(used), Some(have)) if used >= CLIENT_CPU_BOUND * have as f64 => format!(
            "cause: the client worker was CPU-bound (measured: it used {used:.2} of the {have} cores, client CPU ÷ elapsed)"
        ),
        (Some(used), Some(have)) => format!(
            "cause not measured: the client worker used {used:.2} of the {have} cores (client CPU ÷ elapsed), so it waited for something else (the server worker, other processes on the machine, or --max-in-flight slots)"
        ),
        _ => "cause not measured (client CPU or the cores available not read)".to_string(),
    }
}

/// Why the leg's per-session figures do not describe a session at the planned rate (the
/// rate-bound mark, the failed requests), or `None` when they do.
pub fn per_session_unsound(rate_bound: Option<&str>, t: &ClientTotals) -> Option<String> {
    let mut why: Vec<String> = rate_bound.map(str::to_string).into_iter().collect();
    if t.requests_failed > 0 {
        let kinds = t
            .failures_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {}", units::count(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        why.push(format!(
            "{} of {} started requests failed ({kinds})",
            units::count(t.requests_failed),
            units::count(t.requests_started),
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::wire::P50P99;
    use crate::run::assemble::{
        self,
        tests::{fin, plan, record},
    };
    use crate::run::leg::LegEnd;
    use crate::run::load::plan::StopReason;
    use crate::vocab::mode::Mode;

    /// A leg of 6,000 planned requests at --rate 100 that kept its rate.
    fn kept() -> ClientTotals {
        ClientTotals {
            requests_planned: 6_000,
            requests_started: 6_000,
            requests_ok: 6_000,
            elapsed_s: 60.0,
            late_starts: Some(146),
            start_lag_us: Some(P50P99 {
                p50: 1_196,
                p99: 2_763,
            }),
            client_cpu_s: Some(20.0),
            cores_available: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn jitter_is_not_a_queue() {
        assert_eq!(rate_bound(100.0, Clock::Real, &kept(), Some(0.006)), None);
        // Most starts late, as on a loaded machine, but the median lag well under the spacing.
        let mut t = kept();
        t.late_starts = Some(4_300);
        t.start_lag_us = Some(P50P99 {
            p50: 4_600,
            p99: 110_000,
        });
        assert_eq!(rate_bound(20.0, Clock::Real, &t, None), None);
        // At a rate whose spacing is under the timer's resolution, the 2 ms floor holds.
        t.start_lag_us = Some(P50P99 {
            p50: 1_500,
            p99: 3_000,
        });
        assert_eq!(rate_bound(2_000.0, Clock::Real, &t, None), None);
        assert_eq!(per_session_unsound(None, &kept()), None);
    }

    #[test]
    fn a_queue_or_falling_behind_is_rate_bound_with_its_cause() {
        // The OpenSSL leg of docs/openssl.md: 274 of 6,000 started, builds needing 12.9 cores.
        let mut t = kept();
        t.requests_started = 274;
        t.stopped_early = Some(
            StopReason::FellBehind {
                started: 274,
                planned: 6_000,
            }
            .to_string(),
        );
        t.start_lag_us = None;
        let why = rate_bound(100.0, Clock::Real, &t, Some(12.9)).expect("rate-bound");
        assert!(why.starts_with("rate-bound: could not keep --rate 100: 274 of 6,000 planned requests started, 146 of them late"), "{why}");
        assert!(why.contains("cause: building a session per request alone needs 12.90 cores (derived: mean build CPU 129 ms × 100 req/s) and this machine offers 2"), "{why}");
        // All slots busy is falling behind too; the other stops are not.
        t.stopped_early = Some(
            StopReason::SlotsBusy {
                slots: 64,
                started: 274,
                planned: 6_000,
            }
            .to_string(),
        );
        assert!(rate_bound(100.0, Clock::Real, &t, None).is_some());
        for stop in [
            StopReason::Interrupted,
            StopReason::MaxOpen {
                started: 274,
                max: 274,
            },
        ] {
            t.stopped_early = Some(stop.to_string());
            assert_eq!(rate_bound(100.0, Clock::Real, &t, None), None, "{stop}");
        }
        // A median lag of one spacing or more: queueing; the client worker was the bound.
        let mut t = kept();
        t.start_lag_us = Some(P50P99 {
            p50: 10_000,
            p99: 900_000,
        });
        t.client_cpu_s = Some(115.0);
        let why = rate_bound(100.0, Clock::Real, &t, Some(0.5)).expect("rate-bound");
        assert!(
            why.contains("median start lag 10 ms against 10 ms between scheduled starts"),
            "{why}"
        );
        assert!(
            why.contains(
                "cause: the client worker was CPU-bound (measured: it used 1.92 of the 2 cores"
            ),
            "{why}"
        );
        t.client_cpu_s = Some(30.0);
        let why = rate_bound(100.0, Clock::Real, &t, Some(0.5)).expect("rate-bound");
        assert!(
            why.contains("cause not measured: the client worker used 0.50 of the 2 cores"),
            "{why}"
        );
        // The virtual clock has no schedule to keep.
        assert_eq!(rate_bound(100.0, Clock::Virtual, &t, Some(20.0)), None);
    }

    #[test]
    fn failures_make_the_per_session_figures_unsound() {
        let mut t = kept();
        t.requests_failed = 128;
        t.failures_by_kind.insert("timeout".into(), 128);
        let why = per_session_unsound(Some("rate-bound: x"), &t).expect("unsound");
        assert_eq!(
            why,
            "rate-bound: x; 128 of 6,000 started requests failed (timeout: 128)"
        );
        assert_eq!(
            per_session_unsound(Some("rate-bound: x"), &kept()).as_deref(),
            Some("rate-bound: x")
        );
    }

    /// Assembled into the summary: the leg's marks, and the method that defines them.
    #[test]
    fn a_leg_that_fell_behind_is_marked_and_the_method_says_how() {
        let p = plan(&[Mode::Fresh]);
        let mut f = fin(20);
        f.totals.requests_started = 3;
        f.totals.requests_failed = 1;
        f.totals.failures_by_kind.insert("timeout".into(), 1);
        f.totals.stopped_early =
            Some("fell behind: 3 of 20 requests started within the duration".into());
        let r = assemble::leg(&p, &record(LegEnd::Completed, Some(f)));
        let bound = r.summary.rate_bound.as_deref().expect("rate-bound");
        assert!(
            bound.starts_with(
                "rate-bound: could not keep --rate 10: 3 of 20 planned requests started"
            ),
            "{bound}"
        );
        let why = r.summary.per_session_unsound.as_deref().expect("marked");
        assert!(
            why.starts_with(bound) && why.ends_with("1 of 3 started requests failed (timeout: 1)"),
            "{why}"
        );
        // A leg that kept its rate is not marked.
        let ok = assemble::leg(&p, &record(LegEnd::Completed, Some(fin(20))));
        assert_eq!(
            (ok.summary.rate_bound, ok.summary.per_session_unsound),
            (None, None)
        );
        let meta = assemble::RunMeta {
            command: String::new(),
            run_id: String::new(),
            started_at: String::new(),
            target: None,
            fd_limit: None,
        };
        let s = assemble::summary(&p, &meta, &[], vec![r.summary]);
        assert!(
            s.method["rate_bound"].starts_with("measured"),
            "{}",
            s.method["rate_bound"]
        );
        assert!(s.method.contains_key("per_session_unsound"));
    }
}
