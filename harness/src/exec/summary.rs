//! What `harness exec` publishes: `summary.json` ([`ExecSummary`]), one `timeline.csv` row per
//! sample ([`ExecRow`]) and one `connections.csv` row per connection ([`ConnectionRow`]), and
//! the pure assembly of them from what was observed ([`assemble`]).
//!
//! Every figure is the server's record (the witness) or a `/proc` sample of the command's
//! process tree; what the harness cannot know about a foreign process is `null`
//! (ARCHITECTURE.md, "Checking a program").

use std::collections::BTreeMap;

use crate::contract::exec::{ConnectionRow, ExecRow, ExecSummary, EXEC_SCHEMA};
use crate::contract::summary::ServerSummary;
use crate::contract::wire::{ConnRecord, ServerSample, P50P99};
use crate::exec::verdict;
use crate::vocab::exec::{ExecEnd, ExecMode, HeapTool};
use crate::vocab::handshake::Handshake;

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
        versions: crate::run::methods::versions(),
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
    let mut h = crate::run::load::hist::new_hist();
    for v in values {
        h.saturating_record(v);
    }
    crate::run::load::hist::p50p99(&h)
}

fn server_summary(o: &Observed) -> Option<ServerSummary> {
    let last = o.last_server.as_ref()?;
    Some(crate::run::assemble::server_summary(
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
    use crate::contract::exec::{numeric_fields, TreeSample};
    use crate::vocab::exec::Habit;

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
