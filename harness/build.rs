//! Build-time facts the harness and its tests need.
//!
//! 1. The versions of the TLS/HTTP crates this build links, read from the workspace's
//!    Cargo.lock, so every summary.json says exactly what was measured. A version that cannot
//!    be read is left unset (the code reads these with `option_env!` and writes null) and
//!    named in a `cargo:warning`, rather than recorded as a made-up "unknown".
//! 2. The external tools some integration tests drive (curl, openssl, Node.js, Python with
//!    `requests`, a JDK: the `harness exec` example clients; valgrind: `--heap valgrind`;
//!    Chromium: the page's layout in a real browser, `tests/page.rs`) and the OS root bundle
//!    `--roots system` loads. Each one found sets a cfg (`has_curl`, `has_openssl`, `has_node`,
//!    `has_python_requests`, `has_jdk`, `has_valgrind`, `has_chromium`, `has_os_roots`); a
//!    test that needs a missing one is marked `#[ignore]` with the reason, so cargo counts it
//!    as ignored instead of passing a test that checked nothing. Under
//!    `CI=true` a missing one fails the build instead: CI must run every test.

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

/// Where distributions put the OS root bundle (the file rustls-native-certs finds through
/// openssl-probe): Debian/Ubuntu first, the one CI uses.
const BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn main() {
    versions();
    profile();
    test_prerequisites();
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

// ---------------------------------------------------------------------------------------------
// Test prerequisites

/// Something an integration test needs from the machine.
struct Prerequisite {
    cfg: &'static str,
    /// How to install it (`apt-get install curl`).
    install: &'static str,
    /// Where it was found, or what is missing (as the warning and the CI error say it).
    found: Result<PathBuf, String>,
    /// Where it would appear when installed.
    appears_in: AppearsIn,
}

enum AppearsIn {
    /// A directory of PATH.
    PathDirs,
    /// The directory of this file.
    DirOf(&'static str),
}

fn test_prerequisites() {
    println!(
        "cargo::rustc-check-cfg=cfg(has_curl, has_openssl, has_os_roots, has_node, has_python_requests, has_jdk, has_valgrind, has_chromium, has_gnu_time)"
    );
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=SSL_CERT_FILE");
    println!("cargo::rerun-if-env-changed=CI");

    let path = env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = env::split_paths(&path).collect();
    let prerequisites = [
        Prerequisite {
            cfg: "has_curl",
            install: "apt-get install curl",
            found: on_path(&dirs, "curl"),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_openssl",
            install: "apt-get install openssl",
            found: on_path(&dirs, "openssl"),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_os_roots",
            install: "apt-get install ca-certificates",
            found: os_bundle(),
            appears_in: AppearsIn::DirOf(BUNDLES[0]),
        },
        Prerequisite {
            cfg: "has_node",
            install: "apt-get install nodejs",
            found: on_path(&dirs, "node"),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_jdk",
            install: "apt-get install default-jdk-headless",
            found: jdk(&dirs),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_valgrind",
            install: "apt-get install valgrind",
            found: on_path(&dirs, "valgrind"),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_gnu_time",
            install: "apt-get install time",
            found: on_path(&[PathBuf::from("/usr/bin")], "time"),
            appears_in: AppearsIn::DirOf("/usr/bin/time"),
        },
        Prerequisite {
            cfg: "has_chromium",
            install: "apt-get install chromium",
            found: on_path(&dirs, "chromium"),
            appears_in: AppearsIn::PathDirs,
        },
        Prerequisite {
            cfg: "has_python_requests",
            install: "python3 -m pip install requests",
            found: python_requests(&dirs),
            appears_in: AppearsIn::PathDirs,
        },
    ];

    let ci = env::var("CI").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let mut watch_path_dirs = false;
    for p in &prerequisites {
        let what = match &p.found {
            Ok(at) => {
                println!("cargo::rustc-cfg={}", p.cfg);
                // Uninstalled later: the file goes, cargo sees it changed and reruns this.
                println!("cargo::rerun-if-changed={}", at.display());
                continue;
            }
            Err(what) => what,
        };
        if ci {
            println!(
                "cargo::error=CI=true: {what}, which harness's integration tests need ({})",
                p.install
            );
            continue;
        }
        println!(
            "cargo::warning={what}: the tests that need it are ignored ({})",
            p.install
        );
        // Installed later: the tests must stop being ignored without a `cargo clean`, so
        // watch where it will appear. Only while something is missing: a fully equipped
        // machine never has these directories scanned.
        match p.appears_in {
            AppearsIn::PathDirs => watch_path_dirs = true,
            AppearsIn::DirOf(file) => watch_nearest_dir(Path::new(file)),
        }
    }
    // A tool installed into a PATH directory changes that directory's mtime.
    if watch_path_dirs {
        for dir in dirs.iter().filter(|d| d.is_absolute() && d.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
}

/// `python3` on PATH, if it can import `requests`.
fn python_requests(dirs: &[PathBuf]) -> Result<PathBuf, String> {
    let python = on_path(dirs, "python3")?;
    let ok = std::process::Command::new(&python)
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(python)
    } else {
        Err(format!("{} cannot import requests", python.display()))
    }
}

/// `java` on PATH, if it belongs to a JDK: `java Client.java` compiles the file in memory
/// with the JDK's compiler module, which a JRE alone lacks, so `javac` is looked for too.
fn jdk(dirs: &[PathBuf]) -> Result<PathBuf, String> {
    let java = on_path(dirs, "java")?;
    on_path(dirs, "javac").map_err(|_| {
        format!(
            "{} is a JRE, not a JDK (no javac on PATH to run a source file)",
            java.display()
        )
    })?;
    Ok(java)
}

/// `tool` as an executable file in one of `dirs` (what a shell's PATH lookup finds).
fn on_path(dirs: &[PathBuf], tool: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    dirs.iter()
        .map(|d| d.join(tool))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| format!("{tool} is not installed (not found on PATH)"))
}

/// The OS root bundle: `SSL_CERT_FILE` when set (rustls-native-certs reads it first; note that
/// cargo itself sets it, to the bundle it probed, when it is unset or names no file), else the
/// first non-empty file of [`BUNDLES`].
fn os_bundle() -> Result<PathBuf, String> {
    let non_empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
    if let Some(file) = env::var_os("SSL_CERT_FILE").filter(|f| !f.is_empty()) {
        let file = PathBuf::from(file);
        return match non_empty(&file) {
            true => Ok(file),
            false => Err(format!(
                "no OS root bundle (SSL_CERT_FILE={} is missing or empty)",
                file.display()
            )),
        };
    }
    BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| non_empty(p))
        .ok_or_else(|| format!("no OS root bundle ({} is missing or empty)", BUNDLES[0]))
}

/// Reruns the build script when the directory that would hold `file` changes (the file is
/// created), watching the nearest one that exists below `/etc` (cargo scans a watched
/// directory recursively: never all of `/etc` or `/`).
fn watch_nearest_dir(file: &Path) {
    let dir = file
        .ancestors()
        .skip(1)
        .take_while(|d| d.components().count() > 2)
        .find(|d| d.is_dir());
    if let Some(dir) = dir {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
}
