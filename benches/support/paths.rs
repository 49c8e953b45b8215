//! Where things are on disk: cargo's target directory (the persisted bench certificates live
//! under it) and criterion's home (its estimates and `bytes.json`).

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

/// Where criterion writes: `$CRITERION_HOME`, else `<target>/criterion` (criterion's order).
pub(super) fn criterion_home() -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(home) => PathBuf::from(home),
        None => target_dir().join("criterion"),
    }
}

/// Cargo's target directory, found as criterion finds it: `$CARGO_TARGET_DIR`, cargo
/// metadata's `target_directory`, or `target`.
pub(super) fn target_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(find_target_dir).clone()
}

fn find_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let from_metadata = std::env::var_os("CARGO").and_then(|cargo| {
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        Some(PathBuf::from(v.get("target_directory")?.as_str()?))
    });
    from_metadata.unwrap_or_else(|| PathBuf::from("target"))
}
