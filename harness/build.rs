//! Build-time facts: the linked crate versions from `Cargo.lock` and the build profile.

use std::env;
use std::path::{Path, PathBuf};

/// Crates whose versions are recorded, and the env var each goes into.
const RECORDED: [(&str, &str); 7] = [
    ("rustls", "DEP_VERSION_RUSTLS"),
    ("hyper", "DEP_VERSION_HYPER"),
    ("hyper-util", "DEP_VERSION_HYPER_UTIL"),
    ("tokio-rustls", "DEP_VERSION_TOKIO_RUSTLS"),
    ("aws-lc-rs", "DEP_VERSION_AWS_LC_RS"),
    ("reqwest", "DEP_VERSION_REQWEST"),
    ("webpki-roots", "DEP_VERSION_WEBPKI_ROOTS"),
];

fn main() {
    // The workspace's lock, one level above this package.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock_path = manifest
        .parent()
        .unwrap_or(Path::new(".."))
        .join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    match std::fs::read_to_string(&lock_path) {
        Ok(lock) => {
            for (name, var) in RECORDED {
                match version_of(&lock, name) {
                    Ok(version) => println!("cargo::rustc-env={var}={version}"),
                    Err(why) => println!(
                        "cargo::warning={var} not set: {why} in {}",
                        lock_path.display()
                    ),
                }
            }
        }
        Err(e) => println!(
            "cargo::warning=cannot read {}: {e}; no DEP_VERSION_* recorded",
            lock_path.display()
        ),
    }
    // "debug" or "release": whether a summary's timings came from an optimised build.
    match env::var("PROFILE") {
        Ok(p) if !p.is_empty() => println!("cargo::rustc-env=BUILD_PROFILE={p}"),
        _ => {
            println!("cargo::warning=BUILD_PROFILE not set: cargo gave the build script no PROFILE")
        }
    }
}

/// The version of `name` this build links. With one version in the lock, that one; with
/// several, the one the harness package depends on directly (Cargo.lock then names it as
/// `"name version"` among harness's dependencies); otherwise it cannot be told from the lock
/// alone, and is not guessed.
fn version_of<'a>(lock: &'a str, name: &str) -> Result<&'a str, String> {
    let quoted = |line: &'a str, key: &str| {
        let value = line.trim().strip_prefix(key)?.trim().strip_prefix('=')?;
        value.trim().strip_prefix('"')?.strip_suffix('"')
    };
    // Each `[[package]]` entry of the layout cargo writes starts with its name and version.
    let entries: Vec<(&str, &str, &str)> = lock
        .split("[[package]]")
        .filter_map(|entry| {
            let mut lines = entry.lines().filter(|l| !l.trim().is_empty());
            let entry_name = quoted(lines.next()?, "name")?;
            Some((entry_name, quoted(lines.next()?, "version")?, entry))
        })
        .collect();
    let versions: Vec<&str> = entries
        .iter()
        .filter(|(n, ..)| *n == name)
        .map(|(_, v, _)| *v)
        .collect();
    match versions.as_slice() {
        [] => return Err(format!("no package `{name}`")),
        [only] => return Ok(only),
        _ => {}
    }
    let prefix = format!("\"{name} ");
    let direct: Vec<&str> = entries
        .iter()
        .filter(|(n, ..)| *n == "harness")
        .flat_map(|(.., entry)| entry.lines())
        .filter_map(|line| line.trim().strip_prefix(&prefix))
        .filter_map(|rest| rest.split(['"', ' ']).next())
        .collect();
    match direct.as_slice() {
        [v] => Ok(v),
        _ => Err(format!(
            "{} versions of `{name}` ({}), none of them a direct dependency of harness",
            versions.len(),
            versions.join(", ")
        )),
    }
}
