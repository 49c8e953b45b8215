//! Advice "Never invalidating": bytes and descriptors per kept session, time to the fd limit.

use crate::contract::summary::{ModeSummary, Summary};
use crate::vocab::clock::Clock;
use crate::vocab::units::bytes as fmt_bytes;

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
    (!clauses.is_empty()).then(|| {
        format!(
            "Never invalidating (drop the sessions you stop using): {}.",
            clauses.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{leak, line_with, summary};
    use crate::vocab::clock::Clock;

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
