//! The project's CI runs every test. A test that needs an external tool names it in a
//! `#[test_with::executable(…)]` or `#[test_with::file(…)]` attribute, which marks it ignored,
//! naming the tool, where the tool is missing when the test is compiled: cargo reports it as
//! ignored, not passed, and building the harness never depends on these tools. Under the
//! project's CI mode ([`CI_VAR`], set by `.ci/run`) this test fails instead, naming every
//! missing tool, so an ignored test cannot pass CI unseen.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Set by `.ci/run`: the project's own CI, where every test must run. Not `CI`, which every
/// GitHub Actions job sets for whatever it builds.
const CI_VAR: &str = "TLS_SESSION_COST_CI";

/// A tool's attribute names an executable (found on PATH, or a path to one) or a file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Executable(String),
    File(String),
}

/// Every tool named by a `test_with` attribute in this package's integration tests, read from
/// their sources, so the list CI checks is the one the tests declare.
fn needed_by_the_tests() -> BTreeSet<Needs> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut needs = BTreeSet::new();
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for line in text.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix("#[test_with::") else {
                continue;
            };
            let Some((kind, args)) = rest.strip_suffix(")]").and_then(|r| r.split_once('(')) else {
                continue;
            };
            for arg in args.split(',').map(|a| a.trim().to_string()) {
                match kind {
                    "executable" => needs.insert(Needs::Executable(arg)),
                    "file" => needs.insert(Needs::File(arg)),
                    _ => continue,
                };
            }
        }
    }
    needs
}

/// The Python example clients import `requests`, which no attribute can name: `python3` on
/// PATH does not say whether it can import it.
fn python_can_import_requests() -> bool {
    Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The PHP survey clients use PHP's curl extension (Debian's php-curl), which `php` on PATH
/// does not imply.
fn php_has_curl() -> bool {
    Command::new("php")
        .args(["-r", "exit(extension_loaded('curl') ? 0 : 1);"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test_with::env(TLS_SESSION_COST_CI)]
#[test]
fn ci_has_every_tool() {
    // Read at compile time too: cargo then rebuilds this test when the variable is set or
    // cleared, and the attribute above is evaluated again.
    let _ = option_env!("TLS_SESSION_COST_CI");
    let needs = needed_by_the_tests();
    assert!(
        !needs.is_empty(),
        "the scan of the test sources found no `#[test_with::…]` attribute"
    );
    let mut missing: Vec<String> = needs
        .iter()
        .filter_map(|need| match need {
            Needs::Executable(tool) => which::which(tool).is_err().then(|| tool.clone()),
            Needs::File(file) => (!Path::new(file).is_file()).then(|| file.clone()),
        })
        .collect();
    if !python_can_import_requests() {
        missing.push("python3's requests module".into());
    }
    if !php_has_curl() {
        missing.push("php's curl extension (php-curl)".into());
    }
    assert!(
        missing.is_empty(),
        "{CI_VAR} is set, so every test must run, but the tests that need these are ignored: \
         {} (.ci/run installs them)",
        missing.join(", ")
    );
}
