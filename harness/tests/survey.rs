//! `harness survey` on a small N: each habit's measured figures against what its code does
//! (a client per request opens a connection per request, a shared one reuses its connection, a
//! kept session store resumes, transports kept per request hold connections to the end),
//! a runtime that is missing is a row naming its package, and an unknown runtime is a one-line
//! error. Relations and counts only; no timing is asserted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use harness::survey::habits::{Shape, HABITS};
use serde_json::Value;

/// Enough that one shared connection is at most a tenth of the requests.
const REQUESTS: &str = "10";

fn survey(tmp: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.arg("survey")
        .arg("--out")
        .arg(tmp.join("reports"))
        .arg("--certs-dir")
        .arg(tmp.join("certs"))
        .arg("--examples")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/clients"))
        .arg("--quiet")
        .args(args)
        .stdin(Stdio::null());
    c
}

/// The survey's `summary.json`, from the `report:` line it prints, checked against its schema.
fn summary(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let index = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report line in:\n{stdout}"));
    let dir = PathBuf::from(index)
        .parent()
        .expect("the report's directory")
        .to_path_buf();
    for file in ["summary.json", "table.txt", "index.html", "survey.svg"] {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let v: Value = serde_json::from_str(&text).expect("json");
    let schema = common::committed_schema("survey-summary.schema.json");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "summary.json breaks its schema: {errors:?}"
    );
    v
}

fn shape(row: &Value) -> Shape {
    HABITS
        .iter()
        .find(|h| h.program == row["program"] && h.habit == row["habit"])
        .unwrap_or_else(|| panic!("no habit in the list for {row}"))
        .shape
}

fn f(row: &Value, field: &str) -> f64 {
    row[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not measured in {row}"))
}

#[test_with::executable(go, ruby, php)]
#[test]
fn each_habit_measures_as_its_code_reads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = survey(
        tmp.path(),
        &["--runtime", "go,ruby,php", "--requests", REQUESTS],
    )
    .output()
    .expect("harness runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = summary(&out);
    let rows = v["rows"].as_array().expect("rows");
    assert!(rows.len() >= 9, "go, ruby and php give 9 habits: {v}");
    for row in rows {
        assert_eq!(row["status"], "measured", "{row}");
        let cpr = f(row, "connections_per_request");
        let (full, resumed) = (f(row, "handshakes_full"), f(row, "handshakes_resumed"));
        match shape(row) {
            Shape::PerRequest => {
                assert!(cpr >= 0.9, "a client per request opens one each: {row}");
                assert!(full > resumed, "and does not resume: {row}");
            }
            Shape::Resumed => {
                assert!(cpr >= 0.9, "a connection per request: {row}");
                assert!(resumed > full, "a kept session store resumes: {row}");
            }
            Shape::Shared => assert!(cpr <= 0.1, "a shared client reuses: {row}"),
        }
    }
    let per_request_left_open = |program: &str| {
        let row = rows
            .iter()
            .find(|r| r["program"] == program)
            .unwrap_or_else(|| panic!("no {program} row"));
        f(row, "connections_left_open") / f(row, "requests")
    };
    // Held to the end is decided from the order the server saw, so a runtime's teardown cannot
    // move it: the habits that keep their clients hold about every connection, those that
    // close each one hold at most the last.
    for kept in [
        "go_transport_per_request.go",
        "ruby_net_http_per_request.rb",
    ] {
        let share = per_request_left_open(kept);
        assert!(share >= 0.5, "{kept} keeps its connections: {share}");
    }
    for closed in ["ruby_net_http_start.rb", "php_curl_per_request.php"] {
        let share = per_request_left_open(closed);
        assert!(share <= 0.25, "{closed} closes each connection: {share}");
    }
}

#[test]
fn a_missing_runtime_is_a_row_naming_its_package() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = tmp.path().join("empty-path");
    std::fs::create_dir(&empty).expect("dir");
    let out = survey(tmp.path(), &["--runtime", "go,php"])
        .env("PATH", &empty)
        .output()
        .expect("harness runs");
    assert_eq!(out.status.code(), Some(0));
    let v = summary(&out);
    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 6, "{v}");
    for row in rows {
        assert_eq!(row["status"], "missing", "{row}");
        let package = if row["runtime"] == "go" {
            "golang-go"
        } else {
            "php-cli"
        };
        let verdict = row["verdict"].as_str().expect("verdict");
        assert!(verdict.contains(package), "{row}");
        assert!(row["connections_per_request"].is_null(), "{row}");
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("apt-get install golang-go"), "{table}");
}

#[test]
fn an_unknown_runtime_is_a_one_line_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = survey(tmp.path(), &["--runtime", "go,cobol"])
        .output()
        .expect("harness runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cobol"), "{stderr}");
    assert!(!tmp.path().join("reports").exists(), "nothing is written");
}
