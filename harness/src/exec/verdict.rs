//! The verdict: what the measured figures say about a program's connections, in sentences.

use crate::contract::exec::{ExecSummary, WorkerEnd};
use crate::exec::sources::worker_how;
use crate::vocab::exec::{Habit, HeapTool, WitnessRecord};
use crate::vocab::owner::Owner;
use crate::vocab::units;

/// Requests below which no habit is named: a pool that opens its connections at once looks
/// per request at first, and urllib3's 10 show at most 0.5 per request at 20 (docs/exec.md).
pub const MIN_REQUESTS: u64 = 20;
/// New connections per request at or above which a program is said to connect per request.
pub const PER_REQUEST: f64 = 0.9;
/// Connections open at the last request above which the verdict names them: one is the
/// connection carrying that request, whatever the habit.
pub const KEPT_ABOVE: u64 = 1;
/// Connections open at the last request per request at or above which a program keeps the
/// connections it opens: a pool of P reads P ÷ N, falling with N; keeping every one reads ~1.
pub const KEPT_PER_REQUEST: f64 = 0.5;

/// The habit the figures show (`None`: the witness was lost, or too few requests to judge).
pub fn habit(s: &ExecSummary) -> Option<Habit> {
    if s.requests? < MIN_REQUESTS {
        return None;
    }
    let (full, resumed) = (s.handshakes_full?, s.handshakes_resumed?);
    let established = full + resumed;
    let per_request = s.new_connections_per_request?;
    Some(if established == 1 {
        Habit::OneConnection
    } else if per_request >= PER_REQUEST && resumed * 2 > established {
        Habit::ResumedConnectionPerRequest
    } else if per_request >= PER_REQUEST {
        Habit::NewConnectionPerRequest
    } else {
        Habit::ReusesConnections
    })
}

/// `1 connection`, `2 connections`.
fn plural(v: u64, what: &str) -> String {
    let s = if v == 1 { "" } else { "s" };
    format!("{} {what}{s}", units::count(v))
}

/// The verdict's sentences, from measured (or marked derived) figures: what was observed, as
/// the server cannot tell a client per request from a shared one that keeps no idle connection.
pub fn sentences(s: &ExecSummary) -> Vec<String> {
    let mut out = Vec::new();
    let n = units::count;
    let counts = (s.witness == WitnessRecord::Received).then(|| {
        Some((
            s.requests?,
            s.connections?,
            s.handshakes_full?,
            s.handshakes_resumed?,
            s.handshakes_failed?,
        ))
    });
    let Some((requests, connections, full, resumed, failed)) = counts.flatten() else {
        out.push(format!(
            "The witness was lost: {}, and the server's record of connections never arrived. No connection figure was measured, so there is no verdict on the program and every condition over one fails.",
            worker_how(s.server_worker.as_ref())
        ));
        out.extend(other_sentences(s));
        return out;
    };
    let what = format!(
        "{} on {}, {} full and {} resumed handshakes",
        plural(requests, "request"),
        plural(connections, "connection"),
        n(full),
        n(resumed)
    );
    let ratio = units::opt(s.new_connections_per_request, units::sig3);
    out.push(match s.habit {
        Some(Habit::NewConnectionPerRequest) if full == requests && connections == requests => {
            format!("{what}: a new connection and a full handshake for every request.")
        }
        Some(Habit::NewConnectionPerRequest) => format!(
            "{what}: a new connection for nearly every request ({ratio} per request, derived), most with a full handshake."
        ),
        Some(Habit::ResumedConnectionPerRequest) => format!(
            "{what}: a new connection for nearly every request ({ratio} per request, derived), most of them resumed."
        ),
        Some(Habit::OneConnection) => format!("{what}: every request on one connection."),
        Some(Habit::ReusesConnections) => format!(
            "{what}: connections reused in part ({} requests per connection, derived).",
            units::opt(s.requests_per_connection, units::sig3)
        ),
        None if requests == 0 && connections == 0 => "The command made no connection to the harness's server: no verdict (does it read TLS_SESSION_COST_URL?).".into(),
        None if requests == 0 => format!(
            "The command connected {} times but made no request: no verdict.",
            n(connections)
        ),
        None => format!(
            "{what}: too few requests to judge a habit (it takes at least {MIN_REQUESTS})."
        ),
    });
    if resumed > 0 {
        out.push(resumption(s, resumed, connections));
    }
    if failed > 0 {
        out.push(format!(
            "{} TLS handshakes failed on the server: the command did not accept the harness's certificate (it should trust the CA in SSL_CERT_FILE / TLS_SESSION_COST_CA, or a JVM the trust store in JAVA_TOOL_OPTIONS).",
            n(failed)
        ));
    }
    // Left open: judged by the order of the server's events, which the exit cannot race
    // (`connections_open_at_exit`, which it can, stays a figure).
    let named = |&open: &u64| open > KEPT_ABOVE;
    if let Some(open) = s.connections_open_at_last_request.filter(named) {
        let per = s.connections_open_at_last_request_per_request;
        let seen = format!(
            "{} of {} were still open at the program's last request ({} per request, derived)",
            units::count(open),
            plural(connections, "connection"),
            units::opt(per, units::sig3),
        );
        out.push(if per.is_some_and(|p| p >= KEPT_PER_REQUEST) {
            format!("{seen}: it keeps the connections it opens past their requests. The server had not seen them close before it received that request, so what its runtime closes at exit, whenever that falls, does not change this count.")
        } else {
            format!("{seen}: the server had not seen them close before it received that request.")
        });
    }
    out.extend(other_sentences(s));
    out
}

