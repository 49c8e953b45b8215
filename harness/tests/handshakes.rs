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

/// A row's figure as the terminal prints it.
fn printed(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "n/a".into(), harness::vocab::units::bytes)
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
        // The peak is the worker's own, read last: at least what it held at rest.
        assert!(f(&r["peak_rss_bytes"]) >= f(&r["rss_at_rest_bytes"]), "{r}");
        // malloc sees every Rust allocation too.
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
    // summary.json keeps the table as printed: each row's label and its figure on one line.
    let rows = s["reconciliation"].as_array().unwrap();
    for r in rows {
        let label = r["label"].as_str().unwrap();
        let figure = printed(&r["bytes"]);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(label) && l[label.len()..].trim_start().starts_with(&figure)),
            "no line {label:?} … {figure:?} in:\n{stdout}"
        );
    }
    // Each side's bytes, dropped apart, against the heap at rest measured as one: within the
    // tolerance, or the difference is its own row.
    let sides = (f(&shared["client_bytes_per_connection"])
        + f(&shared["server_bytes_per_connection"]))
        / 2.0;
    let rest = f(&shared["heap_at_rest_slope"]);
    let gap = rows.iter().find(|r| {
        r["label"]
            .as_str()
            .unwrap()
            .starts_with("  rustls TLS 1.3:   not attributed")
    });
    if (rest - sides).abs() > 0.02 * rest {
        let gap = gap.unwrap_or_else(|| panic!("sides {sides} vs rest {rest}, no row:\n{stdout}"));
        assert!((f(&gap["bytes"]) - (rest - sides)).abs() < 1e-6, "{gap}");
    } else {
        assert!(
            gap.is_none(),
            "sides {sides} within 2 % of {rest}, yet {gap:?}"
        );
    }
    // The table carries every kind of row.
    for row in [
        "published 2024: rustls TLS 1.3",
        "ours, their method: rustls TLS 1.3",
        "= heap at rest (exact)",
        "rustls default groups − X25519 alone",
        "rustls config per client − shared",
        "idle held connection TLS 1.3",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
}

/// Each side's bytes are what dropping its connections gave back, the connections' own
/// structs included, so together they are what the heap at rest grows by per session. Both
/// N are past the point where the server's session store (256 entries) is full, which
/// outlives the connections.
#[test]
fn the_two_sides_add_up_to_the_heap_at_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, s) = run(
        tmp.path(),
        &[
            "--library",
            "rustls",
            "--tls",
            "1.2,1.3",
            "--sessions",
            "600,1000",
        ],
    );
    for tls in ["1.2", "1.3"] {
        let x = series_at(&s, "rustls", tls, "default", "shared", false);
        let sides =
            (f(&x["client_bytes_per_connection"]) + f(&x["server_bytes_per_connection"])) / 2.0;
        let slope = f(&x["heap_at_rest_slope"]);
        assert!(
            (sides - slope).abs() <= 0.02 * slope,
            "TLS {tls}: (client + server) / 2 = {sides:.0} B, heap at rest {slope:.0} B per session"
        );
    }
}

/// A point too large for this machine is refused before any worker runs (no certificates
/// made, no progress line), naming the largest N that fits.
#[test]
fn a_point_that_cannot_fit_is_refused_before_any_worker_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let out = harness()
        .args(["handshakes", "--sessions", "100,100000000"])
        .arg("--out")
        .arg(tmp.path().join("reports"))
        .arg("--certs-dir")
        .arg(&certs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let largest: u64 = err
        .split("the largest N that fits is ")
        .nth(1)
        .unwrap_or_else(|| panic!("no largest N in: {err}"))
        .trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {err}"));
    assert!((2..100_000_000).contains(&largest), "{err}");
    assert!(!certs.exists(), "a worker's setup ran: {err}");
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
    assert!(
        stdout.contains(&format!("load run: {} (--run)", example.display())),
        "{stdout}"
    );
}

/// A load run whose leak leg was rate-bound: its b is refused, the row is null with the
/// leg's own reason. Chosen by default (no --run), the report names the run it took.
#[test]
fn a_rate_bound_leg_gives_a_null_row_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/example");
    let text = std::fs::read_to_string(example.join("summary.json")).unwrap();
    let mut load: Value = serde_json::from_str(&text).unwrap();
    let reason = "rate-bound: could not keep --rate 100: 256 of 1,000 planned requests started";
    for m in load["modes"].as_array_mut().unwrap() {
        if m["mode"] == "leak" && m["client"] == "hyper" {
            m["rate_bound"] = reason.into();
            m["per_session_unsound"] = reason.into();
        }
    }
    let id = load["run_id"].as_str().unwrap().to_string();
    let dir = tmp.path().join("reports").join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("summary.json"), load.to_string()).unwrap();
    std::os::unix::fs::symlink(&id, tmp.path().join("reports/latest")).unwrap();
    let (stdout, s) = run(
        tmp.path(),
        &["--library", "rustls", "--tls", "1.3", "--sessions", "20,60"],
    );
    let latest = tmp.path().join("reports/latest");
    assert!(
        stdout.contains(&format!("load run: {} -> {id} (default)", latest.display())),
        "{stdout}"
    );
    let p = &s["per_request"];
    assert!(p["leak_b"].is_null(), "{p}");
    assert!(f(&p["fresh_b"]) > 0.0);
    let row = s["reconciliation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"].as_str().unwrap().starts_with("leak b ("))
        .unwrap_or_else(|| panic!("no leak b row in:\n{stdout}"));
    assert!(row["bytes"].is_null(), "{row}");
    assert!(row["how"].as_str().unwrap().contains(reason), "{row}");
}

