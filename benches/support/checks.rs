//! What a step checks about its request: the whole body on the expected kind of connection.

use std::sync::atomic::Ordering::Relaxed;

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

/// The server's (connections, full handshakes, resumed handshakes, requests) now.
fn server_counts(s: &ConnStats) -> [u64; 4] {
    [
        &s.opened,
        &s.handshakes_full,
        &s.handshakes_resumed,
        &s.requests,
    ]
    .map(|c| c.load(Relaxed))
}

/// One GET on `session`, checked from the server's side: for a client that cannot say which
/// connection a response travelled on (reqwest: `Outcome::conn` is `None`), the server can.
/// Its counters move before the response is written, so once the client has the response
/// they show what the request did. Valid because the bench thread is the server's only client.
pub async fn get_checked_by_server(
    session: &Session,
    server: &ConnStats,
    uri: &Uri,
    want: ConnUse,
    what: &str,
) {
    let before = server_counts(server);
    expect_body(session.get(uri).await, what);
    let after = server_counts(server);
    let got: [u64; 4] = std::array::from_fn(|i| after[i] - before[i]);
    let expected = match want {
        ConnUse::NewFull => [1, 1, 0, 1],
        ConnUse::NewResumed => [1, 0, 1, 1],
        ConnUse::Reused => [0, 0, 0, 1],
    };
    assert_eq!(
        got, expected,
        "{what}: server saw (connections, full, resumed, requests) = {got:?}, \
         expected {expected:?} for {want:?}"
    );
}
