//! One survey row from one check: its figures, the derived ones, and the verdict they give.

use std::collections::BTreeMap;

use crate::contract::exec::ExecSummary;
use crate::contract::survey::SurveyRow;
use crate::exec::summary::ratio;
use crate::exec::verdict::{KEPT_PER_REQUEST, PER_REQUEST};
use crate::survey::habits::{HabitSpec, Need};
use crate::vocab::exec::{ExecEnd, HeapTool};
use crate::vocab::runtime::RowStatus;

/// At or below this share of connections per request, a habit shares its connections.
pub const SHARED: f64 = 0.1;

/// How each figure of a row was measured (`summary.json` `method`).
pub fn methods() -> BTreeMap<String, String> {
    [
        ("check", "each habit's example program is run under its own `harness exec` check with the same defaults (its own server, the same sampling), so a row's figures are that check's; its report is under checks/"),
        ("connections_per_request", "derived: connections the server accepted ÷ requests it answered (the witness)"),
        ("connections_left_open", "harness exec's connections_open_at_last_request: connections the server had accepted and not seen close when the program's last request arrived, from the server's own order of events, so what a runtime does at its exit cannot change it"),
        ("rss_growth_per_request_bytes", "harness exec's rss_growth_per_request_bytes: RSS after the last request minus after the first, ÷ requests between; null when the program ran between two samples"),
        ("cpu_per_request_s", "derived: the command's CPU seconds from getrusage(RUSAGE_CHILDREN), start-up and exit included, ÷ requests"),
        ("verdict", "read from the row's figures only: connections per request against the per-request and shared bounds (one connection for every request is shared at any N), resumed handshakes against full ones, connections held to the end per request"),
        ("missing", "a runtime or library not found on PATH (or not importable, or not loaded) is not run: its row names the package that provides it"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A row of `spec`, its figures from the check `s` (`None`: not checked); the heap's only
/// under valgrind.
fn row(
    spec: &HabitSpec,
    status: RowStatus,
    why: Option<String>,
    verdict: String,
    s: Option<&ExecSummary>,
) -> SurveyRow {
    let heap = s.filter(|s| s.heap_tool == HeapTool::Valgrind);
    SurveyRow {
        runtime: spec.library.runtime,
        library: spec.library.name.into(),
        habit: spec.habit.into(),
        program: spec.program.into(),
        status,
        needs: spec.library.needs.iter().map(|n| n.describe()).collect(),
        why,
        command: None,
        report: None,
        exit_code: s.and_then(|s| s.exit_code),
        elapsed_s: s.map(|s| s.elapsed_s),
        requests: s.and_then(|s| s.requests),
        connections: s.and_then(|s| s.connections),
        handshakes_full: s.and_then(|s| s.handshakes_full),
        handshakes_resumed: s.and_then(|s| s.handshakes_resumed),
        connections_per_request: s.and_then(|s| s.new_connections_per_request),
        connections_left_open: s.and_then(|s| s.connections_open_at_last_request),
        left_open_per_request: s.and_then(|s| s.connections_open_at_last_request_per_request),
        rss_growth_per_request_bytes: s.and_then(|s| s.rss_growth_per_request_bytes),
        cpu_per_request_s: s.and_then(|s| Some(s.cpu_s? / s.requests.filter(|&n| n > 0)? as f64)),
        exec_habit: s.and_then(|s| s.habit),
        heap_peaks_summed_bytes: heap.and_then(|s| s.heap_peaks_summed_bytes),
        heap_per_connection_bytes: heap
            .and_then(|s| ratio(s.heap_peaks_summed_bytes, s.connections)),
        heap_breakdown: heap.and_then(|s| s.heap_breakdown.clone()),
        heap_blind_spot: heap.and(spec.library.heap_blind_spot).map(String::from),
        verdict,
    }
}

/// A habit whose runtime or library is not installed.
pub fn missing(spec: &HabitSpec, missing: &[Need]) -> SurveyRow {
    let install: Vec<String> = missing.iter().map(|n| n.package().install()).collect();
    let what: Vec<String> = missing.iter().map(|n| n.describe()).collect();
    let why = format!("not installed: {}", what.join(", "));
    let verdict = format!("not run: {}", install.join("; "));
    row(spec, RowStatus::Missing, Some(why), verdict, None)
}

/// A habit whose program is not built (and the survey does not build it).
pub fn not_built(spec: &HabitSpec, why: String) -> SurveyRow {
    let verdict = format!("not run: {why}");
    row(spec, RowStatus::Missing, Some(why), verdict, None)
}

/// A habit that could not be checked.
pub fn failed(spec: &HabitSpec, command: Option<Vec<String>>, why: String) -> SurveyRow {
    let verdict = format!("failed: {why}");
    SurveyRow {
        command,
        ..row(spec, RowStatus::Failed, Some(why), verdict, None)
    }
}

/// A habit checked: its figures from the check's summary.
pub fn measured(
    spec: &HabitSpec,
    command: Vec<String>,
    report: Option<String>,
    s: &ExecSummary,
) -> SurveyRow {
    let clean = s.exit_code == Some(0) && s.requests.is_some_and(|n| n > 0);
    let why = (!clean).then(|| match (s.exit_code, s.exit_signal, s.requests) {
        _ if s.ended == ExecEnd::Interrupted => "interrupted (Ctrl-C) before it finished".into(),
        (Some(c), _, _) if c != 0 => format!("the program exited with status {c} ({})", s.ended),
        (None, Some(sig), _) => format!("the program was ended by signal {sig} ({})", s.ended),
        _ => "the server answered no request".to_string(),
    });
    let status = match why {
        None => RowStatus::Measured,
        Some(_) => RowStatus::Failed,
    };
    let mut r = SurveyRow {
        command: Some(command),
        report,
        ..row(spec, status, why, String::new(), Some(s))
    };
    r.verdict = match &r.why {
        Some(why) => format!("failed: {why}"),
        None => verdict(&r),
    };
    r
}

/// A measured row's verdict, from its figures: what each request costs in connections and
/// handshakes, and whether the program held them to the end.
pub fn verdict(r: &SurveyRow) -> String {
    let handshakes = r.handshakes_full.zip(r.handshakes_resumed);
    let Some((cpr, (full, resumed))) = r.connections_per_request.zip(handshakes) else {
        return "no verdict: the server's record was lost".into();
    };
    let Some(left_open) = r.left_open_per_request else {
        return "no verdict: connections open at the last request not measured".into();
    };
    let held = left_open >= KEPT_PER_REQUEST;
    match (cpr >= PER_REQUEST, held, resumed > full) {
        (true, true, true) => "costly: a connection per request, most held to the end (resumed)",
        (true, true, false) => {
            "costly: a full handshake per request, most connections held to the end"
        }
        (true, false, true) => "ok: a new connection per request, resumed",
        (true, false, false) => "costly: a full handshake per request",
        _ if cpr <= SHARED || r.connections == Some(1) => "ok: connections shared",
        _ => "mixed: connections reused in part",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::habits::HABITS;
    use crate::vocab::runtime::Runtime;

    fn go() -> &'static HabitSpec {
        HABITS
            .iter()
            .find(|h| h.library.runtime == Runtime::Go)
            .expect("a Go habit")
    }

    fn row(conns: u64, full: u64, resumed: u64, left: u64) -> SurveyRow {
        let mut r = super::row(go(), RowStatus::Measured, None, String::new(), None);
        r.requests = Some(100);
        r.connections = Some(conns);
        r.handshakes_full = Some(full);
        r.handshakes_resumed = Some(resumed);
        r.connections_per_request = ratio(Some(conns), Some(100));
        r.connections_left_open = Some(left);
        r.left_open_per_request = ratio(Some(left), Some(100));
        r
    }

    #[test]
    fn the_verdict_reads_the_figures() {
        assert!(verdict(&row(100, 100, 0, 0)).starts_with("costly: a full handshake"));
        assert!(verdict(&row(100, 100, 0, 100)).contains("held to the end"));
        assert!(
            verdict(&row(100, 1, 99, 0)).starts_with("ok: a new connection per request, resumed")
        );
        assert!(verdict(&row(100, 1, 99, 60)).contains("held to the end (resumed)"));
        assert_eq!(verdict(&row(1, 1, 0, 1)), "ok: connections shared");
        assert!(verdict(&row(50, 50, 0, 0)).starts_with("mixed"));
        let mut few = row(1, 1, 0, 0);
        few.connections_per_request = Some(0.2);
        assert_eq!(
            verdict(&few),
            "ok: connections shared",
            "one connection at N = 5"
        );
        let mut lost = row(1, 1, 0, 0);
        lost.handshakes_full = None;
        assert!(verdict(&lost).starts_with("no verdict"));
    }

    #[test]
    fn a_missing_runtime_names_its_package_and_measures_nothing() {
        let r = missing(go(), go().library.needs);
        assert_eq!(r.status, RowStatus::Missing);
        assert!(
            r.verdict.contains("apt-get install golang-go"),
            "{}",
            r.verdict
        );
        assert!(r.connections_per_request.is_none() && r.requests.is_none());
    }
}
