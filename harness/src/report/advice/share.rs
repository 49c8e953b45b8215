//! Advice "Share one session": fresh against shared, as measured.

use crate::contract::summary::ModeSummary;
use crate::vocab::units;
use crate::vocab::units::bytes as fmt_bytes;

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

/// Fresh vs shared: allocation traffic per request (derived, as the table marks it), memory
/// held and handshakes (measured).
/// The fresh heap peak holds the retention model's store when retention is on, so the clause
/// says so beside the run's length.
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
        let diff = fb - sb;
        let (amount, direction) = if diff >= 0.0 {
            (diff, "less")
        } else {
            (-diff, "more")
        };
        clauses.push(format!(
            "allocation traffic (bytes allocated per request, not memory held) was {} fresh vs {} shared, {} {direction} per request when shared (derived: client allocator totals ÷ completed requests, and their difference)",
            fmt_bytes(fb),
            fmt_bytes(sb),
            fmt_bytes(amount),
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

#[cfg(test)]
mod tests {
    use crate::report::advice::advice;
    use crate::report::advice::fixtures::{fresh, line_with, shared, summary};

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
}
