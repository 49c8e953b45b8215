//! What `harness exec` publishes: `summary.json` ([`ExecSummary`]), one `timeline.csv` row per
//! sample ([`ExecRow`]) and one `connections.csv` row per connection ([`ConnectionRow`]), and
//! the pure assembly of them from what was observed ([`assemble`]).
//!
//! Every figure is the server's record (the witness) or a `/proc` sample of the command's
//! process tree; what the harness cannot know about a foreign process is `null`
//! (ARCHITECTURE.md, "Checking a program").

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::ConditionResult;
use super::verdict::{self, Habit};
use crate::proctree::TreeSample;
use crate::summary::{ServerSummary, Versions, P50P99};
use crate::wire::ServerSample;
use crate::witness::{ConnRecord, Handshake};

/// Version of the exec `summary.json` layout.
pub const EXEC_SCHEMA: u32 = 1;

crate::choice! {
    /// What kind of report a `summary.json` of `harness exec` is.
    pub enum ExecMode ("report mode", default = Exec) {
        /// A program checked from outside.
        Exec = "exec",
    }
}

crate::choice! {
    /// How the command's run ended.
    pub enum ExecEnd ("end", default = Exited) {
        /// The command exited by itself.
        Exited = "exited",
        /// `--duration` passed: the harness stopped it (SIGTERM, then SIGKILL).
        Stopped = "stopped",
        /// Ctrl-C or SIGTERM to the harness: the command was stopped.
        Interrupted = "interrupted",
        /// The server worker died, so the command was stopped.
        ServerDied = "server_died",
    }
}

crate::choice! {
    /// Who counts the command's heap.
    pub enum HeapTool ("heap tool", default = None) {
        /// Nobody: a foreign process's heap is not visible (heap figures are null).
        None = "none",
        /// valgrind's DHAT, around the command: exact heap bytes, many times slower.
        Valgrind = "valgrind",
    }
}

/// The whole of an exec `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecSummary {
    pub schema: u32,
    pub mode: ExecMode,
    /// The command checked, as its argument vector.
    pub command: Vec<String>,
    /// The harness command line, as typed.
    pub harness_command: String,
    pub run_id: String,
    pub started_at: String,
    pub versions: Versions,
    /// How each kind of figure was measured.
    pub method: BTreeMap<String, String>,
    pub ended: ExecEnd,
    /// The command's exit code (`null`: it was ended by a signal).
    pub exit_code: Option<i32>,
    /// The signal that ended the command, if one did.
    pub exit_signal: Option<i32>,
    /// Wall seconds from the command's start to its end.
    pub elapsed_s: f64,
    pub heap_tool: HeapTool,

    /// Requests the server answered.
    pub requests: u64,
    /// Connections the server accepted.
    pub connections: u64,
    pub handshakes_full: u64,
    pub handshakes_resumed: u64,
    /// Connections whose TLS handshake failed (for example: the command does not trust the CA).
    pub handshakes_failed: u64,
    /// Derived: connections ÷ requests (`null` without requests).
    pub new_connections_per_request: Option<f64>,
    /// Derived: requests ÷ connections that completed a handshake.
    pub requests_per_connection: Option<f64>,
    /// Derived: full handshakes ÷ requests.
    pub full_handshakes_per_request: Option<f64>,
    /// Connections still open when the command ended: the server saw them close at the end
    /// (within the exit margin, see `method`) or never.
    pub connections_open_at_exit: u64,
    /// Most connections open at once (from the server's per-connection record).
    pub connections_open_peak: u64,
    /// Lifetime of the connections that closed before the command ended, ms.
    pub connection_lifetime_ms: Option<P50P99>,
    /// What the figures say about the program's use of sessions (`null`: no request).
    pub habit: Option<Habit>,

    /// Most processes in the tree at one sample.
    pub processes_peak: Option<u64>,
    pub rss_peak_bytes: Option<u64>,
    pub pss_peak_bytes: Option<u64>,
    /// RSS at the first sample after the server answered the first request, and at the last
    /// sample.
    pub rss_first_request_bytes: Option<u64>,
    pub rss_end_bytes: Option<u64>,
    /// Derived: RSS at the first sample after the server answered the last request − RSS at
    /// the first sample after it answered the first.
    pub rss_growth_bytes: Option<i64>,
    /// Derived: `rss_growth_bytes` ÷ requests answered between those two samples.
    pub rss_growth_per_request_bytes: Option<f64>,
    pub open_fds_peak: Option<u64>,
    /// Most TCP connections the tree held to the server's port at one sample.
    pub tcp_to_server_peak: Option<u64>,
    /// CPU time of the command and the descendants it waited for, seconds (exact, from
    /// `getrusage(RUSAGE_CHILDREN)` around its wait).
    pub cpu_s: Option<f64>,
    /// Heap bytes live at the peak and at exit, summed over the tree's processes (valgrind
    /// DHAT only; `null` otherwise).
    pub heap_peak_bytes: Option<u64>,
    pub heap_end_bytes: Option<u64>,
    /// Samples taken, and the sampler's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), µs.
    pub samples: u64,
    pub sampler_cpu_us_total: Option<u64>,

    /// The server worker's own figures (peaks over its samples).
    pub server: Option<ServerSummary>,
    /// The verdict, in sentences built from the figures above.
    pub verdict: Vec<String>,
    /// The `--fail-if` conditions and how each came out.
    pub conditions: Vec<ConditionResult>,
}

