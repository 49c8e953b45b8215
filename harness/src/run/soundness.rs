//! Pure: whether a leg kept its rate and whether its per-session figures are sound.

use crate::contract::wire::ClientTotals;
use crate::run::load::{END_GRACE, LATE_THRESHOLD};
use crate::vocab::clock::Clock;
use crate::vocab::units;

/// `method.rate_bound`, built from the thresholds it names.
pub fn rate_bound_method() -> String {
    format!(
        "measured, real clock only: a leg is rate-bound when its load fell behind (a request could not start within {} of the planned end, or every --max-in-flight slot stayed busy) or its median start lag reached both the time between scheduled starts and {}; the text names the cause the figures show (build_cores_needed above cores_available, or client CPU ÷ elapsed at least {} of cores_available), and without a start-lag reading rate_bound is null and rate_bound_not_measured says why (docs/figures.md)",
        units::span(END_GRACE),
        units::span(LATE_THRESHOLD),
        units::percent(CLIENT_CPU_BOUND),
    )
}

/// `method.per_session_unsound`.
pub const PER_SESSION_UNSOUND_METHOD: &str = "set when the leg was rate-bound, whether it kept its rate was not measured, or any of its requests failed: its per-session and per-request figures then describe an overloaded or failing client, so the table and page mark them and the advice skips them; they are still published as measured (docs/figures.md)";

/// How `StopReason::FellBehind` and `StopReason::SlotsBusy` start their `stopped_early` text.
const FELL_BEHIND: &str = "fell behind:";

/// Share of the offered cores above which the client worker itself is the bound.
pub(crate) const CLIENT_CPU_BOUND: f64 = 0.9;

/// Whether a leg kept its planned rate, as its figures show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateVerdict {
    /// The virtual clock: no schedule to keep.
    NoSchedule,
    /// It did not fall behind and its median start lag stayed under the threshold.
    Kept,
    /// Rate-bound: why, naming the measured figures and the cause.
    Bound(String),
    /// Unknown, and why: it did not fall behind, and no start-lag reading shows a queue.
    NotMeasured(String),
}

