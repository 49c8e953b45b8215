//! The held-connection probe (`held::probe`) under the real counting allocator: what one idle
//! held connection costs each side, TLS and plain TCP. Never timings, only bytes: every
//! figure within ±50 % of what this probe measured when the test was written, what TLS adds
//! at least the receive buffer rustls keeps per connection, and the two sides' plain TCP
//! figures (measured on different threads, by different code paths) equal.
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

/// What this probe measured, per held connection, when the bounds were set (rustls 0.23.46,
/// tokio 1.54.1, debug build, N = 32; three runs agreed to 1 byte, and the same at N = 64 and
/// 256): (version, TLS − TCP client side, TLS − TCP server side).
const MEASURED_TLS_ADDS: [(TlsVersion, f64, f64); 2] = [
    (TlsVersion::V13, 7_094.0, 6_449.0),
    (TlsVersion::V12, 6_742.0, 6_337.0),
];
/// ... and one plain TCP connection, either side, either version (a tokio `TcpStream`).
const MEASURED_TCP: f64 = 296.0;
/// A figure further than this share from the measured one is a change in what a held
/// connection keeps (a buffer added or gone, a connection charged to the wrong side or
/// divided by the wrong count), not noise: repeated runs agree to the byte.
const TOLERANCE: f64 = 0.5;
/// What TLS must add to a held connection on each side, at least, from rustls's code rather
/// than from a run: the 4,096-byte receive buffer it keeps once it has read anything
/// (`DeframerVecBuffer::prepare_read`).
const RECEIVE_BUFFER: f64 = 4_096.0;

fn within(name: &str, got: f64, measured: f64, what: &str) {
    let (lo, hi) = (measured * (1.0 - TOLERANCE), measured * (1.0 + TOLERANCE));
    assert!(
        (lo..=hi).contains(&got),
        "{name}: {got:.0} bytes per held connection, outside [{lo:.0}, {hi:.0}] (measured \
         {measured:.0} ± {:.0} %): {what}",
        TOLERANCE * 100.0
    );
}

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
        figure.unwrap_or_else(|| panic!("{name} not measured: {what}"))
    };
    let tcp_client = measured("tcp_client", held.tcp_client_bytes);
    let tcp_server = measured("tcp_server", held.tcp_server_bytes);
    within("client TCP", tcp_client, MEASURED_TCP, &what);
    within("server TCP", tcp_server, MEASURED_TCP, &what);
    // The same tokio socket on both sides, counted on two threads: equal (to the byte in
    // every run so far; 4 bytes of slack), or one side's count has something of the other's,
    // or of the probe's own, in it, or is divided by another count.
    assert!(
        (tcp_client - tcp_server).abs() <= 4.0,
        "plain TCP: client {tcp_client:.0} vs server {tcp_server:.0} bytes: {what}"
    );
    let (_, client_adds, server_adds) = MEASURED_TLS_ADDS
        .into_iter()
        .find(|(v, _, _)| *v == version)
        .unwrap_or_else(|| panic!("no measured figure for {version:?}"));
    for (side, adds, was) in [
        ("client", held.tls_minus_tcp_client(), client_adds),
        ("server", held.tls_minus_tcp_server(), server_adds),
    ] {
        let adds = adds.unwrap_or_else(|| panic!("{side}: TLS minus TCP not derived: {what}"));
        assert!(
            adds >= RECEIVE_BUFFER,
            "{side}: TLS adds {adds:.0} bytes, less than rustls's {RECEIVE_BUFFER} receive buffer: {what}"
        );
        within(&format!("{side} TLS − TCP"), adds, was, &what);
    }
}

#[test]
fn tls_1_3_held_connection_costs_what_was_measured() {
    check(TlsVersion::V13);
}

#[test]
fn tls_1_2_held_connection_costs_what_was_measured() {
    check(TlsVersion::V12);
}