/// A row of an exec `timeline.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecRow {
    /// Seconds since the command started.
    pub t_s: f64,
    #[serde(flatten)]
    pub tree: TreeSample,
    /// The server's latest sample.
    #[serde(flatten)]
    pub server: Option<ServerSample>,
}

/// A row of `connections.csv`: one connection as the server saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionRow {
    /// 1, 2, … in accept order.
    pub conn: u64,
    pub peer_port: u16,
    /// Seconds since the command started.
    pub opened_s: f64,
    pub closed_s: Option<f64>,
    pub handshake: Handshake,
    pub requests: u64,
    /// Still open when the command ended.
    pub open_at_exit: bool,
}

/// The numeric fields a `--fail-if` condition may name: every number (or nullable number) at
/// the top level of [`ExecSummary`], read off its JSON Schema.
pub fn numeric_fields() -> Vec<String> {
    let schema = serde_json::to_value(schemars::schema_for!(ExecSummary)).unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(|p| p.as_object()) else {
        return Vec::new();
    };
    let numeric = |t: &serde_json::Value| matches!(t.as_str(), Some("integer" | "number"));
    props
        .iter()
        .filter(|(_, p)| match p.get("type") {
            Some(serde_json::Value::Array(ts)) => ts.iter().any(numeric),
            Some(t) => numeric(t),
            None => false,
        })
        .filter(|(k, _)| k.as_str() != "schema")
        .map(|(k, _)| k.clone())
        .collect()
}

/// The JSON Schema of an exec `summary.json`, every object closed; committed as
/// `schema/exec-summary.schema.json`.
pub fn json_schema() -> serde_json::Value {
    crate::summary::closed(
        serde_json::to_value(schemars::schema_for!(ExecSummary)).unwrap_or_default(),
    )
}

/// Everything observed in one check, before assembly.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `CLOCK_MONOTONIC` ns when the command started and when it ended.
    pub start_ns: u64,
    pub end_ns: u64,
    pub ended: ExecEnd,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    pub cpu_s: Option<f64>,
    pub rows: Vec<ExecRow>,
    /// The server's record of each connection (`None`: the server died before sending it).
    pub conns: Option<Vec<ConnRecord>>,
    pub last_server: Option<ServerSample>,
    pub sampler_cpu_us_total: Option<u64>,
    pub heap: Option<(u64, u64)>,
    pub heap_tool: HeapTool,
}

/// How close to the command's end a close must be to count as made by the exit (the kernel
/// closes an exiting process's sockets a moment before its parent hears of the exit, and the
/// two are seen by different processes): see `method.connections_open_at_exit`.
pub const EXIT_MARGIN_NS: u64 = 10_000_000;

