//! Records the versions of the TLS/HTTP crates this build links, from Cargo.lock, so every
//! summary.json says exactly what was measured.
fn main() {
    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    for (name, var) in [
        ("rustls", "DEP_VERSION_RUSTLS"),
        ("hyper", "DEP_VERSION_HYPER"),
        ("hyper-util", "DEP_VERSION_HYPER_UTIL"),
        ("tokio-rustls", "DEP_VERSION_TOKIO_RUSTLS"),
        ("aws-lc-rs", "DEP_VERSION_AWS_LC_RS"),
    ] {
        let needle = format!("name = \"{name}\"\nversion = \"");
        let version = lock
            .find(&needle)
            .and_then(|i| lock[i + needle.len()..].split('"').next())
            .unwrap_or("unknown");
        println!("cargo:rustc-env={var}={version}");
    }
    println!("cargo:rerun-if-changed=../Cargo.lock");
}
