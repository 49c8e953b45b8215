//! The verdict of `harness exec`: what the measured figures say about a program's use of TLS
//! sessions, in sentences that quote those figures and nothing else.

use crate::contract::exec::ExecSummary;
use crate::vocab::exec::{ExecEnd, Habit};
use crate::vocab::units;

/// A request count at or above which a ratio is worth a verdict.
const MIN_REQUESTS: u64 = 2;
/// New connections per request at or above which a program is said to connect per request.
const PER_REQUEST: f64 = 0.9;

/// The habit the figures show (`None`: too few requests to say).
pub fn habit(s: &ExecSummary) -> Option<Habit> {
    if s.requests < MIN_REQUESTS {
        return None;
    }
    let established = s.handshakes_full + s.handshakes_resumed;
    let per_request = s.new_connections_per_request?;
    Some(if established == 1 {
        Habit::SharesSession
    } else if per_request >= PER_REQUEST && s.handshakes_resumed * 2 > established {
        Habit::ResumesSession
    } else if per_request >= PER_REQUEST {
        Habit::SessionPerRequest
    } else {
        Habit::ReusesConnections
    })
}

/// `1 connection`, `2 connections`.
fn plural(v: u64, what: &str) -> String {
    let s = if v == 1 { "" } else { "s" };
    format!("{} {what}{s}", units::count(v))
}

/// The verdict's sentences, each built from measured (or marked derived) figures.
pub fn sentences(s: &ExecSummary) -> Vec<String> {
    let mut out = Vec::new();
    let n = units::count;
    let what = format!(
        "{} on {}, {} full and {} resumed handshakes",
        plural(s.requests, "request"),
        plural(s.connections, "connection"),
        n(s.handshakes_full),
        n(s.handshakes_resumed)
    );
    match s.habit {
        Some(Habit::SessionPerRequest) => out.push(format!(
            "{what}: this program opens a new TLS session for every request."
        )),
        Some(Habit::ResumesSession) => out.push(format!(
            "{what}: new connections, but it resumes its session."
        )),
        Some(Habit::SharesSession) => out.push(format!(
            "{what}: it shares its session (one connection for every request)."
        )),
        Some(Habit::ReusesConnections) => out.push(format!(
            "{what}: it reuses connections in part ({} requests per connection, derived).",
            units::opt(s.requests_per_connection, units::sig3)
        )),
        None if s.requests == 0 && s.connections == 0 => out.push(
            "The command made no connection to the harness's server: no verdict (does it read TLS_SESSION_COST_URL?)."
                .into(),
        ),
        None if s.requests == 0 => out.push(format!(
            "The command connected {} times but made no request: no verdict.",
            n(s.connections)
        )),
        None => out.push(format!("{what}: too few requests for a verdict.")),
    }
    if s.handshakes_failed > 0 {
        out.push(format!(
            "{} TLS handshakes failed on the server: the command did not accept the harness's certificate (it should trust the CA in SSL_CERT_FILE / TLS_SESSION_COST_CA).",
            n(s.handshakes_failed)
        ));
    }
    if s.connections_open_at_exit > 0 {
        let when = match s.ended {
            ExecEnd::Exited => "when the program exited",
            _ => "when the program was stopped",
        };
        out.push(format!(
            "{} still open {when} (sessions or pools it never closed).",
            plural(s.connections_open_at_exit, "connection")
                + if s.connections_open_at_exit == 1 {
                    " was"
                } else {
                    " were"
                }
        ));
    }
    if let (Some(g), Some(per)) = (s.rss_growth_bytes, s.rss_growth_per_request_bytes) {
        let verb = if g >= 0 { "grew" } else { "shrank" };
        out.push(format!(
            "RSS {verb} {} from its first request to its last ({} per request, derived; peak {}, last sample {}).",
            units::bytes(g.unsigned_abs() as f64),
            units::bytes(per.abs()),
            units::opt(s.rss_peak_bytes.map(|b| b as f64), units::bytes),
            units::opt(s.rss_end_bytes.map(|b| b as f64), units::bytes),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::summary::{assemble, Observed};
    use super::*;
    use crate::contract::wire::ConnRecord;
    use crate::vocab::handshake::Handshake;

    fn summary(conns: &[(u64, Handshake, u64)]) -> ExecSummary {
        let recs = conns
            .iter()
            .flat_map(|&(count, hs, requests)| {
                (0..count).map(move |i| ConnRecord {
                    peer_port: 1,
                    opened_ns: i,
                    closed_ns: Some(i + 1),
                    handshake: hs,
                    requests,
                })
            })
            .collect();
        assemble(&Observed {
            end_ns: 1_000_000_000,
            conns: Some(recs),
            ..Default::default()
        })
    }

    #[test]
    fn names_the_habit_from_the_connections() {
        let fresh = summary(&[(1000, Handshake::Full, 1)]);
        assert_eq!(fresh.habit, Some(Habit::SessionPerRequest));
        assert!(
            fresh.verdict[0].contains("1,000 requests on 1,000 connections"),
            "{:?}",
            fresh.verdict
        );
        assert!(fresh.verdict[0].contains("new TLS session for every request"));

        let shared = summary(&[(1, Handshake::Full, 1000)]);
        assert_eq!(shared.habit, Some(Habit::SharesSession));
        assert!(shared.verdict[0].contains("shares its session"));

        let resumed = summary(&[(1, Handshake::Full, 1), (999, Handshake::Resumed, 1)]);
        assert_eq!(resumed.habit, Some(Habit::ResumesSession));

        let pooled = summary(&[(10, Handshake::Full, 100)]);
        assert_eq!(pooled.habit, Some(Habit::ReusesConnections));
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
}