/// Assembles the published figures (without provenance, conditions or method, which the
/// caller fills in). Pure.
pub fn assemble(o: &Observed) -> ExecSummary {
    let conns = o.conns.as_deref().unwrap_or_default();
    let count = |k: Handshake| conns.iter().filter(|c| c.handshake == k).count() as u64;
    let (full, resumed, failed) = (
        count(Handshake::Full),
        count(Handshake::Resumed),
        count(Handshake::Failed),
    );
    // The record is exact; without it (server died), fall back to the server's counters.
    let (requests, connections, full, resumed, failed) = match (&o.conns, &o.last_server) {
        (Some(_), _) => (
            conns.iter().map(|c| c.requests).sum(),
            conns.len() as u64,
            full,
            resumed,
            failed,
        ),
        (None, Some(s)) => (
            s.server_requests,
            s.server_connections,
            s.server_handshakes_full,
            s.server_handshakes_resumed,
            s.server_handshakes_failed,
        ),
        (None, None) => (0, 0, 0, 0, 0),
    };
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let cutoff = o.end_ns.saturating_sub(EXIT_MARGIN_NS);
    let open_at_exit = |c: &ConnRecord| c.closed_ns.is_none_or(|t| t >= cutoff);
    let lifetimes_ms = conns.iter().filter(|c| !open_at_exit(c)).filter_map(|c| {
        Some((c.closed_ns?.saturating_sub(c.opened_ns) as f64 / 1e6).round() as u64)
    });

    let peak = |f: fn(&ExecRow) -> Option<u64>| o.rows.iter().filter_map(f).max();
    let first_req = o
        .rows
        .iter()
        .find(|r| r.server.as_ref().is_some_and(|s| s.server_requests > 0));
    let last = o.rows.iter().rev().find(|r| r.tree.processes > 0);
    let reqs = |r: &ExecRow| r.server.as_ref().map_or(0, |s| s.server_requests);
    // The first sample that saw every request answered: the program's memory right after its
    // last request, before any exit teardown (a sample taken while a process exits sees its
    // memory half freed).
    let total = o.rows.iter().map(reqs).max().unwrap_or(0);
    let after_last_req = o.rows.iter().find(|r| total > 0 && reqs(r) == total);
    let (growth, growth_per_request) = match (first_req, after_last_req) {
        (Some(a), Some(b)) if b.t_s > a.t_s => {
            let g = match (a.tree.rss_bytes, b.tree.rss_bytes) {
                (Some(x), Some(y)) => Some(y as i64 - x as i64),
                _ => None,
            };
            let n = reqs(b).saturating_sub(reqs(a));
            (g, g.and_then(|g| (n > 0).then(|| g as f64 / n as f64)))
        }
        _ => (None, None),
    };

    let mut s = ExecSummary {
        schema: EXEC_SCHEMA,
        mode: ExecMode::Exec,
        command: Vec::new(),
        harness_command: String::new(),
        run_id: String::new(),
        started_at: String::new(),
        versions: crate::assemble::versions(),
        method: BTreeMap::new(),
        ended: o.ended,
        exit_code: o.exit_code,
        exit_signal: o.exit_signal,
        elapsed_s: o.end_ns.saturating_sub(o.start_ns) as f64 / 1e9,
        heap_tool: o.heap_tool,
        requests,
        connections,
        handshakes_full: full,
        handshakes_resumed: resumed,
        handshakes_failed: failed,
        new_connections_per_request: ratio(connections, requests),
        requests_per_connection: ratio(requests, full + resumed),
        full_handshakes_per_request: ratio(full, requests),
        connections_open_at_exit: conns.iter().filter(|c| open_at_exit(c)).count() as u64,
        connections_open_peak: open_peak(conns),
        connection_lifetime_ms: p50_p99(lifetimes_ms),
        habit: None,
        processes_peak: o.rows.iter().map(|r| r.tree.processes).max(),
        rss_peak_bytes: peak(|r| r.tree.rss_bytes),
        pss_peak_bytes: peak(|r| r.tree.pss_bytes),
        rss_first_request_bytes: first_req.and_then(|r| r.tree.rss_bytes),
        rss_end_bytes: last.and_then(|r| r.tree.rss_bytes),
        rss_growth_bytes: growth,
        rss_growth_per_request_bytes: growth_per_request,
        open_fds_peak: peak(|r| r.tree.open_fds),
        tcp_to_server_peak: peak(|r| r.tree.tcp_to_server),
        cpu_s: o.cpu_s,
        heap_peak_bytes: o.heap.map(|h| h.0),
        heap_end_bytes: o.heap.map(|h| h.1),
        samples: o.rows.len() as u64,
        sampler_cpu_us_total: o.sampler_cpu_us_total,
        server: server_summary(o),
        verdict: Vec::new(),
        conditions: Vec::new(),
    };
    s.habit = verdict::habit(&s);
    s.verdict = verdict::sentences(&s);
    s
}

/// Most connections open at once, from open/close times.
fn open_peak(conns: &[ConnRecord]) -> u64 {
    let mut events: Vec<(u64, i64)> = Vec::with_capacity(conns.len() * 2);
    for c in conns {
        events.push((c.opened_ns, 1));
        if let Some(t) = c.closed_ns {
            events.push((t, -1));
        }
    }
    // Closes before opens at the same instant.
    events.sort();
    let (mut open, mut peak) = (0i64, 0i64);
    for (_, d) in events {
        open += d;
        peak = peak.max(open);
    }
    peak as u64
}

/// p50 and p99 of `values`, through the same HDR histogram (3 significant digits) as the
/// run's latencies.
fn p50_p99(values: impl Iterator<Item = u64>) -> Option<P50P99> {
    let mut h = crate::load::new_hist();
    for v in values {
        h.saturating_record(v);
    }
    crate::load::p50p99(&h)
}

fn server_summary(o: &Observed) -> Option<ServerSummary> {
    let last = o.last_server.as_ref()?;
    Some(crate::assemble::server_summary(
        o.rows.iter().filter_map(|r| r.server.as_ref()),
        last,
    ))
}

