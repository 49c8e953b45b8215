//! Pure: the check's `ExecSummary` and its rows, from the witness, the samples and the exit.

use std::collections::BTreeMap;

use crate::contract::exec::{ExecRow, ExecSummary, WorkerEnd, EXEC_SCHEMA};
use crate::contract::wire::{ConnRecord, ServerSample};
use crate::exec::closing::{self, End, LastSample};
use crate::exec::heap::{self, HeapProfiles};
use crate::exec::{sources, verdict};
use crate::run::load::{new_hist, p50p99};
use crate::vocab::exec::{ExecEnd, ExecMode, HeapTool, WitnessRecord};
use crate::vocab::handshake::Handshake;

/// Everything observed in one check, before assembly.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `CLOCK_MONOTONIC` ns when the command started.
    pub start_ns: u64,
    pub end: End,
    pub ended: ExecEnd,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    pub cpu_s: Option<f64>,
    pub rows: Vec<ExecRow>,
    /// The server's record of each connection (`None`: it never arrived, the witness was lost).
    pub conns: Option<Vec<ConnRecord>>,
    pub last_server: Option<ServerSample>,
    pub sampler_cpu_us_total: Option<u64>,
    /// The tree's last `/proc` sample before the end (`None`: no sample found a process).
    pub last_sample: Option<LastSample>,
    /// `--heap valgrind`'s profiles (`None`: no heap tool).
    pub heap: Option<HeapProfiles>,
    pub heap_tool: HeapTool,
    /// How the server worker ended (`None`: it was not waited for).
    pub server_worker: Option<WorkerEnd>,
}

/// The published figures, without provenance, conditions or method (the caller fills them in).
pub fn assemble(o: &Observed) -> ExecSummary {
    let conns = o.conns.as_deref();
    // Every witness figure is counted from the record, or null without it.
    let from_record = |f: &dyn Fn(&[ConnRecord]) -> u64| conns.map(f);
    let count =
        |k: Handshake| from_record(&|c| c.iter().filter(|c| c.handshake == k).count() as u64);
    let requests = from_record(&|c| c.iter().map(|c| c.requests).sum());
    let connections = from_record(&|c| c.len() as u64);
    let [full, resumed, failed] =
        [Handshake::Full, Handshake::Resumed, Handshake::Failed].map(count);
    let open_at_last_request = conns.and_then(closing::open_at_last_request);
    let last = o.last_sample.as_ref();
    let conn_rows = conns.map(|cs| closing::rows(cs, o.start_ns, o.end, last));
    // The same HDR histogram (3 significant digits) as the run's latencies.
    let mut lifetimes = new_hist();
    conns
        .into_iter()
        .flatten()
        .zip(conn_rows.iter().flatten())
        .filter(|(_, r)| !r.open_at_exit)
        .filter_map(|(c, _)| {
            Some((c.closed_ns?.saturating_sub(c.opened_ns) as f64 / 1e6).round() as u64)
        })
        .for_each(|ms| lifetimes.saturating_record(ms));

    let peak = |f: fn(&ExecRow) -> Option<u64>| o.rows.iter().filter_map(f).max();
    let reqs = |r: &ExecRow| r.server.as_ref().map_or(0, |s| s.server_requests);
    let first_req = o.rows.iter().find(|r| reqs(r) > 0);
    let last_row = o.rows.iter().rev().find(|r| r.tree.processes > 0);
    // The first sample that saw every request answered: memory after the last request, before
    // the exit's teardown (a sample taken while a process exits sees its memory half freed).
    let total = o.rows.iter().map(reqs).max().unwrap_or(0);
    let after_last_req = o.rows.iter().find(|r| total > 0 && reqs(r) == total);
    let (growth, growth_per_request) = match (first_req, after_last_req) {
        (Some(a), Some(b)) if b.t_s > a.t_s => {
            let rss = |r: &ExecRow| r.tree.rss_bytes.map(|b| b as i64);
            let g = rss(b).zip(rss(a)).map(|(y, x)| y - x);
            let n = reqs(b).saturating_sub(reqs(a));
            (g, g.and_then(|g| (n > 0).then(|| g as f64 / n as f64)))
        }
        _ => (None, None),
    };
    let heap_sums = o.heap.as_ref().and_then(HeapProfiles::sums);
    let ms_before_end = |t: u64| (o.end.at_ns as f64 - t as f64) / 1e6;

    let mut s = ExecSummary {
        schema: EXEC_SCHEMA,
        mode: ExecMode::Exec,
        command: Vec::new(),
        harness_command: String::new(),
        run_id: String::new(),
        started_at: String::new(),
        versions: crate::run::method_text::versions(),
        method: BTreeMap::new(),
        ended: o.ended,
        exit_code: o.exit_code,
        exit_signal: o.exit_signal,
        elapsed_s: o.end.at_ns.saturating_sub(o.start_ns) as f64 / 1e9,
        heap_tool: o.heap_tool,
        witness: conns.map_or(WitnessRecord::Lost, |_| WitnessRecord::Received),
        server_worker: o.server_worker.clone(),
        unmeasured: BTreeMap::new(),
        requests,
        connections,
        handshakes_full: full,
        handshakes_resumed: resumed,
        handshakes_failed: failed,
        new_connections_per_request: ratio(connections, requests),
        requests_per_connection: ratio(requests, full.zip(resumed).map(|(f, r)| f + r)),
        full_handshakes_per_request: ratio(full, requests),
        connections_open_at_exit: conn_rows
            .as_ref()
            .map(|rs| rs.iter().filter(|r| r.open_at_exit).count() as u64),
        connections_open_at_last_request: open_at_last_request,
        connections_open_at_last_request_per_request: ratio(open_at_last_request, requests),
        last_seen_running_before_end_ms: o.end.running_at_ns.map(ms_before_end),
        last_sample_before_end_ms: last.map(|l| ms_before_end(l.at_ns)),
        connections_open_peak: conns.map(open_peak),
        connection_lifetime_ms: p50p99(&lifetimes),
        habit: None,
        processes_peak: o.rows.iter().map(|r| r.tree.processes).max(),
        rss_peak_bytes: peak(|r| r.tree.rss_bytes),
        pss_peak_bytes: peak(|r| r.tree.pss_bytes),
        rss_first_request_bytes: first_req.and_then(|r| r.tree.rss_bytes),
        rss_end_bytes: last_row.and_then(|r| r.tree.rss_bytes),
        rss_growth_bytes: growth,
        rss_growth_per_request_bytes: growth_per_request,
        open_fds_peak: peak(|r| r.tree.open_fds),
        tcp_to_server_peak: peak(|r| r.tree.tcp_to_server),
        tcp_to_server_last_sample: last_row.and_then(|r| r.tree.tcp_to_server),
        cpu_s: o.cpu_s,
        heap_peaks_summed_bytes: heap_sums.map(|h| h.0),
        heap_at_exits_summed_bytes: heap_sums.map(|h| h.1),
        heap_processes_seen: o.heap.as_ref().map(|h| h.seen),
        heap_profiles_read: o.heap.as_ref().map(|h| h.read),
        heap_breakdown: o
            .heap
            .as_ref()
            .and_then(HeapProfiles::breakdown)
            .map(|b| heap::owners(b, connections, requests)),
        samples: o.rows.len() as u64,
        sampler_cpu_us_total: o.sampler_cpu_us_total,
        server: o.last_server.as_ref().map(|last| {
            let samples = o.rows.iter().filter_map(|r| r.server.as_ref());
            crate::run::assemble::server_summary(samples, last)
        }),
        verdict: Vec::new(),
        conditions: Vec::new(),
    };
    s.habit = verdict::habit(&s);
    s.unmeasured = sources::unmeasured(&s, !o.rows.is_empty(), o.heap.as_ref());
    s.verdict = verdict::sentences(&s);
    s
}

