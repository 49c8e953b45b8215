//! `instructions-check`: a run's instruction counts against the committed baseline; fails closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use harness::vocab::units::NOT_MEASURED;
use serde_json::Value;

const BASELINE: &str = "benches/baseline/instructions.txt";

/// A count may move by this much, either way, before the check fails, %: a margin over the
/// handshakes' run-to-run spread (their random values), which docs/benchmarks.md gives.
const THRESHOLD_PCT: f64 = 2.0;

/// ... and by at least this many instructions: a small benchmark's count moves by a few
/// hundred with the allocator's state, which the process's environment sets.
const MIN_CHANGE: u64 = 1000;

/// A run's callgrind counts against the committed baseline.
#[derive(Debug, clap::Parser)]
struct Args {
    /// gungraun's `--output-format=json` output: one benchmark summary per line, read for the
    /// callgrind total `Ir`.
    run: PathBuf,
    /// Write the run as the baseline instead (a reviewed refresh: the only way a change passes).
    #[arg(long)]
    write: bool,
    #[arg(long, default_value = BASELINE)]
    baseline: PathBuf,
}

/// One benchmark's count as an input gives it, with the line it is on (for the findings).
#[derive(Debug)]
struct Entry {
    name: String,
    count: u64,
    line: usize,
}

/// The entries of `path`, in input order; `parse` gives `None` for a line that holds none.
fn parse_lines(
    path: &Path,
    parse: impl Fn(&str) -> Result<Option<(String, u64)>, String>,
) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = |why| format!("{}:{}: {why}", path.display(), i + 1);
        if let Some((name, count)) = parse(line).map_err(at)? {
            out.push(Entry {
                name,
                count,
                line: i + 1,
            });
        }
    }
    Ok(out)
}

/// The benchmarks of gungraun's JSON lines, named `function/id`: `request/full_tls13_client`.
fn parse_run(path: &Path) -> Result<Vec<Entry>, String> {
    parse_lines(path, |line| {
        if line.trim().is_empty() {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let field = |key: &str| v[key].as_str().ok_or(format!("no {key}"));
        let ir = v["profiles"][0]["data"]["total"]["metrics"]["Ir"]["values"]["new"]
            .as_u64()
            .ok_or("no callgrind Ir total")?;
        let name = format!("{}/{}", field("function_name")?, field("id")?);
        Ok(Some((name, ir)))
    })
}

/// The benchmarks of the baseline: `name count` per line, `#` comments.
fn parse_baseline(path: &Path) -> Result<Vec<Entry>, String> {
    parse_lines(path, |line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let mut parts = line.split_whitespace();
        let (Some(name), Some(count), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("expected `name count`".into());
        };
        let count = count
            .parse()
            .map_err(|_| "the count is not a whole number")?;
        Ok(Some((name.to_string(), count)))
    })
}

/// `name → count`, and false after printing a finding that makes the input unusable: a name
/// given twice (neither count is taken silently) or a count of 0 (a callgrind toggle that
/// matched no function).
fn index(path: &Path, entries: &[Entry]) -> (BTreeMap<String, u64>, bool) {
    let mut ok = true;
    let mut first_line: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for e in entries {
        let at = format!("{}:{}: `{}`", path.display(), e.line, e.name);
        if let Some(first) = first_line.get(e.name.as_str()) {
            ok = false;
            println!(
                "{at} DUPLICATE: already on line {first}; each benchmark must be measured once"
            );
            continue;
        }
        first_line.insert(&e.name, e.line);
        if e.count == 0 {
            ok = false;
            println!(
                "{at} NOTHING COUNTED: 0 instructions (did the callgrind toggle match no function?)"
            );
        }
        out.insert(e.name.clone(), e.count);
    }
    (out, ok)
}

fn write_baseline(path: &Path, run: &BTreeMap<String, u64>) -> Result<(), String> {
    let mut text = String::from(
        "# Instructions per operation (callgrind Ir), benches/instructions.rs; `name count`.\n\
         # Refresh on purpose only (docs/benchmarks.md, \"Instructions\"): a change here is a change in cost.\n",
    );
    text.extend(run.iter().map(|(name, count)| format!("{name} {count}\n")));
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("instructions-check: {e}");
            ExitCode::from(2)
        }
    }
}

