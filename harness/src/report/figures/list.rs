//! Every per-mode figure, declared once; the views name each by its `const` here.

use super::{count, numbers, per_session, words, Figure, Provenance};
use crate::contract::summary::{ModeSummary, ServerSummary};
use crate::contract::wire::P50P99;
use crate::vocab::units::{self, bytes, micros, percent, rate, seconds, sig3};
use Provenance::{Derived, Measured, Model};

/// The figures per second of wall time: under the virtual clock they describe the run, not the
/// planned rate, and [`wall_time_note`] says so beside them.
pub const PER_WALL_SECOND: &[&Figure] =
    &[&ACHIEVED_RATE, &BUILD_SHARE_OVER_WALL, &SAMPLER_OVERHEAD];

/// Under the virtual clock, what a leg's per-wall-second figures are per, and where the figure
/// at the planned rate is (`None` under the real clock).
pub fn wall_time_note(m: &ModeSummary) -> Option<String> {
    let virtual_s = m.load.virtual_s?;
    let figures = PER_WALL_SECOND
        .iter()
        .map(|f| format!("\"{}\"", f.label))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "virtual clock: {} of scheduled requests ran in {} of wall time, so {figures} are per that wall time, not at the planned rate; \"{}\" is at the planned rate",
        units::seconds(virtual_s),
        units::seconds(m.load.elapsed_s),
        BUILD_AT_RATE.label,
    ))
}

fn n(v: u64) -> Option<f64> {
    Some(v as f64)
}

