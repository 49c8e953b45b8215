//! `--client reqwest-native` end to end (reqwest on native-tls, OpenSSL): only in a build with
//! the `native-tls` feature. CI runs this file and `openssl_alloc.rs` with
//! `cargo test -p harness --features native-tls --test native_tls --test openssl_alloc`.

#![cfg(feature = "native-tls")]

mod common;

use common::ReportsIn;

use std::process::Command;

use harness::contract::summary::{ModeSummary, Summary};

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

/// The three clients side by side in one run, all four modes: no request fails, OpenSSL's
/// bytes are counted (a non-zero part of the whole), and a leaked client holds one descriptor
/// per request; a figure is present, or null for the same documented reason as for reqwest.
/// The rustls reqwest client's OpenSSL side effect in this build is measured, not hidden:
/// its builds show OpenSSL bytes, and `method.reqwest_native_tls` says why.
#[test]
fn three_clients_side_by_side() {
    // Slow enough that a debug build of the OpenSSL client (a few hundred ms of CPU per build)
    // keeps the schedule on a loaded 2-core machine.
    const RATE: u64 = 1;
    const SECONDS: u64 = 4;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("reports");
    let output = harness()
        .args([
            "--rate",
            &RATE.to_string(),
            "--seconds",
            &SECONDS.to_string(),
        ])
        .args(["--client", "hyper,reqwest,reqwest-native"])
        .args([
            "--mode",
            "fresh,leak,shared,resume",
            "--sample-interval",
            "500ms",
        ])
        .arg("--quiet")
        .reports_in(tmp.path())
        .output()
        .expect("run harness");
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    common::check_report(&out.join("latest"));
    let summary = Summary::read(&out.join("latest/summary.json")).expect("summary");
    assert_eq!(summary.modes.len(), 12);
    let get = |mode: &str, client: &str| {
        summary
            .modes
            .iter()
            .find(|m| m.mode.as_str() == mode && m.client.as_str() == client)
            .unwrap_or_else(|| panic!("{mode}/{client}"))
    };
    for m in &summary.modes {
        assert_eq!(
            m.load.requests_failed, 0,
            "{}/{}: {:?}",
            m.mode, m.client, m.load.failures_by_kind
        );
        assert_eq!(
            m.load.requests_ok,
            RATE * SECONDS,
            "{}/{}",
            m.mode,
            m.client
        );
        // OpenSSL's part is counted for every client (0 where OpenSSL is never called).
        assert!(
            m.openssl_alloc_bytes_per_request.is_some(),
            "{}/{}",
            m.mode,
            m.client
        );
        assert!(m.load.cores_available.is_some());
    }
    for mode in ["fresh", "leak", "shared", "resume"] {
        let native = get(mode, "reqwest-native");
        let ossl = native.openssl_alloc_bytes_per_request.expect("counted");
        let whole = native.client_alloc_bytes_per_request.expect("counted");
        assert!(
            ossl > 0.0 && ossl <= whole,
            "{mode}: OpenSSL {ossl} of {whole}"
        );
        assert_eq!(
            get(mode, "hyper").openssl_alloc_bytes_per_request,
            Some(0.0)
        );
        // Every figure null for reqwest-native is null for reqwest too: the connections
        // neither client shows the harness, and the retention model that needs a session's
        // TLS state. Nothing else is missing.
        let nulls = |m: &ModeSummary| -> Vec<String> {
            let v = serde_json::to_value(m).expect("json");
            let mut n: Vec<String> = v
                .as_object()
                .expect("object")
                .iter()
                .filter(|(_, v)| v.is_null())
                .map(|(k, _)| k.clone())
                .collect();
            n.sort();
            n
        };
        let rustls_reqwest = get(mode, "reqwest");
        let extra: Vec<String> = nulls(native)
            .into_iter()
            .filter(|k| !nulls(rustls_reqwest).contains(k))
            .collect();
        assert!(
            extra.is_empty(),
            "{mode}: reqwest-native alone has null {extra:?}"
        );
    }
    assert!(
        get("fresh", "reqwest-native")
            .retained_bytes_method
            .is_some()
            || get("fresh", "reqwest-native")
                .retained_bytes_per_session
                .is_some()
    );
    assert!(
        summary.method.contains_key("reqwest_native_tls"),
        "a native-tls build says what it does to the rustls reqwest client"
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("fresh/reqwest: built with --features native-tls"),
        "the table says it where the figures are: {table}"
    );
    assert!(!table.contains("fresh/hyper: built with --features native-tls"));
    let side_effect = get("fresh", "reqwest")
        .openssl_build_alloc_bytes
        .expect("counted");
    assert!(
        side_effect > 0.0,
        "reqwest (rustls) builds parse their CA through OpenSSL in this build"
    );
    let fresh = get("fresh", "reqwest-native")
        .client_alloc_bytes_per_request
        .expect("measured");
    let shared = get("shared", "reqwest-native")
        .client_alloc_bytes_per_request
        .expect("measured");
    assert!(
        fresh > shared,
        "reqwest-native fresh {fresh} vs shared {shared}"
    );
    let leak = get("leak", "reqwest-native");
    let grown = leak.load.open_fds_end.expect("fds") - leak.load.open_fds_start.expect("fds");
    assert_eq!(
        grown, leak.load.requests_ok,
        "leak: one more descriptor per request"
    );
}
