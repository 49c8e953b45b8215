//! `harness handshakes` end to end, on small N: the lockstep points complete, their
//! `summary.json` keeps its schema, and the figures keep the relations the method implies.
//! Relations, not values: the sizes belong to the benchmark, not to a test.

mod common;

use std::process::Command;

use serde_json::Value;

fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

/// Runs `harness handshakes` with `args` into `tmp`; returns its stdout and summary.
fn run(tmp: &std::path::Path, args: &[&str]) -> (String, Value) {
    let out = harness()
        .arg("handshakes")
        .args(args)
        .arg("--out")
        .arg(tmp.join("reports"))
        .arg("--certs-dir")
        .arg(tmp.join("certs"))
        .output()
        .expect("harness runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "harness handshakes failed: {stderr}");
    let path = tmp.join("reports/handshakes/latest/summary.json");
    let text = std::fs::read_to_string(&path).expect("summary.json written");
    let summary: Value = serde_json::from_str(&text).expect("summary.json is JSON");
    check(&summary);
    (String::from_utf8_lossy(&out.stdout).into_owned(), summary)
}

fn check(summary: &Value) {
    let schema = common::committed_schema("handshakes-summary.schema.json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(summary)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "breaks its schema:\n{}",
        errors.join("\n")
    );
}

/// The TLS 1.3 series of `library` with `kx` and `config`, clients keeping their buffers.
fn series<'a>(s: &'a Value, library: &str, kx: &str, config: &str) -> &'a Value {
    series_at(s, library, "1.3", kx, config, false)
}

fn series_at<'a>(
    s: &'a Value,
    library: &str,
    tls: &str,
    kx: &str,
    config: &str,
    release_buffers: bool,
) -> &'a Value {
    s["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| {
            x["library"] == library
                && x["tls"] == tls
                && x["kx"] == kx
                && x["config"] == config
                && x["release_buffers"] == release_buffers
        })
        .unwrap_or_else(|| panic!("no series {library} {tls} {kx} {config} {release_buffers}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not measured: {v}"))
}

#[test]
fn rustls_points_complete_and_the_figures_keep_their_relations() {
    let tmp = tempfile::tempdir().unwrap();
    let (stdout, s) = run(
        tmp.path(),
        &[
            "--library",
            "rustls",
            "--tls",
            "1.3",
            "--sessions",
            "40,200",
        ],
    );
    for r in s["readings"].as_array().unwrap() {
        let pairs = r["point"]["sessions"].as_u64().unwrap() / 2;
        assert_eq!(r["handshakes_completed"].as_u64(), Some(pairs));
        // The parent read each worker's peak RSS; malloc sees every Rust allocation too.
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);
        assert!(f(&r["malloc_at_rest_bytes"]) >= f(&r["heap_at_rest_bytes"]));
        // Each side's bytes at rest are part of what the connections added.
        let added = f(&r["heap_at_rest_bytes"]) - f(&r["heap_before_bytes"]);
        let sides = f(&r["client_bytes"]) + f(&r["server_bytes"]);
        assert!(
            sides > 0.0 && sides <= added,
            "sides {sides} vs added {added}"
        );
        assert!(f(&r["heap_peak_bytes"]) >= f(&r["heap_at_rest_bytes"]));
    }
    let shared = series(&s, "rustls", "default", "shared");
    let own = series(&s, "rustls", "default", "per-connection");
    assert!(f(&shared["heap_at_rest_slope"]) > 0.0);
    // A config per client (root store, resumption store) costs each client more than a
    // shared one, and the server side does not change.
    assert!(
        f(&own["client_bytes_per_connection"]) > f(&shared["client_bytes_per_connection"]) + 1024.0
    );
    assert_eq!(
        own["server_bytes_per_connection"],
        shared["server_bytes_per_connection"]
    );
    // X25519 alone is measured too, and holds no more at rest than the default groups.
    let x = series(&s, "rustls", "x25519", "shared");
    assert!(f(&x["heap_at_rest_slope"]) <= f(&shared["heap_at_rest_slope"]));
    // No load run under this --out: the per-request rows say why they are empty.
    assert!(s["per_request"].is_null());
    assert!(s["per_request_error"].as_str().unwrap().contains("--run"));
    // summary.json keeps the table as printed.
    let rows = s["reconciliation"].as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| stdout.contains(r["label"].as_str().unwrap())));
    let heap = rows
        .iter()
        .find(|r| {
            r["label"]
                .as_str()
                .unwrap()
                .ends_with("= heap at rest (exact)")
        })
        .unwrap();
    assert_eq!(heap["bytes"], shared["heap_at_rest_slope"]);
    // The table carries every kind of row.
    for row in [
        "published 2024: rustls TLS 1.3",
        "ours, their method: rustls TLS 1.3",
        "= heap at rest (exact)",
        "rustls X25519MLKEM768 − X25519",
        "rustls config per client − shared",
        "idle held connection TLS 1.3",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
}

