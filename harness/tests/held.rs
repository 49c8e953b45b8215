//! The held-connection probe (`held::probe`) under the real counting allocator: what one idle
//! held connection costs each side, TLS and plain TCP. Relations only, never timings: every
//! figure measured and positive, TLS above TCP on both sides, and what TLS adds within bounds
//! set by what rustls really keeps per connection.
//!
//! The counting allocator is per binary, hence this file. The probe charges each side through
//! its own thread's counters, so other tests' threads cannot disturb it.

use harness::contract::probes::HeldConnections;
use harness::measure::alloc::CountingAlloc;
use harness::measure::held;
use harness::tls::config::ClientTls;
use harness::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

/// Connections held at once per side and pass: enough to spread any one-off byte thin, few
/// enough for a fast test in a debug build.
const N: usize = 32;

/// What TLS must add to a held connection, on each side, at least. rustls keeps a 4,096-byte
/// receive buffer per connection once it has read anything (`DeframerVecBuffer::prepare_read`),
/// and the connection's own struct (over 1 KB, boxed here), its handshake deframer's span
/// vector (640 bytes) and its post-handshake state on top: TLS minus TCP measured 7,094 bytes
/// (client) and 6,449 (server) in TLS 1.3, 6,744 and 6,337 in TLS 1.2, the same at N = 64 and
/// 256, so 2,000 is conservative.
const TLS_ADDS_AT_LEAST: f64 = 2_000.0;
/// ... and at most: a sanity bound, well above anything rustls is known to keep per connection
/// (its own published figure is about 27–30 KB per session, jbp.io 2019).
const TLS_ADDS_AT_MOST: f64 = 200_000.0;

fn measure(version: TlsVersion) -> HeldConnections {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = harness::tls::certs::generate(dir.path()).expect("certificates");
    let tls = ClientTls::new(
        version,
        KxChoice::Default,
        RootsChoice::Ca,
        vec![certs.ca.clone()],
        256,
    );
    held::probe(&certs, &tls, N).expect("held-connection probe")
}

fn check(version: TlsVersion) {
    let held = measure(version);
    let what = format!("{version:?}: {held:?}");
    assert_eq!(held.connections, N as u64, "{what}");
    let measured = |name: &str, figure: Option<f64>| -> f64 {
        let bytes = figure.unwrap_or_else(|| panic!("{name} not measured: {what}"));
        assert!(bytes > 0.0, "{name} must be positive: {what}");
        bytes
    };
    let tls_client = measured("tls_client", held.tls_client_bytes);
    let tls_server = measured("tls_server", held.tls_server_bytes);
    let tcp_client = measured("tcp_client", held.tcp_client_bytes);
    let tcp_server = measured("tcp_server", held.tcp_server_bytes);
    assert!(
        tls_client > tcp_client,
        "client: TLS must cost more: {what}"
    );
    assert!(
        tls_server > tcp_server,
        "server: TLS must cost more: {what}"
    );
    for (side, adds) in [
        ("client", held.tls_minus_tcp_client()),
        ("server", held.tls_minus_tcp_server()),
    ] {
        let adds = adds.unwrap_or_else(|| panic!("{side}: TLS minus TCP not derived: {what}"));
        assert!(
            (TLS_ADDS_AT_LEAST..TLS_ADDS_AT_MOST).contains(&adds),
            "{side}: TLS adds {adds:.0} bytes per held connection, outside \
             [{TLS_ADDS_AT_LEAST}, {TLS_ADDS_AT_MOST}): {what}"
        );
    }
}

#[test]
fn tls_1_3_held_connection_costs_more_than_tcp_on_both_sides() {
    check(TlsVersion::V13);
}

#[test]
fn tls_1_2_held_connection_costs_more_than_tcp_on_both_sides() {
    check(TlsVersion::V12);
}
