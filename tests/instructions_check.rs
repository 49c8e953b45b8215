//! `instructions-check` as CI runs it (`.ci/run`): the real binary on inputs shaped like
//! gungraun's JSON lines, made from the committed baseline, so that each guard is seen failing
//! (exit status 1) on the input it exists for, and passing on the baseline itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/baseline/instructions.txt"
);

/// The committed baseline's `(name, count)` pairs, in its order.
fn baseline() -> Vec<(String, u64)> {
    std::fs::read_to_string(BASELINE)
        .expect("read the committed baseline")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, count) = l.split_once(' ').expect("`name count`");
            (name.to_string(), count.parse().expect("a count"))
        })
        .collect()
}

/// One benchmark as gungraun's `--output-format=json` prints it (the fields the check reads):
/// `function/id` and the callgrind `Ir` total.
fn json_line(name: &str, ir: u64) -> String {
    let (function, id) = name.split_once('/').expect("function/id");
    serde_json::json!({
        "function_name": function,
        "id": id,
        "profiles": [{"data": {"total": {"metrics": {"Ir": {"values": {"new": ir}}}}}}],
    })
    .to_string()
}

fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("instructions_check");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the input");
    path
}

/// A run file holding `entries`.
fn run_file(name: &str, entries: &[(String, u64)]) -> PathBuf {
    let lines: Vec<String> = entries.iter().map(|(n, c)| json_line(n, *c)).collect();
    write(name, &(lines.join("\n") + "\n"))
}

fn check(run: &Path, baseline: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let Output { status, stdout, .. } = Command::new(env!("CARGO_BIN_EXE_instructions-check"))
        .arg(run)
        .arg("--baseline")
        .arg(baseline)
        .args(extra)
        .output()
        .expect("run instructions-check");
    (status.code(), String::from_utf8_lossy(&stdout).into_owned())
}

#[test]
fn the_baseline_itself_passes() {
    let run = run_file("same.jsonl", &baseline());
    let (code, out) = check(&run, Path::new(BASELINE), &[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_benchmark_at_zero_fails() {
    let mut entries = baseline();
    let i = entries
        .iter()
        .position(|(n, _)| n == "request/reused_tls13_client")
        .expect("in the baseline");
    entries[i].1 = 0;
    let run = run_file("zero.jsonl", &entries);
    let (code, out) = check(&run, Path::new(BASELINE), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("`request/reused_tls13_client` NOTHING COUNTED"),
        "{out}"
    );
}

/// The fault the issue names: the counted function renamed (or otherwise no longer matched by
/// `--toggle-collect`) in a build of `benches/instructions.rs`. callgrind then never turns
/// counting on in the toggled benchmarks (`--collect-atstart=no`), so every `request/*` and
/// `mode/*` count is 0 while the `build/*` ones (counted over the whole benchmark function)
/// are unchanged: the check must fail and name each of them, not call them "improved".
#[test]
fn a_toggle_that_matches_nothing_fails() {
    let entries: Vec<(String, u64)> = baseline()
        .into_iter()
        .map(|(n, c)| {
            let toggled = n.starts_with("request/") || n.starts_with("mode/");
            let c = if toggled { 0 } else { c };
            (n, c)
        })
        .collect();
    let run = run_file("toggle.jsonl", &entries);
    let (code, out) = check(&run, Path::new(BASELINE), &[]);
    assert_eq!(code, Some(1), "{out}");
    for (name, count) in &entries {
        let flagged = out.contains(&format!("`{name}` NOTHING COUNTED"));
        assert_eq!(flagged, *count == 0, "{name}: {out}");
    }
}

#[test]
fn a_duplicate_name_fails() {
    let mut entries = baseline();
    let repeated = entries[0].clone();
    entries.push(repeated.clone());
    let run = run_file("dup.jsonl", &entries);
    let (code, out) = check(&run, Path::new(BASELINE), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("`{}` DUPLICATE", repeated.0)),
        "{out}"
    );
}

#[test]
fn a_duplicate_name_in_the_baseline_fails() {
    let entries = baseline();
    let mut text = String::new();
    for (n, c) in entries.iter().chain(entries.first()) {
        text.push_str(&format!("{n} {c}\n"));
    }
    let dup_baseline = write("dup-baseline.txt", &text);
    let run = run_file("for-dup-baseline.jsonl", &entries);
    let (code, out) = check(&run, &dup_baseline, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("DUPLICATE"), "{out}");
}

#[test]
fn a_drop_beyond_the_threshold_fails_unless_written() {
    let mut entries = baseline();
    let i = entries
        .iter()
        .position(|(n, _)| n == "request/full_tls13_client")
        .expect("in the baseline");
    entries[i].1 = entries[i].1 * 9 / 10;
    let run = run_file("drop.jsonl", &entries);
    let (code, out) = check(&run, Path::new(BASELINE), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("DROP"), "{out}");
    // A reviewed refresh accepts it, into a copy of the baseline.
    let copy = write(
        "refreshed.txt",
        &std::fs::read_to_string(BASELINE).expect("baseline"),
    );
    let (code, out) = check(&run, &copy, &["--write"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = check(&run, &copy, &[]);
    assert_eq!(
        code,
        Some(0),
        "the refreshed baseline holds the drop: {out}"
    );
}

#[test]
fn write_refuses_a_zero() {
    let mut entries = baseline();
    entries[0].1 = 0;
    let run = run_file("zero-write.jsonl", &entries);
    let before = std::fs::read_to_string(BASELINE).expect("baseline");
    let copy = write("not-refreshed.txt", &before);
    let (code, out) = check(&run, &copy, &["--write"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        std::fs::read_to_string(&copy).expect("copy"),
        before,
        "not written"
    );
}
