//! What a step checks about its request: the whole body on the expected kind of connection, and the
//! tasks a reqwest step waits for.

use std::sync::atomic::Ordering::Relaxed;

use harness::measure::settle;
use harness::tls::connector::{ConnStats, ConnUse};
use harness::tls::session::{Outcome, RequestError, Session};
use hyper::Uri;

use super::fixture::BODY_BYTES;

/// Checks a request succeeded on the expected kind of connection.
pub fn expect_conn(out: Result<Outcome, RequestError>, want: ConnUse, what: &str) {
    let out = expect_body(out, what);
    assert_eq!(
        out.conn,
        Some(want),
        "{what}: the response did not travel on the expected kind of connection"
    );
}

/// Checks a request succeeded with the whole body.
fn expect_body(out: Result<Outcome, RequestError>, what: &str) -> Outcome {
    let out = out.unwrap_or_else(|e| panic!("{what}: request failed: {e}"));
    assert_eq!(out.body_bytes, BODY_BYTES, "{what}: short body");
    out
}

/// The server's counters at one instant: for a client that cannot say which connection a
/// response travelled on (reqwest: `Outcome::conn` is `None`), the server can. Its
/// counters move before the response is written (connection accepted, handshake counted,
/// request counted), so once the client has the response they show what the request did.
/// Valid because the bench thread is the server's only client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerMark {
    conns: u64,
    full: u64,
    resumed: u64,
    requests: u64,
}

impl ServerMark {
    pub fn read(s: &ConnStats) -> Self {
        Self {
            conns: s.opened.load(Relaxed),
            full: s.handshakes_full.load(Relaxed),
            resumed: s.handshakes_resumed.load(Relaxed),
            requests: s.requests.load(Relaxed),
        }
    }

    /// Checks that exactly one request reached the server since `self`, on the expected
    /// kind of connection.
    pub fn expect(self, s: &ConnStats, want: ConnUse, what: &str) {
        let now = Self::read(s);
        let got = (
            now.conns - self.conns,
            now.full - self.full,
            now.resumed - self.resumed,
            now.requests - self.requests,
        );
        let expected = match want {
            ConnUse::NewFull => (1, 1, 0, 1),
            ConnUse::NewResumed => (1, 0, 1, 1),
            ConnUse::Reused => (0, 0, 0, 1),
        };
        assert_eq!(
            got, expected,
            "{what}: server saw (connections, full, resumed, requests) = {got:?}, \
             expected {expected:?} for {want:?}"
        );
    }
}

/// One GET on `session`, checked from the server's side (see [`ServerMark`]).
pub async fn get_checked_by_server(
    session: &Session,
    server: &ConnStats,
    uri: &Uri,
    want: ConnUse,
    what: &str,
) {
    let mark = ServerMark::read(server);
    expect_body(session.get(uri).await, what);
    mark.expect(server, want, what);
}

/// Tasks alive on the current runtime (the client's, on the bench thread): read before a
/// reqwest step so that the step can wait for the tasks it spawned to end
/// ([`settle::tasks`]).
pub fn alive_tasks() -> usize {
    settle::alive_tasks().expect("steps run on the client runtime")
}
