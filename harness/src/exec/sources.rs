//! Where each numeric exec figure comes from, and why a null one is null.

use std::collections::BTreeMap;

use crate::contract::exec::{numeric_fields, ExecSummary, WorkerEnd};
use crate::exec::heap::HeapProfiles;
use crate::vocab::exec::{HeapTool, Source, WitnessRecord};

/// The source of a numeric field of [`ExecSummary`] (`None`: the harness's own count, never null).
pub fn source(field: &str) -> Option<Source> {
    Some(match field {
        "requests"
        | "connections"
        | "handshakes_full"
        | "handshakes_resumed"
        | "handshakes_failed"
        | "new_connections_per_request"
        | "requests_per_connection"
        | "full_handshakes_per_request"
        | "connections_open_at_exit"
        | "connections_open_at_last_request"
        | "connections_open_at_last_request_per_request"
        | "connections_open_peak" => Source::Witness,
        "last_sample_before_end_ms"
        | "last_seen_running_before_end_ms"
        | "processes_peak"
        | "rss_peak_bytes"
        | "pss_peak_bytes"
        | "rss_first_request_bytes"
        | "rss_end_bytes"
        | "rss_growth_bytes"
        | "rss_growth_per_request_bytes"
        | "open_fds_peak"
        | "tcp_to_server_peak"
        | "tcp_to_server_last_sample" => Source::ProcessTree,
        "exit_code" | "exit_signal" | "elapsed_s" => Source::WaitStatus,
        "cpu_s" => Source::Rusage,
        "heap_peaks_summed_bytes"
        | "heap_at_exits_summed_bytes"
        | "heap_processes_seen"
        | "heap_profiles_read" => Source::Heap,
        "sampler_cpu_us_total" => Source::ThreadClock,
        _ => return None,
    })
}

/// How a worker ended, in words: `killed by signal 9`, `exited with status 1: <stderr>`.
pub fn worker_how(w: Option<&WorkerEnd>) -> String {
    let Some(w) = w else {
        return "the server worker was not waited for".into();
    };
    let mut how = match (w.exit_code, w.exit_signal, w.killed_after_grace) {
        (_, _, true) => "the server worker did not finish and was killed".to_string(),
        (_, Some(sig), _) => format!("the server worker was killed by signal {sig}"),
        (Some(c), _, _) => format!("the server worker exited with status {c}"),
        (None, None, _) => "the server worker ended".to_string(),
    };
    if let Some(e) = w
        .last_error
        .as_deref()
        .filter(|_| w.exit_signal.is_none() && w.exit_code != Some(0))
    {
        how.push_str(&format!(" ({e})"));
    }
    let unparsed = w.lines_unparsed;
    if unparsed > 0 {
        how.push_str(&format!(
            "; {unparsed} lines of its output could not be read"
        ));
    }
    how
}

/// Why each null numeric figure of `s` is null (a `--fail-if` over one fails and says this),
/// given whether any `/proc` sample found the tree and what valgrind's profiles said.
pub fn unmeasured(
    s: &ExecSummary,
    sampled: bool,
    heap: Option<&HeapProfiles>,
) -> BTreeMap<String, String> {
    let json = serde_json::to_value(s).unwrap_or_default();
    numeric_fields()
        .into_iter()
        .filter(|f| json.get(f).is_some_and(serde_json::Value::is_null))
        .map(|f| (f.clone(), reason(&f, s, sampled, heap)))
        .chain(breakdown_reasons(s, heap))
        .collect()
}