/// `a ÷ b`, a figure only when both were measured and `b` is not 0.
pub(crate) fn ratio(a: Option<u64>, b: Option<u64>) -> Option<f64> {
    a.zip(b.filter(|&b| b > 0))
        .map(|(a, b)| a as f64 / b as f64)
}

/// Most connections open at once, from open/close times.
fn open_peak(conns: &[ConnRecord]) -> u64 {
    let opens = conns.iter().map(|c| (c.opened_ns, 1));
    let closes = conns.iter().filter_map(|c| Some((c.closed_ns?, -1)));
    let mut events: Vec<(u64, i64)> = opens.chain(closes).collect();
    // Closes before opens at the same instant.
    events.sort();
    let (mut open, mut peak) = (0i64, 0i64);
    for (_, d) in events {
        open += d;
        peak = peak.max(open);
    }
    peak as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::exec::{numeric_fields, TreeSample};
    use crate::contract::wire::P50P99;
    use crate::vocab::exec::Habit;

    const MS: u64 = 1_000_000;

    fn conn(open_ms: u64, close_ms: Option<u64>, hs: Handshake, requests: u64) -> ConnRecord {
        ConnRecord {
            peer_port: 40000 + open_ms as u16,
            opened_ns: open_ms * MS,
            closed_ns: close_ms.map(|t| t * MS),
            handshake: hs,
            requests,
            last_request_ns: (requests > 0).then_some(open_ms * MS + 1),
        }
    }

    fn observed(conns: Vec<ConnRecord>) -> Observed {
        Observed {
            start_ns: 0,
            end: End {
                at_ns: 1000 * MS,
                ..End::default()
            },
            conns: Some(conns),
            last_sample: Some(LastSample {
                at_ns: 950 * MS,
                held: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_connection_per_request() {
        let conns = (0..20)
            .map(|i| conn(i * 40, Some(i * 40 + 20), Handshake::Full, 1))
            .collect();
        let s = assemble(&observed(conns));
        assert_eq!(
            (s.requests, s.connections, s.handshakes_full),
            (Some(20), Some(20), Some(20))
        );
        assert_eq!(s.new_connections_per_request, Some(1.0));
        assert_eq!(s.connections_open_at_exit, Some(0));
        assert_eq!(s.connections_open_at_last_request, Some(1));
        assert_eq!(
            s.connections_open_at_last_request_per_request,
            Some(1.0 / 20.0)
        );
        assert_eq!(s.connections_open_peak, Some(1));
        assert_eq!(s.connection_lifetime_ms, Some(P50P99 { p50: 20, p99: 20 }));
        assert_eq!(s.habit, Some(Habit::NewConnectionPerRequest));
        assert_eq!(s.witness, WitnessRecord::Received);
    }

    #[test]
    fn open_at_exit_is_closed_at_exit_or_never() {
        let s = assemble(&observed(vec![
            conn(0, Some(100), Handshake::Full, 5),
            // Seen closing after the last sample (at 950 ms): by the exit or just before.
            conn(10, Some(997), Handshake::Full, 5),
            // Never seen closing.
            conn(20, None, Handshake::Resumed, 5),
        ]));
        assert_eq!(s.connections_open_at_exit, Some(2));
        assert_eq!(s.last_sample_before_end_ms, Some(50.0));
        assert_eq!(s.connections_open_peak, Some(3));
        assert_eq!(s.requests_per_connection, Some(5.0));
        // Every request came before any close: all three were open at the last one.
        assert_eq!(s.connections_open_at_last_request, Some(3));
    }

    /// A connection kept per request and closed by the runtime's teardown: whether the
    /// teardown falls before the tree's last sample (at 950 ms) or after it decides
    /// `connections_open_at_exit`, not `connections_open_at_last_request`.
    #[test]
    fn kept_connections_read_the_same_whichever_way_the_exit_races() {
        let kept = |teardown_ms: u64| {
            assemble(&observed(
                (0..20)
                    .map(|i| conn(i * 40, Some(teardown_ms), Handshake::Full, 1))
                    .collect(),
            ))
        };
        let (early, late) = (kept(940), kept(999));
        assert_eq!(
            (
                early.connections_open_at_exit,
                late.connections_open_at_exit
            ),
            (Some(0), Some(20))
        );
        assert_eq!(early.connections_open_at_last_request, Some(20));
        assert_eq!(late.connections_open_at_last_request, Some(20));
        assert_eq!(late.connections_open_at_last_request_per_request, Some(1.0));
    }

    /// The witness lost (the server worker died, or its record did not parse): every figure
    /// counted from it is null, never the 0 a guard would pass.
    #[test]
    fn a_lost_witness_leaves_every_connection_figure_null() {
        let o = Observed {
            end: End {
                at_ns: 1000 * MS,
                ..End::default()
            },
            conns: None,
            // Its samples still arrived: they are not the record.
            last_server: Some(ServerSample {
                server_requests: 3,
                server_connections: 3,
                ..Default::default()
            }),
            server_worker: Some(WorkerEnd {
                exit_signal: Some(9),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = assemble(&o);
        assert_eq!(s.witness, WitnessRecord::Lost);
        assert_eq!(s.requests, None);
        assert_eq!(s.connections, None);
        assert_eq!(s.handshakes_failed, None);
        assert_eq!(s.connections_open_at_exit, None);
        assert_eq!(s.connections_open_at_last_request, None);
        assert_eq!(s.connections_open_peak, None);
        assert_eq!(s.habit, None);
        for f in [
            "connections_open_at_exit",
            "connections_open_at_last_request",
        ] {
            assert!(
                s.unmeasured[f].contains("witness lost"),
                "{f}: {:?}",
                s.unmeasured
            );
        }
    }

    #[test]
    fn nothing_measured_is_null_not_zero() {
        let s = assemble(&Observed {
            conns: Some(vec![]),
            ..Default::default()
        });
        assert_eq!(
            s.requests,
            Some(0),
            "the record arrived, empty: a measured 0"
        );
        assert_eq!(s.new_connections_per_request, None);
        assert_eq!(s.connections_open_at_last_request, None);
        assert!(
            s.unmeasured["connections_open_at_last_request"].contains("no request"),
            "{:?}",
            s.unmeasured
        );
        assert_eq!(s.habit, None);
        assert_eq!(s.rss_peak_bytes, None);
        assert_eq!(s.rss_growth_per_request_bytes, None);
        assert_eq!(s.heap_peaks_summed_bytes, None);
        assert_eq!(s.tcp_to_server_last_sample, None);
        assert_eq!(s.server, None);
        // Every null numeric figure says why.
        let json = serde_json::to_value(&s).expect("json");
        for f in numeric_fields() {
            if json[&f].is_null() {
                assert!(s.unmeasured.contains_key(&f), "{f} null without a reason");
            }
        }
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
            "connections_open_at_last_request",
            "connections_open_at_last_request_per_request",
            "rss_growth_per_request_bytes",
            "handshakes_failed",
            "heap_peaks_summed_bytes",
        ] {
            assert!(f.iter().any(|x| x == name), "{name} in {f:?}");
        }
        assert!(!f.iter().any(|x| x == "command" || x == "schema"));
    }
}
