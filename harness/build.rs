//! Records the versions of the TLS/HTTP crates this build links, read from the workspace's
//! Cargo.lock, so every summary.json says exactly what was measured, and the cargo profile.
//! A version that cannot be read is left unset (the code reads these with `option_env!` and
//! writes null) and named in a `cargo:warning`, rather than recorded as a made-up "unknown".

use std::collections::BTreeMap;
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
    versions();
    profile();
}

// ---------------------------------------------------------------------------------------------
// Versions

fn versions() {
    // The workspace's lock, one level above this package.
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock_path = manifest
        .parent()
        .unwrap_or(Path::new(".."))
        .join("Cargo.lock");
    println!("cargo::rerun-if-changed={}", lock_path.display());
    let lock = match std::fs::read_to_string(&lock_path) {
        Ok(text) => text,
        Err(e) => {
            println!(
                "cargo::warning=cannot read {}: {e}; no DEP_VERSION_* recorded",
                lock_path.display()
            );
            return;
        }
    };
    let packages = parse_lock(&lock);
    for (name, var) in RECORDED {
        match version_of(&packages, name) {
            Ok(version) => println!("cargo::rustc-env={var}={version}"),
            Err(why) => println!(
                "cargo::warning={var} not set: {why} in {}",
                lock_path.display()
            ),
        }
    }
}

/// One `[[package]]` of Cargo.lock: its version and its `dependencies` entries (`"name"`, or
/// `"name version"` when the lock holds more than one version of that crate).
struct LockPackage {
    version: String,
    dependencies: Vec<String>,
}

/// Cargo.lock's packages by name (a name may have several versions). A line-based reader of
/// the fixed layout cargo writes, so the build script needs no TOML parser.
fn parse_lock(lock: &str) -> BTreeMap<String, Vec<LockPackage>> {
    let mut out: BTreeMap<String, Vec<LockPackage>> = BTreeMap::new();
    let quoted = |line: &str, key: &str| -> Option<String> {
        let rest = line
            .strip_prefix(key)?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        Some(rest.strip_prefix('"')?.strip_suffix('"')?.to_string())
    };
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut version = None;
        let mut dependencies = Vec::new();
        let mut in_deps = false;
        for line in block.lines().map(str::trim) {
            if in_deps {
                if line.starts_with(']') {
                    in_deps = false;
                } else if let Some(dep) = line.trim_end_matches(',').strip_prefix('"') {
                    dependencies.push(dep.trim_end_matches('"').to_string());
                }
            } else if let Some(v) = quoted(line, "name") {
                name = Some(v);
            } else if let Some(v) = quoted(line, "version") {
                version = Some(v);
            } else if line.starts_with("dependencies") && line.ends_with('[') {
                in_deps = true;
            }
        }
        if let (Some(name), Some(version)) = (name, version) {
            out.entry(name).or_default().push(LockPackage {
                version,
                dependencies,
            });
        }
    }
    out
}

/// The version of `name` this build links. With one version in the lock, that one; with
/// several, the one the harness package depends on directly (Cargo.lock names it as
/// `"name version"`); otherwise it cannot be told from the lock alone, and is not guessed.
fn version_of(packages: &BTreeMap<String, Vec<LockPackage>>, name: &str) -> Result<String, String> {
    let candidates = packages
        .get(name)
        .ok_or_else(|| format!("no package `{name}`"))?;
    if let [only] = candidates.as_slice() {
        return Ok(only.version.clone());
    }
    let prefix = format!("{name} ");
    let direct: Vec<&str> = packages
        .get("harness")
        .into_iter()
        .flatten()
        .flat_map(|p| &p.dependencies)
        .filter_map(|d| d.strip_prefix(&prefix))
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest))
        .collect();
    match direct.as_slice() {
        [v] => Ok((*v).to_string()),
        _ => Err(format!(
            "{} versions of `{name}` ({}), none of them a direct dependency of harness",
            candidates.len(),
            candidates
                .iter()
                .map(|p| p.version.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The cargo profile the harness was built with ("debug" or "release"), so a summary can say
/// whether its timings came from an optimised build.
fn profile() {
    match env::var("PROFILE") {
        Ok(p) if !p.is_empty() => println!("cargo::rustc-env=BUILD_PROFILE={p}"),
        _ => {
            println!("cargo::warning=BUILD_PROFILE not set: cargo gave the build script no PROFILE")
        }
    }
}