/// A stand-in for `rustls-bench` that touches 20,000 bytes per session: run under GNU `time`,
/// its peak RSS gives that slope (a program started from the harness directly would carry the
/// harness's own 22 MB peak, and show a slope of 0), and two builds give a difference row.
#[test_with::executable(/usr/bin/time, python3)]
#[test]
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
        // OpenSSL's server keeps nothing past its connections: the sides are the heap.
        let x = series_at(&s, "openssl", tls, "default", "shared", false);
        let sides =
            (f(&x["client_bytes_per_connection"]) + f(&x["server_bytes_per_connection"])) / 2.0;
        let slope = f(&x["heap_at_rest_slope"]);
        assert!(
            (sides - slope).abs() <= 0.02 * slope,
            "TLS {tls}: (client + server) / 2 = {sides:.0} B, heap at rest {slope:.0} B"
        );
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

/// The figures of one `(number, unit)` kind in `text`: `9.56 KiB`, `-23 KiB`, `222 B`.
fn figures(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for unit in [" KiB", " MiB", " B"] {
        for (at, _) in text.match_indices(unit) {
            let after = text[at + unit.len()..].chars().next();
            if after.is_some_and(char::is_alphanumeric) {
                continue;
            }
            let before = &text[..at];
            let start = before
                .char_indices()
                .rev()
                .take_while(|&(_, c)| c.is_ascii_digit() || c == '.' || c == ',' || c == '-')
                .last()
                .map(|(i, _)| i);
            if let Some(i) = start {
                let number = before[i..].trim_start_matches(',');
                if number.chars().any(|c| c.is_ascii_digit()) {
                    out.push(format!("{number}{unit}"));
                }
            }
        }
    }
    out
}

/// docs/handshakes.md quotes the committed real output (docs/handshakes-output.txt): its
/// output block is that file, and every figure in the prose marked as read from it appears
/// in it verbatim. The 2024 rustls figure is quoted the one way the tool prints it, with its
/// span, in every doc that quotes it.
#[test]
fn the_docs_quote_the_committed_output() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let output = read("docs/handshakes-output.txt");
    let doc = read("docs/handshakes.md");
    assert!(
        doc.contains(&output),
        "docs/handshakes.md lacks the committed output block"
    );
    let (open, close) = (
        "<!-- figures from docs/handshakes-output.txt -->",
        "<!-- end of figures -->",
    );
    let mut checked = 0;
    for part in doc.split(open).skip(1) {
        let prose = part.split(close).next().unwrap();
        for fig in figures(prose) {
            assert!(
                output.contains(&fig),
                "docs/handshakes.md quotes {fig:?}, not in docs/handshakes-output.txt"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} figures checked");
    let line = output
        .lines()
        .find(|l| l.starts_with("published 2024: rustls TLS 1.3"))
        .expect("the 2024 rustls row");
    let rest = line["published 2024: rustls TLS 1.3".len()..].trim_start();
    let figure = rest.split("   ").next().unwrap();
    let span = rest
        .split("peak RSS slope ")
        .nth(1)
        .map(|t| t.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .unwrap();
    assert!(span.starts_with("N "), "{span}");
    let quoted = format!("{figure} ({span})");
    for d in [
        "README.md",
        "docs/handshakes.md",
        "docs/openssl.md",
        "docs/breakdown.md",
    ] {
        let text = read(d);
        assert!(text.contains(&quoted), "{d} does not quote {quoted:?}");
        for other in [
            "12.1 KiB",
            "12.2 KB per",
            "12.2 KB for",
            "12.2 KB vs",
            "12.2 KB.",
        ] {
            assert!(
                !text.contains(other),
                "{d} quotes {other:?}, not {quoted:?}"
            );
        }
    }
}

/// The committed summary renders as the committed output (less the `wrote …` line main
/// prints), and its reconciliation rows are what the rows' code computes from its readings:
/// a change to the report code that moves a byte of either shows here.
#[test]
fn the_committed_summary_renders_as_the_committed_output() {
    use harness::contract::lockstep::HandshakesSummary;
    use harness::report::handshakes::{reconciliation, render};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let summary: HandshakesSummary =
        serde_json::from_str(&read("docs/handshakes-summary.json")).expect("summary");
    let output = read("docs/handshakes-output.txt");
    let (printed, wrote) = output.rsplit_once("wrote ").expect("a `wrote` line");
    assert!(wrote.ends_with("summary.json\n"), "{wrote}");
    assert_eq!(reconciliation(&summary), summary.reconciliation);
    assert_eq!(render(&summary), printed);
}