/// At TLS 1.2 a `ClientConnection` drops its config after the handshake; a per-request
/// client does not, and the per-connection series keeps it as such a client would.
#[test]
fn a_config_per_client_is_counted_at_tls_1_2_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, s) = run(
        tmp.path(),
        &["--library", "rustls", "--tls", "1.2", "--sessions", "20,60"],
    );
    let own = series_at(&s, "rustls", "1.2", "default", "per-connection", false);
    let shared = series_at(&s, "rustls", "1.2", "default", "shared", false);
    assert!(
        f(&own["client_bytes_per_connection"]) > f(&shared["client_bytes_per_connection"]) + 1024.0
    );
}

#[test]
fn a_load_run_puts_fresh_and_leak_b_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example");
    let (stdout, s) = run(
        tmp.path(),
        &[
            "--library",
            "rustls",
            "--tls",
            "1.3",
            "--sessions",
            "20,60",
            "--run",
            example.to_str().unwrap(),
        ],
    );
    let p = &s["per_request"];
    assert!(f(&p["fresh_b"]) > 0.0 && f(&p["leak_b"]) > 0.0);
    assert!(stdout.contains(&format!("fresh b (run {})", p["run_id"].as_str().unwrap())));
}

/// A stand-in for `rustls-bench` that touches 20,000 bytes per session: run under GNU `time`,
/// its peak RSS gives that slope (a program started from the harness directly would carry the
/// harness's own 22 MB peak, and show a slope of 0), and two builds give a difference row.
#[test]
#[cfg_attr(
    not(has_gnu_time),
    ignore = "GNU time is not installed (apt-get install time)"
)]
#[cfg_attr(
    not(has_python_requests),
    ignore = "python3 is not installed (apt-get install python3)"
)]
fn a_foreign_programs_peak_rss_slope_is_read_under_gnu_time() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = |name: &str, per_session: u64| {
        let path = tmp.path().join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nexec python3 -c 'import sys; b = b\"x\" * (int(sys.argv[-1]) * {per_session}); print(len(b))' \"$@\"\n"
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let a = fake("bench-a", 20_000);
    let b = fake("bench-b", 10_000);
    let (stdout, s) = run(
        tmp.path(),
        &[
            "--library",
            "rustls",
            "--tls",
            "1.3",
            "--sessions",
            "20,400",
            "--rustls-bench",
            a.to_str().unwrap(),
            "--rustls-bench",
            b.to_str().unwrap(),
        ],
    );
    let points = s["rustls_bench"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let rss = |prog: &std::path::Path, n: u64| {
        points
            .iter()
            .find(|p| p["argv"][0] == prog.to_str().unwrap() && p["sessions"] == n)
            .map(|p| f(&p["peak_rss_bytes"]))
            .unwrap()
    };
    let slope_a = (rss(&a, 400) - rss(&a, 20)) / 380.0;
    assert!(
        (16_000.0..24_000.0).contains(&slope_a),
        "a program touching 20,000 B per session: {slope_a} B"
    );
    let row = s["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"] == "rustls-bench, first − second build: TLS 1.3")
        .unwrap_or_else(|| panic!("no difference row in:\n{stdout}"));
    assert!((5_000.0..15_000.0).contains(&f(&row["bytes"])), "{row}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--sessions", "100"], "at least two distinct values"),
        (vec!["--sessions", "7,100"], "must be even"),
        (
            vec!["--rustls-bench", "/nonexistent/rustls-bench"],
            "no such file",
        ),
        (vec!["--run", "/nonexistent"], "no summary.json"),
    ] {
        let out = harness()
            .arg("handshakes")
            .args(&args)
            .arg("--out")
            .arg(tmp.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    #[cfg(not(feature = "native-tls"))]
    {
        let out = harness()
            .args(["handshakes", "--library", "openssl"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("native-tls"));
    }
}

/// OpenSSL by the same method: every point completes, and an OpenSSL session holds more at
/// rest than a rustls one (the published relation).
#[cfg(feature = "native-tls")]
#[test]
fn openssl_points_complete_and_hold_more_than_rustls() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, s) = run(tmp.path(), &["--tls", "1.2,1.3", "--sessions", "20,100"]);
    for tls in ["1.2", "1.3"] {
        let of = |lib: &str| {
            f(&series_at(&s, lib, tls, "default", "shared", false)["heap_at_rest_slope"])
        };
        assert!(of("openssl") > of("rustls"), "TLS {tls}");
    }
    assert!(s["versions"]["openssl"]
        .as_str()
        .unwrap()
        .contains("OpenSSL"));
    // native-tls's SSL_MODE_RELEASE_BUFFERS: an idle OpenSSL client holds less.
    let client = |release: bool| {
        f(
            &series_at(&s, "openssl", "1.3", "default", "shared", release)
                ["client_bytes_per_connection"],
        )
    };
    assert!(client(true) < client(false));
}
