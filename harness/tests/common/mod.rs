//! Checks every integration test applies to the reports it makes: `summary.json` validates
//! against the committed JSON Schema (closed objects: no field the types do not declare) and
//! `timeline.csv` reads back under the published layout (no unknown column).

#![allow(dead_code)] // each test binary uses what it needs

use std::path::Path;

use serde_json::Value;

/// The committed schema of `summary.json`.
pub fn summary_schema() -> Value {
    committed_schema("summary.schema.json")
}

/// A committed schema under `schema/`.
pub fn committed_schema(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schema")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

/// Panics naming every place where `summary` breaks the committed schema.
pub fn check_summary_json(summary: &Value, what: &str) {
    check_against(summary, &summary_schema(), what);
}

/// Panics naming every place where an exec `summary.json` breaks its committed schema.
pub fn check_exec_summary_json(summary: &Value, what: &str) {
    check_against(summary, &committed_schema("exec-summary.schema.json"), what);
}

fn check_against(summary: &Value, schema: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("the committed schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(summary)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: summary.json breaks its committed schema:\n{}",
        errors.join("\n")
    );
}

/// Checks a report directory's `summary.json` and `timeline.csv` against the contract.
pub fn check_report(dir: &Path) {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("summary.json is JSON");
    check_summary_json(&json, &path.display().to_string());
    harness::contract::timeline::read_csv(&dir.join("timeline.csv"))
        .unwrap_or_else(|e| panic!("timeline.csv under the published layout: {e}"));
}

/// Reports and certificates under a temp dir: `--out tmp/reports --certs-dir tmp/certs`.
pub trait ReportsIn {
    fn reports_in(&mut self, tmp: &Path) -> &mut Self;
}

impl ReportsIn for std::process::Command {
    fn reports_in(&mut self, tmp: &Path) -> &mut Self {
        self.arg("--out")
            .arg(tmp.join("reports"))
            .arg("--certs-dir")
            .arg(tmp.join("certs"))
    }
}

/// The harness binary with its report and certificate directories under `tmp`
/// ([`ReportsIn`]), for a run (options may follow; a subcommand may not).
pub fn harness_in(tmp: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_harness"));
    c.reports_in(tmp);
    c
}

/// The report directory a run under `tmp` ([`harness_in`]) wrote last, checked against the
/// contract ([`check_report`]).
pub fn latest_report(tmp: &Path) -> std::path::PathBuf {
    let dir =
        std::fs::canonicalize(tmp.join("reports").join("latest")).expect("reports/latest exists");
    check_report(&dir);
    dir
}