/// Whether the leg kept its rate. A leg stopped early for another reason is marked by
/// `stopped_early` alone.
pub fn rate_verdict(
    rate: f64,
    clock: Clock,
    t: &ClientTotals,
    build_cores_needed: Option<f64>,
) -> RateVerdict {
    if clock != Clock::Real {
        return RateVerdict::NoSchedule;
    }
    let spacing_us = 1e6 / rate;
    let threshold_us = spacing_us.max(LATE_THRESHOLD.as_micros() as f64);
    let fell_behind = t
        .stopped_early
        .as_deref()
        .is_some_and(|s| s.starts_with(FELL_BEHIND));
    let lag = t.start_lag_us.map(|l| l.p50 as f64);
    let queued = match lag {
        Some(l) => l >= threshold_us,
        None if fell_behind => false,
        None => {
            return RateVerdict::NotMeasured(format!(
                "whether it kept --rate {} was not measured: no start-lag reading (start_lag_us null), so a queue behind the schedule would not show",
                units::sig3(rate)
            ))
        }
    };
    if !fell_behind && !queued {
        return RateVerdict::Kept;
    }
    let late = t.late_starts.map_or_else(String::new, |n| {
        format!(
            ", {} of them late (≥ {} or waited for a slot)",
            units::count(n),
            units::span(LATE_THRESHOLD)
        )
    });
    let mut evidence = vec![format!(
        "{} of {} planned requests started{late}",
        units::count(t.requests_started),
        units::count(t.requests_planned),
    )];
    if let Some(stop) = t.stopped_early.as_deref().filter(|_| fell_behind) {
        evidence.push(format!("its load stopped: {stop}"));
    }
    if let Some(l) = lag {
        evidence.push(format!(
            "median start lag {} against {} between scheduled starts{}",
            units::micros(l),
            units::micros(spacing_us),
            if queued {
                ""
            } else {
                " (below it: not the reason)"
            }
        ));
    }
    RateVerdict::Bound(format!(
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

/// Why the leg's per-session figures are not known to describe a session at the planned rate
/// (`rate`: why it was not kept, or not known to be), or `None` when they do.
pub fn per_session_unsound(rate: Option<&str>, t: &ClientTotals) -> Option<String> {
    let mut why: Vec<String> = rate.map(str::to_string).into_iter().collect();
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
    use crate::run::assemble::LegEnd;
    use crate::run::assemble::{
        self,
        tests::{fin, plan, record},
    };
    use crate::run::load::StopReason;
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

    /// The verdict's rate-bound text, if any.
    fn rate_bound(
        rate: f64,
        clock: Clock,
        t: &ClientTotals,
        build_cores_needed: Option<f64>,
    ) -> Option<String> {
        rate_verdict(rate, clock, t, build_cores_needed)
            .bound()
            .map(str::to_string)
    }

    impl RateVerdict {
        /// The rate-bound text (`rate_bound`), when the leg was rate-bound.
        pub fn bound(&self) -> Option<&str> {
            match self {
                RateVerdict::Bound(why) => Some(why),
                _ => None,
            }
        }

        /// Why the verdict is unknown (`rate_bound_not_measured`), when it is.
        pub fn not_measured(&self) -> Option<&str> {
            match self {
                RateVerdict::NotMeasured(why) => Some(why),
                _ => None,
            }
        }
    }

    #[test]
    fn jitter_is_not_a_queue() {
        assert_eq!(
            rate_verdict(100.0, Clock::Real, &kept(), Some(0.006)),
            RateVerdict::Kept
        );
        // Most starts late, as on a loaded machine, but the median lag well under the spacing.
        let mut t = kept();
        t.late_starts = Some(4_300);
        t.start_lag_us = Some(P50P99 {
            p50: 4_600,
            p99: 110_000,
        });
        assert_eq!(rate_verdict(20.0, Clock::Real, &t, None), RateVerdict::Kept);
        // At a rate whose spacing is under the timer's resolution, the 2 ms floor holds.
        t.start_lag_us = Some(P50P99 {
            p50: 1_500,
            p99: 3_000,
        });
        assert_eq!(
            rate_verdict(2_000.0, Clock::Real, &t, None),
            RateVerdict::Kept
        );
        assert_eq!(per_session_unsound(None, &kept()), None);
    }

    /// No start-lag reading (a worker that ended without its final report, a leg that started
    /// nothing): a queue would not show, so the leg is not known to have kept its rate.
    #[test]
    fn a_missing_start_lag_is_not_measured_not_kept() {
        let mut t = kept();
        t.start_lag_us = None;
        let verdict = rate_verdict(100.0, Clock::Real, &t, Some(0.006));
        let why = verdict.not_measured().expect("not measured");
        assert!(
            why.starts_with("whether it kept --rate 100 was not measured: no start-lag reading"),
            "{why}"
        );
        assert_eq!(verdict.bound(), None);
        assert_eq!(
            per_session_unsound(Some(why), &t).as_deref(),
            Some(why),
            "figures not known to be at the rate are not sound"
        );
        // Falling behind is measured without the lag: the verdict is known.
        t.stopped_early = Some(
            StopReason::FellBehind {
                started: 3,
                planned: 6_000,
            }
            .to_string(),
        );
        assert!(rate_verdict(100.0, Clock::Real, &t, None).bound().is_some());
        // The virtual clock has no schedule, so no lag is missing.
        assert_eq!(
            rate_verdict(100.0, Clock::Virtual, &kept(), None),
            RateVerdict::NoSchedule
        );
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
        // The stop that decided it is in the evidence, not only the lag beside it.
        assert!(why.contains("its load stopped: fell behind"), "{why}");
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
        let bound = Some("rate-bound: x");
        let why = per_session_unsound(bound, &t).expect("unsound");
        assert_eq!(
            why,
            "rate-bound: x; 128 of 6,000 started requests failed (timeout: 128)"
        );
        assert_eq!(
            per_session_unsound(bound, &kept()).as_deref(),
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
        let r = assemble::leg(&p, &record(LegEnd::Completed, Some(f))).1;
        let bound = r.rate_bound.as_deref().expect("rate-bound");
        assert!(
            bound.starts_with(
                "rate-bound: could not keep --rate 10: 3 of 20 planned requests started"
            ),
            "{bound}"
        );
        let why = r.per_session_unsound.as_deref().expect("marked");
        assert!(
            why.starts_with(bound) && why.ends_with("1 of 3 started requests failed (timeout: 1)"),
            "{why}"
        );
        // A leg that kept its rate (a start lag well under the 100 ms spacing) is not marked.
        let mut kept = fin(20);
        kept.totals.start_lag_us = Some(P50P99 {
            p50: 900,
            p99: 4_000,
        });
        let ok = assemble::leg(&p, &record(LegEnd::Completed, Some(kept))).1;
        assert_eq!(
            (
                ok.rate_bound,
                ok.rate_bound_not_measured,
                ok.per_session_unsound
            ),
            (None, None, None)
        );
        // One without a start-lag reading is not known to have kept it, and says so.
        let unknown = assemble::leg(&p, &record(LegEnd::Completed, Some(fin(20)))).1;
        let why = unknown
            .rate_bound_not_measured
            .as_deref()
            .expect("not measured");
        assert_eq!(unknown.rate_bound, None);
        assert_eq!(unknown.per_session_unsound.as_deref(), Some(why));
        let meta = assemble::RunMeta {
            command: String::new(),
            run_id: String::new(),
            started_at: String::new(),
            target: None,
            fd_limit: None,
        };
        let s = assemble::summary(&p, &meta, &[], vec![r]).0;
        assert!(
            s.method["rate_bound"].starts_with("measured"),
            "{}",
            s.method["rate_bound"]
        );
        assert!(s.method.contains_key("per_session_unsound"));
    }
}