/// A program whose new connections resumed keeps a session cache of its own; with `--heap
/// valgrind --breakdown`, what rustls's resumption store held, or that none was seen.
fn resumption(s: &ExecSummary, resumed: u64, connections: u64) -> String {
    let mut line = format!(
        "{} of {} resumed a TLS session from an earlier connection: the program resumes from a session cache it keeps.",
        units::count(resumed),
        plural(connections, "connection")
    );
    let bytes = |b: u64| units::bytes(b as f64);
    let owners = s.heap_breakdown.as_deref().unwrap_or_default();
    let held = |o: Owner| owners.iter().find(|e| e.owner == o).map(|e| e.bytes);
    match (&s.heap_breakdown, held(Owner::ResumptionStore)) {
        (Some(_), Some(store)) => {
            let tickets = held(Owner::Tickets).map_or("0 B".into(), |t| {
                format!("{} at the peak, {} at exit", bytes(t.at_peaks), bytes(t.at_exits))
            });
            line.push_str(&format!(
                " What it holds, under valgrind: rustls's resumption store (rustls_resumption_store) {} at the heap peak and {} at exit, the tickets in it (rustls_tickets) {tickets} (summed over the processes).",
                bytes(store.at_peaks),
                bytes(store.at_exits)
            ));
        }
        (Some(_), None) => line.push_str(
            " No rustls resumption store was seen in its heap (rustls_resumption_store 0 B): the cache is another library's (OpenSSL's bytes are counted under openssl) or lives where valgrind does not see it (a JVM's heap; docs/exec.md).",
        ),
        (None, _) if s.heap_tool == HeapTool::Valgrind && s.heap_peaks_summed_bytes.is_some() => {
            line.push_str(" (--breakdown would show what it holds.)")
        }
        (None, _) => {}
    }
    line
}

