//! Checks every integration test applies to the reports it makes: `summary.json` validates
//! against the committed JSON Schema (closed objects: no field the types do not declare) and
//! `timeline.csv` reads back under the published layout (no unknown column).

#![allow(dead_code)] // each test binary uses what it needs

use std::path::Path;

use serde_json::Value;

/// The committed schema of `summary.json`.
pub fn summary_schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/summary.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

/// Panics naming every place where `summary` breaks the committed schema.
pub fn check_summary_json(summary: &Value, what: &str) {
    let schema = summary_schema();
    let validator = jsonschema::validator_for(&schema).expect("the committed schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(summary)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: summary.json breaks schema/summary.schema.json:\n{}",
        errors.join("\n")
    );
}

/// Checks a report directory's `summary.json` and `timeline.csv` against the contract.
pub fn check_report(dir: &Path) {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: Value = serde_json::from_str(&text).expect("summary.json is JSON");
    check_summary_json(&json, &path.display().to_string());
    harness::timeline::read_csv(&dir.join("timeline.csv"))
        .unwrap_or_else(|e| panic!("timeline.csv under the published layout: {e}"));
}
