//! `rustls-bench memory`, rustls's own program, run at the same points under GNU `time -f %M`.

use std::path::Path;
use std::process::Command;

use crate::contract::lockstep::ForeignPoint;
use crate::vocab::tls::TlsVersion;

/// The command line for one point, as rustls's `admin/bench-measure.mk` gives it: the
/// harness's key type, the suite, the session count.
fn argv(bench: &Path, tls: TlsVersion, sessions: u64) -> Vec<String> {
    // The suite the harness's rustls pairs negotiate with its ECDSA P-256 certificate.
    let suite = match tls {
        TlsVersion::V12 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TlsVersion::V13 => "TLS13_AES_256_GCM_SHA384",
    };
    vec![
        bench.display().to_string(),
        "--key-type".into(),
        "ecdsa-p256".into(),
        "memory".into(),
        suite.into(),
        sessions.to_string(),
    ]
}

/// GNU `time`, the tool the published tables were measured with (`time -f %M`). Run from a
/// parent as large as the harness, a program's `ru_maxrss` would include the parent's own
/// peak (the kernel carries it across `exec`); `time` is small, so its child's is its own.
pub const GNU_TIME: &str = "/usr/bin/time";

/// Runs one point under GNU `time` and reads its peak RSS.
pub fn run(bench: &Path, tls: TlsVersion, sessions: u64) -> ForeignPoint {
    let argv = argv(bench, tls, sessions);
    let peak = peak_rss_of(&argv);
    ForeignPoint {
        tls,
        sessions,
        argv,
        peak_rss_bytes: peak.as_ref().ok().copied(),
        error: peak.err(),
    }
}

/// `argv` run to its end under `time -f %M -o FILE`; its peak RSS in bytes, or why not.
fn peak_rss_of(argv: &[String]) -> Result<u64, String> {
    let file = std::env::temp_dir().join(format!("harness-maxrss-{}.txt", std::process::id()));
    let mut cmd = Command::new(GNU_TIME);
    cmd.args(["-f", "%M", "-o"]).arg(&file).args(argv);
    super::output_of(cmd, &format!("{} under {GNU_TIME}", argv[0]))?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()));
    let _ = std::fs::remove_file(&file);
    let text = text?;
    let kib: u64 = text
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("{GNU_TIME} wrote no peak RSS: {text:?}"))?;
    Ok(kib * 1024)
}