/// Why `heap_breakdown`, or its figures per connection and per request, are null.
fn breakdown_reasons(s: &ExecSummary, heap: Option<&HeapProfiles>) -> Vec<(String, String)> {
    let Some(owners) = &s.heap_breakdown else {
        let why = match heap {
            Some(h) if h.owners.is_none() && s.heap_tool == HeapTool::Valgrind => {
                "not asked for: --breakdown attributes the DHAT profiles to owners".into()
            }
            _ => heap_reason(s, heap, "--heap valgrind --breakdown"),
        };
        return vec![("heap_breakdown".into(), why)];
    };
    // An owner's figure per unit is null exactly when the witness counted no such unit.
    let per = |field: &str, units: Option<u64>, what: &str| {
        let why = match units {
            None => witness_lost(s),
            Some(0) => format!("undefined: the witness counted no {what} to divide by"),
            Some(_) => return None,
        };
        (!owners.is_empty()).then(|| (format!("heap_breakdown.{field}"), why))
    };
    [
        per("per_connection", s.connections, "connection"),
        per("per_request", s.requests, "request"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Why a figure counted from the witness is null when its record was lost.
fn witness_lost(s: &ExecSummary) -> String {
    format!(
        "witness lost: the server's per-connection record never arrived ({})",
        worker_how(s.server_worker.as_ref())
    )
}

/// Why a heap figure is null: `flags` not given, or what valgrind's profiles said.
fn heap_reason(s: &ExecSummary, heap: Option<&HeapProfiles>, flags: &str) -> String {
    match (s.heap_tool, heap) {
        (HeapTool::None, _) => format!("a foreign process's heap is not visible without {flags}"),
        (HeapTool::Valgrind, Some(h)) => h
            .problem()
            .unwrap_or_else(|| "valgrind's profiles did not give it".into()),
        (HeapTool::Valgrind, None) => "valgrind's profiles were not read".into(),
    }
}

fn reason(field: &str, s: &ExecSummary, sampled: bool, heap: Option<&HeapProfiles>) -> String {
    match source(field) {
        Some(Source::Witness) => match s.witness {
            WitnessRecord::Lost => witness_lost(s),
            WitnessRecord::Received if field.starts_with("connections_open_at_last_request") => {
                "undefined: the witness counted no request, so there is no last request".into()
            }
            WitnessRecord::Received => {
                "undefined: the witness counted no request or no completed handshake to divide by"
                    .into()
            }
        },
        Some(Source::ProcessTree) if !sampled => {
            "no /proc sample found the command's process tree (it ended before the first sample)"
                .into()
        }
        Some(Source::ProcessTree) if field.starts_with("tcp_to_server") => {
            "the tree's sockets could not all be read and resolved at that sample (a process was exiting, or /proc/net/tcp could not be read)".into()
        }
        Some(Source::ProcessTree) if field.starts_with("rss_growth") || field == "rss_first_request_bytes" => {
            "undefined: no sample between the server's first and last answered request".into()
        }
        Some(Source::ProcessTree) => "no /proc sample gave this figure".into(),
        Some(Source::WaitStatus) if field == "exit_signal" => {
            "the command was not ended by a signal".into()
        }
        Some(Source::WaitStatus) if s.exit_signal.is_some() => {
            "the command was ended by a signal (exit_signal)".into()
        }
        Some(Source::WaitStatus) => "the command's status could not be waited for".into(),
        Some(Source::Rusage) => "getrusage(RUSAGE_CHILDREN) could not be read".into(),
        Some(Source::Heap) => heap_reason(s, heap, "--heap valgrind"),
        Some(Source::ThreadClock) => "CLOCK_THREAD_CPUTIME_ID could not be read".into(),
        None => "no source".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new numeric figure must name its source, or a null in it could not be explained.
    #[test]
    fn every_numeric_field_but_the_harness_own_counts_has_a_source() {
        let without: Vec<String> = numeric_fields()
            .into_iter()
            .filter(|f| source(f).is_none())
            .collect();
        assert_eq!(without, vec!["samples".to_string()]);
    }

    #[test]
    fn a_dead_worker_is_described_by_its_status() {
        let killed = WorkerEnd {
            exit_signal: Some(9),
            ..Default::default()
        };
        assert_eq!(
            worker_how(Some(&killed)),
            "the server worker was killed by signal 9"
        );
        let garbled = WorkerEnd {
            exit_code: Some(0),
            lines_unparsed: 2,
            ..Default::default()
        };
        assert!(worker_how(Some(&garbled)).contains("2 lines of its output could not be read"));
    }
}