/// The rows of `connections.csv`, times relative to the command's start.
pub fn connection_rows(o: &Observed) -> Vec<ConnectionRow> {
    let cutoff = o.end_ns.saturating_sub(EXIT_MARGIN_NS);
    let rel = |t: u64| t.saturating_sub(o.start_ns) as f64 / 1e9;
    o.conns
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, c)| ConnectionRow {
            conn: i as u64 + 1,
            peer_port: c.peer_port,
            opened_s: rel(c.opened_ns),
            closed_s: c.closed_ns.map(rel),
            handshake: c.handshake,
            requests: c.requests,
            open_at_exit: c.closed_ns.is_none_or(|t| t >= cutoff),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn conn(open_ms: u64, close_ms: Option<u64>, hs: Handshake, requests: u64) -> ConnRecord {
        ConnRecord {
            peer_port: 40000,
            opened_ns: open_ms * MS,
            closed_ns: close_ms.map(|t| t * MS),
            handshake: hs,
            requests,
        }
    }

    fn observed(conns: Vec<ConnRecord>) -> Observed {
        Observed {
            start_ns: 0,
            end_ns: 1000 * MS,
            conns: Some(conns),
            ..Default::default()
        }
    }

    #[test]
    fn a_session_per_request() {
        let conns = (0..10)
            .map(|i| conn(i * 50, Some(i * 50 + 20), Handshake::Full, 1))
            .collect();
        let s = assemble(&observed(conns));
        assert_eq!((s.requests, s.connections, s.handshakes_full), (10, 10, 10));
        assert_eq!(s.new_connections_per_request, Some(1.0));
        assert_eq!(s.connections_open_at_exit, 0);
        assert_eq!(s.connections_open_peak, 1);
        assert_eq!(s.connection_lifetime_ms, Some(P50P99 { p50: 20, p99: 20 }));
        assert_eq!(s.habit, Some(Habit::SessionPerRequest));
    }

    #[test]
    fn open_at_exit_is_a_close_at_the_end_or_none() {
        let s = assemble(&observed(vec![
            conn(0, Some(100), Handshake::Full, 5),
            // Closed by the exit: 3 ms before the parent heard of it.
            conn(10, Some(997), Handshake::Full, 5),
            // Never seen closing.
            conn(20, None, Handshake::Resumed, 5),
        ]));
        assert_eq!(s.connections_open_at_exit, 2);
        assert_eq!(s.connections_open_peak, 3);
        assert_eq!(s.requests_per_connection, Some(5.0));
        let rows = connection_rows(&observed(vec![conn(20, None, Handshake::Resumed, 5)]));
        assert!(rows[0].open_at_exit && rows[0].closed_s.is_none());
    }

    #[test]
    fn nothing_measured_is_null_not_zero() {
        let s = assemble(&Observed::default());
        assert_eq!(s.requests, 0);
        assert_eq!(s.new_connections_per_request, None);
        assert_eq!(s.habit, None);
        assert_eq!(s.rss_peak_bytes, None);
        assert_eq!(s.rss_growth_per_request_bytes, None);
        assert_eq!(s.heap_peak_bytes, None);
        assert_eq!(s.server, None);
    }

    #[test]
    fn rss_growth_is_taken_from_the_first_request_on() {
        let row = |t: f64, rss: u64, reqs: u64| ExecRow {
            t_s: t,
            tree: TreeSample {
                processes: 1,
                rss_bytes: Some(rss),
                ..Default::default()
            },
            server: Some(ServerSample {
                server_requests: reqs,
                ..Default::default()
            }),
        };
        let mut o = observed(vec![]);
        o.rows = vec![
            row(0.1, 1_000, 0),
            row(0.2, 10_000, 10),
            row(0.3, 20_000, 110),
            // Exiting: memory half freed, no new request: not the growth's end.
            row(0.4, 5_000, 110),
        ];
        let s = assemble(&o);
        assert_eq!(s.rss_first_request_bytes, Some(10_000));
        assert_eq!(s.rss_growth_bytes, Some(10_000));
        assert_eq!(s.rss_growth_per_request_bytes, Some(100.0));
        assert_eq!(s.rss_peak_bytes, Some(20_000));
        assert_eq!(s.rss_end_bytes, Some(5_000));
    }

    #[test]
    fn fail_if_fields_come_from_the_summary() {
        let f = numeric_fields();
        for name in [
            "new_connections_per_request",
            "connections_open_at_exit",
            "rss_growth_per_request_bytes",
            "handshakes_failed",
        ] {
            assert!(f.iter().any(|x| x == name), "{name} in {f:?}");
        }
        assert!(!f.iter().any(|x| x == "command" || x == "schema"));
    }
}
