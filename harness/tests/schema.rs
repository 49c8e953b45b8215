//! The published contract: the committed JSON Schemas are the ones the types generate, and
//! the committed example report matches them field for field.
//!
//! After changing a published type, regenerate the schemas with
//! `UPDATE_SCHEMA=1 cargo test -p harness --test schema` and commit `schema/`.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use harness::contract::summary::Summary;
use schemars::JsonSchema;
use serde_json::Value;

/// The JSON Schema of `T` (a published report: `Summary`, `TimelineRow`, `ExecSummary`,
/// `HandshakesSummary`, `SurveySummary`), generated from the types. Every object that lists
/// its properties is closed (`additionalProperties: false`), so a report with a field the types
/// do not declare fails validation: the schema is the published contract, committed in
/// `schema/` and checked against every report the tests write.
pub fn json_schema<T: JsonSchema>() -> Value {
    fn close(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") {
                    m.entry("additionalProperties")
                        .or_insert(Value::Bool(false));
                }
                m.values_mut().for_each(close);
            }
            Value::Array(a) => a.iter_mut().for_each(close),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    close(&mut v);
    v
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether this run rewrites the committed schemas: only `UPDATE_SCHEMA=1` does; unset or any
/// other value (`0` included) compares them.
fn update_requested(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| v == "1")
}

/// Compares a generated schema with its committed file (or rewrites it on request).
fn check_committed(file: &str, generated: Value) {
    let path = repo().join("schema").join(file);
    let text = serde_json::to_string_pretty(&generated).expect("schema text") + "\n";
    if update_requested(std::env::var_os("UPDATE_SCHEMA").as_deref()) {
        std::fs::write(&path, &text).expect("write schema");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SCHEMA=1 writes it)", path.display()));
    assert!(
        committed == text,
        "{} is stale: the types changed; regenerate with UPDATE_SCHEMA=1 cargo test -p harness --test schema",
        path.display()
    );
}

#[test]
fn only_update_schema_1_rewrites_the_schemas() {
    assert!(update_requested(Some(OsStr::new("1"))));
    for other in ["0", "", "true", "yes", "2"] {
        assert!(
            !update_requested(Some(OsStr::new(other))),
            "UPDATE_SCHEMA={other:?} must compare, not rewrite"
        );
    }
    assert!(!update_requested(None));
}

#[test]
fn committed_schemas_match_the_types() {
    check_committed("summary.schema.json", json_schema::<Summary>());
    check_committed(
        "timeline-row.schema.json",
        json_schema::<harness::contract::timeline::TimelineRow>(),
    );
    check_committed(
        "exec-summary.schema.json",
        json_schema::<harness::contract::exec::ExecSummary>(),
    );
    check_committed(
        "handshakes-summary.schema.json",
        json_schema::<harness::contract::lockstep::HandshakesSummary>(),
    );
    check_committed(
        "survey-summary.schema.json",
        json_schema::<harness::contract::survey::SurveySummary>(),
    );
}

/// Every key of `a`, recursively, as a path; arrays by element.
fn keys(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{at}.{k}");
                out.push(p.clone());
                keys(v, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                keys(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_example_report_has_no_field_the_types_do_not_declare() {
    let dir = repo().join("reports/example");
    common::check_report(&dir);
    // The same, without the schema: reading into the types and writing back keeps every key.
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("example summary");
    let original: Value = serde_json::from_str(&text).expect("json");
    let typed: Summary = serde_json::from_value(original.clone()).expect("example parses");
    let again = serde_json::to_value(&typed).expect("re-serialize");
    let (mut before, mut after) = (Vec::new(), Vec::new());
    keys(&original, "", &mut before);
    keys(&again, "", &mut after);
    let unknown: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    assert!(unknown.is_empty(), "fields the types drop: {unknown:?}");
}

#[test]
fn an_unknown_field_breaks_the_schema() {
    let text = std::fs::read_to_string(repo().join("reports/example/summary.json"))
        .expect("example summary");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    v["modes"][0]["requests_okay"] = Value::from(1);
    let schema = common::summary_schema();
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    assert!(
        !validator.is_valid(&v),
        "a misspelt field must not validate"
    );
    let mut w: Value = serde_json::from_str(&text).expect("json");
    w["modes"][0]["late_starts"] = Value::from("many");
    assert!(!validator.is_valid(&w), "a wrong type must not validate");
}