/// What a benchmark's change from `was` to `now` means for the check: `None` when within the
/// threshold, else the finding (a failure either way).
fn change_verdict(was: u64, now: u64) -> Option<&'static str> {
    let moved = now.abs_diff(was);
    let pct = moved as f64 / was.max(1) as f64 * 100.0;
    if now == 0 {
        Some("NOTHING COUNTED")
    } else if pct <= THRESHOLD_PCT || moved < MIN_CHANGE {
        None
    } else if now > was {
        Some("REGRESSION")
    } else {
        Some("DROP: counts less than the baseline; if the operation really got cheaper, refresh it (--write)")
    }
}

/// Ok(true) when the check passes.
fn run() -> Result<bool, String> {
    let args: Args = clap::Parser::parse();
    let (run, baseline) = (&args.run, &args.baseline);
    let entries = parse_run(run)?;
    if entries.is_empty() {
        println!("instructions-check: {} holds no benchmark", run.display());
        return Ok(false);
    }
    let (new, run_ok) = index(run, &entries);
    if args.write {
        // A refresh accepts changes, never a run that measured nothing or measured twice.
        if !run_ok {
            println!("instructions-check: FAILED, baseline not written");
            return Ok(false);
        }
        write_baseline(baseline, &new)?;
        println!(
            "instructions-check: wrote {} benchmarks to {}",
            new.len(),
            baseline.display()
        );
        return Ok(true);
    }
    let (old, baseline_ok) = index(baseline, &parse_baseline(baseline)?);
    let mut ok = run_ok && baseline_ok;
    let na = NOT_MEASURED;
    println!(
        "{:<32} {:>12} {:>12} {:>9}  (fails beyond ±{THRESHOLD_PCT} % and ±{MIN_CHANGE} instructions, or at 0)",
        "benchmark", "baseline", "now", "change"
    );
    for (name, &now) in &new {
        match old.get(name) {
            Some(&was) => {
                let pct = (now as f64 - was as f64) / was.max(1) as f64 * 100.0;
                let verdict = change_verdict(was, now);
                ok &= verdict.is_none();
                let verdict = verdict.map(|v| format!("  {v}")).unwrap_or_default();
                println!("{name:<32} {was:>12} {now:>12} {pct:>+8.3}%{verdict}");
            }
            None => {
                ok = false;
                println!("{name:<32} {na:>12} {now:>12} {na:>9}  NOT IN BASELINE: refresh it");
            }
        }
    }
    for (name, &was) in &old {
        if !new.contains_key(name) {
            ok = false;
            println!("{name:<32} {was:>12} {na:>12} {na:>9}  NOT MEASURED in this run");
        }
    }
    println!("instructions-check: {}", if ok { "ok" } else { "FAILED" });
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_threshold_either_way_passes() {
        assert_eq!(change_verdict(1_000_000, 1_019_000), None);
        assert_eq!(change_verdict(1_000_000, 981_000), None);
        // Small benchmarks: beyond 2 % but under the instruction floor.
        assert_eq!(change_verdict(10_000, 10_900), None);
        assert_eq!(change_verdict(10_000, 9_100), None);
    }

    #[test]
    fn beyond_the_threshold_either_way_fails() {
        assert_eq!(change_verdict(1_000_000, 1_021_000), Some("REGRESSION"));
        let drop = change_verdict(1_000_000, 979_000).expect("a drop fails");
        assert!(drop.starts_with("DROP"), "{drop}");
        assert!(change_verdict(10_000, 8_900).is_some());
    }

    #[test]
    fn zero_fails_whatever_the_baseline() {
        assert_eq!(change_verdict(14_249, 0), Some("NOTHING COUNTED"));
        assert_eq!(change_verdict(0, 0), Some("NOTHING COUNTED"));
    }

    #[test]
    fn duplicates_and_zeros_are_findings() {
        let e = |name: &str, count, line| Entry {
            name: name.into(),
            count,
            line,
        };
        let p = Path::new("in");
        let (m, ok) = index(p, &[e("a/x", 5, 1), e("b/y", 6, 2)]);
        assert!(ok);
        assert_eq!(m.len(), 2);
        let (m, ok) = index(p, &[e("a/x", 5, 1), e("a/x", 7, 2)]);
        assert!(!ok, "a repeated name is a finding");
        assert_eq!(m["a/x"], 5, "the first count is kept, not overwritten");
        let (_, ok) = index(p, &[e("a/x", 0, 1)]);
        assert!(!ok, "a count of 0 is a finding");
    }
}