fn o(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

fn ints<const N: usize>(v: [Option<u64>; N]) -> Vec<Option<f64>> {
    v.map(o).to_vec()
}

/// The server's counts picked by `f` (each not measured without a server).
fn srv<const N: usize>(
    m: &ModeSummary,
    f: fn(&ServerSummary) -> [Option<u64>; N],
) -> Vec<Option<f64>> {
    ints(m.server.as_ref().map_or([None; N], f))
}

fn p50_p99(p: Option<P50P99>) -> Vec<Option<f64>> {
    vec![p.map(|p| p.p50 as f64), p.map(|p| p.p99 as f64)]
}

/// Declares each figure as a `pub const` and lists them all, in this order, as [`MODE_FIGURES`].
/// Inside it a figure is a row of the table: its label, unit and kinds, then how it is read.
macro_rules! figures {
    ($($(#[$doc:meta])* $name:ident = $figure:expr;)+) => {
        $($(#[$doc])* pub const $name: Figure = $figure;)+

        /// Every per-mode figure, in the order the tables show them.
        pub const MODE_FIGURES: &[&Figure] = &[$(&$name),+];
    };
}

figures! {
    CLIENT_ROOTS = words("client / roots", |m| Some(format!("{} / {}", m.client, m.roots)));
    REQUESTS_OK_FAILED = numbers("requests ok / failed", count, &[Measured; 2],
        |m| vec![n(m.load.requests_ok), n(m.load.requests_failed)]);
    REQUESTS_PLANNED = numbers("requests planned / started", count, &[Measured; 2],
        |m| vec![n(m.load.requests_planned), n(m.load.requests_started)]);
    /// Requests completed ÷ elapsed wall time.
    ACHIEVED_RATE = numbers("achieved rate", rate, &[Derived], |m| vec![Some(m.achieved_rps)]);
    LATE_STARTS = numbers("late starts (≥2 ms or no slot)", count, &[Measured],
        |m| ints([m.load.late_starts]));
    START_LAG = numbers("start lag p50 / p99", micros, &[Measured; 2],
        |m| p50_p99(m.load.start_lag_us));
    HANDSHAKES = numbers("handshakes full / resumed / reused conn", count, &[Measured; 3], |m| {
        let l = &m.load;
        ints([l.handshakes_full, l.handshakes_resumed, l.requests_on_reused_connection])
    });
    CONNECTIONS = numbers("connections opened / peak open", count, &[Measured; 2],
        |m| ints([m.load.connections_opened, m.open_connections_peak]));
    ALLOC_BYTES_PER_REQUEST = per_session("bytes allocated / request", bytes, &[Derived],
        |m| vec![m.client_alloc_bytes_per_request]);
    OPENSSL_PER_REQUEST = per_session("  of which OpenSSL / request", bytes, &[Derived],
        |m| vec![m.openssl_alloc_bytes_per_request]);
    ALLOCS_PER_REQUEST = per_session("allocations / request", sig3, &[Derived],
        |m| vec![m.client_allocs_per_request]);
    SESSION_BUILDS = numbers("session builds", count, &[Measured],
        |m| vec![n(m.load.client_builds)]);
    BUILD_CPU = per_session("build CPU p50 / p99", micros, &[Measured; 2],
        |m| p50_p99(m.load.client_build_cpu_us));
    BUILD_WALL = per_session("build wall time p50 / p99", micros, &[Measured; 2],
        |m| p50_p99(m.load.client_build_us));
    /// Building threads' CPU time ÷ elapsed wall time.
    BUILD_SHARE_OVER_WALL = numbers(
        "building: CPU ÷ wall time (share of one core)", percent, &[Derived],
        |m| vec![m.client_build_core_share]);
    ALLOC_BYTES_PER_BUILD = per_session("bytes allocated / build", bytes, &[Derived],
        |m| vec![m.client_build_alloc_bytes]);
    OPENSSL_PER_BUILD = per_session("  of which OpenSSL / build", bytes, &[Derived],
        |m| vec![m.openssl_build_alloc_bytes]);
    /// Mean build CPU × the planned rate: the share of a core building takes at the planned
    /// rate, on either clock.
    BUILD_AT_RATE = numbers(
        "building at the planned rate: cores needed / available", sig3, &[Derived, Measured],
        |m| vec![m.build_cores_needed, o(m.load.cores_available)]);
    RATE_BOUND = words("rate bound",
        |m| m.rate_bound.clone().or_else(|| m.rate_bound_not_measured.clone()));
    RETAINED_BYTES = per_session("retained bytes / session (b)", bytes, &[Derived],
        |m| vec![m.retained_bytes_per_session]);
    RETAINED_BYTES_SLOPE = per_session("b cross-check: heap slope", bytes, &[Derived],
        |m| vec![m.retained_bytes_slope]);
    RETAINED_SESSIONS = numbers("retained sessions peak", count, &[Measured],
        |m| ints([m.retained_sessions_peak]));
    PLATEAU = per_session("plateau: model R·b·T / measured", bytes, &[Model, Measured],
        |m| vec![m.model_plateau_bytes, m.measured_plateau_bytes]);
    PLATEAU_RATIO = per_session("plateau: measured ÷ model", sig3, &[Derived],
        |m| vec![m.plateau_ratio]);
    PLATEAU_REACHED = numbers("plateau reached at", seconds, &[Measured],
        |m| vec![m.plateau_reached_s]);
    CLIENT_HEAP = numbers("client heap start / peak / end", bytes, &[Measured; 3], |m| {
        let l = &m.load;
        ints([l.client_heap_start_bytes, m.client_heap_peak_bytes, l.client_heap_end_bytes])
    });
    CLIENT_RSS = numbers("client RSS start / peak / end", bytes, &[Measured; 3], |m| {
        let l = &m.load;
        ints([l.client_rss_start_bytes, m.client_rss_peak_bytes, l.client_rss_end_bytes])
    });
    OPEN_FDS = numbers("open fds start / peak / end", count, &[Measured; 3],
        |m| ints([m.load.open_fds_start, m.open_fds_peak, m.load.open_fds_end]));
    LATENCY = per_session("latency p50 / p99 / max", micros, &[Measured; 3], |m| {
        let l = m.load.latency_us;
        vec![l.map(|l| l.p50 as f64), l.map(|l| l.p99 as f64), l.map(|l| l.max as f64)]
    });
    WARMUP = numbers("warm-up before the load", micros, &[Measured], |m| ints([m.load.warmup_us]));
    CLIENT_CPU = numbers("client CPU", seconds, &[Measured], |m| vec![m.load.client_cpu_s]);
    /// The sampler's CPU time ÷ elapsed wall time.
    SAMPLER_OVERHEAD = numbers("sampler overhead", percent, &[Derived], |m| vec![m.sampler_share]);
    SERVER_MEMORY = numbers("server RSS peak / heap peak", bytes, &[Measured; 2],
        |m| srv(m, |s| [s.rss_peak_bytes, s.heap_peak_bytes]));
    SERVER_CACHE_ENTRIES = numbers("server session cache peak entries", count, &[Measured],
        |m| srv(m, |s| [s.session_cache_entries_peak]));
    SERVER_CACHE_BYTES = numbers("server session cache peak bytes", bytes, &[Measured],
        |m| srv(m, |s| [s.session_cache_bytes_peak]));
    SERVER_HANDSHAKES = numbers("server handshakes full / resumed / failed", count, &[Measured; 3],
        |m| srv(m, |s| [s.handshakes_full, s.handshakes_resumed, s.handshakes_failed]));
    SERVER_CONNECTIONS = numbers("server connections total / peak open", count, &[Measured; 2],
        |m| srv(m, |s| [s.connections_total, s.open_connections_peak]));
    SERVER_ACCEPT_ERRORS = numbers("server accept errors", count, &[Measured],
        |m| srv(m, |s| [s.accept_errors]));
    SERVER_CPU = numbers("server CPU", seconds, &[Measured],
        |m| vec![m.server.as_ref().and_then(|s| s.cpu_s)]);
    WORKER_LINES_UNPARSED = numbers("worker lines not understood", count, &[Measured],
        |m| vec![n(m.worker_lines_unparsed)]);
    FAILURES_BY_KIND = words("failures by kind", |m| {
        let kinds = m.load.failures_by_kind.iter();
        let kinds: Vec<String> = kinds.map(|(k, v)| format!("{k}: {}", units::count(*v))).collect();
        (!kinds.is_empty()).then(|| kinds.join("; "))
    });
    STOPPED_EARLY = words("stopped early", |m| m.load.stopped_early.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::Cell;

    fn mode() -> ModeSummary {
        serde_json::from_value(serde_json::json!({
            "mode": "fresh", "client": "hyper", "roots": "ca",
            "requests_planned": 60000, "requests_started": 60000, "requests_ok": 60000,
            "requests_failed": 0, "failures_by_kind": {}, "elapsed_s": 18.3,
            "achieved_rps": 3278.7, "client_builds": 60000
        }))
        .expect("mode")
    }

    /// The brief view and the headline mark each part they show with its figure's kind.
    #[test]
    fn each_part_of_a_figure_has_one_kind() {
        for f in MODE_FIGURES {
            let parts = match f.cell(&mode()) {
                Cell::Parts(parts) => parts.len(),
                Cell::Text(_) => 0,
            };
            assert_eq!(f.provenance.len(), parts, "{}", f.label);
        }
    }

    #[test]
    fn the_virtual_clock_says_what_its_wall_time_figures_are_per() {
        let mut m = mode();
        assert_eq!(wall_time_note(&m), None);
        m.load.virtual_s = Some(60.0);
        let note = wall_time_note(&m).expect("virtual clock");
        assert!(
            note.starts_with(
                "virtual clock: 60 s of scheduled requests ran in 18.3 s of wall time"
            ),
            "{note}"
        );
        for f in PER_WALL_SECOND {
            assert!(note.contains(&format!("\"{}\"", f.label)), "{note}");
        }
        let at_rate = format!("\"{}\" is at the planned rate", BUILD_AT_RATE.label);
        assert!(note.ends_with(&at_rate), "{note}");
    }

    #[test]
    fn labels_are_distinct() {
        for (i, f) in MODE_FIGURES.iter().enumerate() {
            assert!(
                MODE_FIGURES[..i].iter().all(|g| g.label != f.label),
                "{} twice",
                f.label
            );
        }
    }
}