/// What does not depend on the witness: memory, the heap, the server worker's own end.
fn other_sentences(s: &ExecSummary) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(g), Some(per)) = (s.rss_growth_bytes, s.rss_growth_per_request_bytes) {
        let verb = if g >= 0 { "grew" } else { "shrank" };
        out.push(format!(
            "RSS {verb} {} from its first request to its last ({} per request, derived; peak {}, last sample {}).",
            units::bytes(g.unsigned_abs() as f64),
            units::bytes(per.abs()),
            units::opt_bytes(s.rss_peak_bytes),
            units::opt_bytes(s.rss_end_bytes),
        ));
    }
    if s.heap_tool == HeapTool::Valgrind && s.heap_peaks_summed_bytes.is_none() {
        let why = s
            .unmeasured
            .get("heap_peaks_summed_bytes")
            .map_or("", String::as_str);
        out.push(format!("Heap not measured: {why}."));
    }
    let troubled = |w: &&WorkerEnd| {
        w.lines_unparsed > 0 || w.exit_signal.is_some() || w.exit_code.is_some_and(|c| c != 0)
    };
    let worker = s.server_worker.as_ref().filter(troubled);
    if let Some(w) = worker.filter(|_| s.witness == WitnessRecord::Received) {
        let how = worker_how(Some(w));
        out.push(format!("The server's record arrived, but {how}."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::summary::{assemble, Observed};
    use super::*;
    use crate::contract::exec::WorkerEnd;
    use crate::contract::wire::ConnRecord;
    use crate::vocab::handshake::Handshake;

    fn summary(conns: &[(u64, Handshake, u64)]) -> ExecSummary {
        let recs = conns
            .iter()
            .flat_map(|&(count, hs, requests)| {
                (0..count).map(move |i| ConnRecord {
                    peer_port: 1,
                    opened_ns: 3 * i,
                    closed_ns: Some(3 * i + 2),
                    handshake: hs,
                    requests,
                    last_request_ns: (requests > 0).then_some(3 * i + 1),
                })
            })
            .collect();
        assemble(&Observed {
            end: crate::exec::closing::End {
                at_ns: 1_000_000_000,
                ..Default::default()
            },
            conns: Some(recs),
            ..Default::default()
        })
    }

    #[test]
    fn names_the_habit_by_what_the_server_saw() {
        let fresh = summary(&[(1000, Handshake::Full, 1)]);
        assert_eq!(fresh.habit, Some(Habit::NewConnectionPerRequest));
        assert!(
            fresh.verdict[0].contains("1,000 requests on 1,000 connections"),
            "{:?}",
            fresh.verdict
        );
        assert!(
            fresh.verdict[0].contains("a new connection and a full handshake for every request")
        );
        assert!(!fresh.verdict[0].contains("session"), "{:?}", fresh.verdict);

        let shared = summary(&[(1, Handshake::Full, 1000)]);
        assert_eq!(shared.habit, Some(Habit::OneConnection));
        assert!(shared.verdict[0].contains("every request on one connection"));

        let resumed = summary(&[(1, Handshake::Full, 1), (999, Handshake::Resumed, 1)]);
        assert_eq!(resumed.habit, Some(Habit::ResumedConnectionPerRequest));

        let pooled = summary(&[(10, Handshake::Full, 100)]);
        assert_eq!(pooled.habit, Some(Habit::ReusesConnections));

        // A pool of 10 that opened all its connections for 20 requests is not "per request".
        let warm_pool = summary(&[(10, Handshake::Full, 2)]);
        assert_eq!(warm_pool.habit, Some(Habit::ReusesConnections));
    }

    /// New connections that resume are named as a cache the program keeps, with how many
    /// resumed, and with a breakdown, what rustls's store holds (or that none was seen).
    #[test]
    fn resumed_connections_name_the_cache_the_program_keeps() {
        use crate::contract::exec::{HeapBytes, HeapOwner};
        let mut s = summary(&[(1, Handshake::Full, 1), (29, Handshake::Resumed, 1)]);
        assert_eq!(s.habit, Some(Habit::ResumedConnectionPerRequest));
        let line = |s: &ExecSummary| {
            s.verdict
                .iter()
                .find(|l| l.contains("resumes from a session cache it keeps"))
                .cloned()
                .unwrap_or_else(|| panic!("named: {:?}", s.verdict))
        };
        assert!(
            line(&s).starts_with("29 of 30 connections resumed a TLS session"),
            "{}",
            line(&s)
        );
        assert!(
            !line(&s).contains("under valgrind"),
            "no heap, no bytes claimed"
        );
        let owner = |owner: Owner, at_peaks: u64, at_exits: u64| HeapOwner {
            owner,
            sites: 1,
            bytes: HeapBytes {
                allocated: at_peaks,
                at_peaks,
                at_exits,
            },
            per_connection: None,
            per_request: None,
        };
        s.heap_tool = HeapTool::Valgrind;
        s.heap_breakdown = Some(vec![
            owner(Owner::ResumptionStore, 16_073, 16_073),
            owner(Owner::Tickets, 1_228, 0),
        ]);
        let with = sentences(&s);
        let l = with
            .iter()
            .find(|l| l.contains("resumes from"))
            .expect("named");
        assert!(
            l.contains("rustls_resumption_store) 15.7 KiB at the heap peak and 15.7 KiB at exit")
                && l.contains("(rustls_tickets) 1.2 KiB at the peak, 0 B at exit"),
            "{l}"
        );
        s.heap_breakdown = Some(vec![owner(Owner::OpenSsl, 50_000, 0)]);
        assert!(
            sentences(&s)
                .iter()
                .any(|l| l.contains("No rustls resumption store was seen")),
            "{:?}",
            sentences(&s)
        );
        // Too few requests to name a habit: the resumed connections are still named.
        let few = summary(&[(1, Handshake::Full, 1), (5, Handshake::Resumed, 1)]);
        assert_eq!(few.habit, None);
        assert!(
            line(&few).starts_with("5 of 6 connections resumed"),
            "{}",
            line(&few)
        );
        // No resumed connection, no cache claimed.
        let fresh = summary(&[(30, Handshake::Full, 1)]);
        assert!(
            !fresh.verdict.iter().any(|l| l.contains("cache")),
            "{:?}",
            fresh.verdict
        );
    }

    #[test]
    fn too_few_requests_to_judge() {
        let few = summary(&[(MIN_REQUESTS - 1, Handshake::Full, 1)]);
        assert_eq!(few.habit, None);
        assert!(
            few.verdict[0].contains("too few requests to judge"),
            "{:?}",
            few.verdict
        );
        let enough = summary(&[(MIN_REQUESTS, Handshake::Full, 1)]);
        assert_eq!(enough.habit, Some(Habit::NewConnectionPerRequest));
    }

    #[test]
    fn no_request_no_verdict_and_failed_handshakes_are_named() {
        let none = summary(&[]);
        assert_eq!(none.habit, None);
        assert!(none.verdict[0].contains("no connection"));
        let untrusting = summary(&[(3, Handshake::Failed, 0)]);
        assert_eq!(untrusting.habit, None);
        assert!(
            untrusting
                .verdict
                .iter()
                .any(|l| l.contains("3 TLS handshakes failed")),
            "{:?}",
            untrusting.verdict
        );
    }

    /// A lost witness is named as the cause, not blamed on the program.
    #[test]
    fn a_lost_witness_is_named_not_blamed_on_the_program() {
        let s = assemble(&Observed {
            conns: None,
            server_worker: Some(WorkerEnd {
                exit_signal: Some(9),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(
            s.verdict[0].contains("The witness was lost: the server worker was killed by signal 9"),
            "{:?}",
            s.verdict
        );
        assert!(
            !s.verdict.iter().any(|l| l.contains("TLS_SESSION_COST_URL")),
            "{:?}",
            s.verdict
        );
    }

    /// Kept connections are named from the order of events, whatever the exit's timing said;
    /// a program that closed each one after use, or shared one, is not named as keeping.
    #[test]
    fn connections_kept_to_the_last_request_are_named() {
        // `n` connections 10 ns apart, each with one request 1 ns after it opened.
        let serial = |n: u64, closed_ns: &dyn Fn(u64) -> Option<u64>| -> Vec<ConnRecord> {
            (0..n)
                .map(|i| ConnRecord {
                    peer_port: 1,
                    opened_ns: 10 * i,
                    closed_ns: closed_ns(i),
                    handshake: Handshake::Full,
                    requests: 1,
                    last_request_ns: Some(10 * i + 1),
                })
                .collect()
        };
        let observe = |recs: Vec<ConnRecord>| {
            assemble(&Observed {
                end: crate::exec::closing::End {
                    at_ns: 1_000_000_000,
                    ..Default::default()
                },
                conns: Some(recs),
                ..Default::default()
            })
        };
        let kept = |close_ns: Option<u64>| observe(serial(40, &|_| close_ns));
        // Closed in the runtime's teardown, or never seen closing.
        for s in [kept(Some(999_000_000)), kept(None)] {
            assert_eq!(s.connections_open_at_last_request, Some(40));
            let line = s
                .verdict
                .iter()
                .find(|l| l.contains("still open at the program's last request"))
                .unwrap_or_else(|| panic!("named: {:?}", s.verdict));
            assert!(
                line.starts_with("40 of 40 connections were still open")
                    && line.contains("(1 per request, derived): it keeps the connections"),
                "{line}"
            );
            assert!(
                !s.verdict
                    .iter()
                    .any(|l| l.contains("closed at exit or never")),
                "one account of the kept connections: {:?}",
                s.verdict
            );
        }
        // Two of twenty open at the end (the last connection and the one before it, not yet
        // closed): named, without a habit claimed.
        let mut recs = serial(20, &|i| Some(10 * i + 15));
        recs[19].closed_ns = None;
        let two = observe(recs);
        assert_eq!(two.connections_open_at_last_request, Some(2));
        let line = two
            .verdict
            .iter()
            .find(|l| l.contains("last request"))
            .unwrap_or_else(|| panic!("named: {:?}", two.verdict));
        assert!(
            line.starts_with("2 of 20 connections were still open")
                && line.contains("0.1 per request, derived")
                && !line.contains("keeps"),
            "{line}"
        );
        for s in [
            summary(&[(40, Handshake::Full, 1)]),
            summary(&[(1, Handshake::Full, 40)]),
        ] {
            assert_eq!(s.connections_open_at_last_request, Some(1));
            assert!(
                !s.verdict.iter().any(|l| l.contains("last request")),
                "{:?}",
                s.verdict
            );
        }
    }

    /// The exit's count depends on when the runtime's teardown falls; the verdict leaves it to
    /// the figures (and `connections.csv`) and judges by the order of events.
    #[test]
    fn the_exits_count_is_a_figure_not_a_verdict() {
        use crate::exec::closing::LastSample;
        let s = assemble(&Observed {
            end: crate::exec::closing::End {
                at_ns: 1_000_000_000,
                ..Default::default()
            },
            conns: Some(vec![ConnRecord {
                peer_port: 5,
                opened_ns: 0,
                closed_ns: None,
                handshake: Handshake::Full,
                requests: 1,
                last_request_ns: Some(1),
            }]),
            last_sample: Some(LastSample {
                at_ns: 958_000_000,
                held: Some([5].into_iter().collect()),
            }),
            ..Default::default()
        });
        assert_eq!(s.connections_open_at_exit, Some(1));
        assert_eq!(s.connections_open_at_last_request, Some(1));
        assert!(
            !s.verdict.iter().any(|l| l.contains("closed at exit")),
            "{:?}",
            s.verdict
        );
    }
}
