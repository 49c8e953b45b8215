//! `rustls-bench memory`, rustls's own program, run at the same points: its peak RSS read by
//! `wait4` (the `ru_maxrss` GNU `time -f %M` prints), so the published method can be checked
//! against the program that published it, on this machine.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::contract::lockstep::ForeignPoint;
use crate::vocab::tls::TlsVersion;

/// The suite rustls-bench is asked for: the one the harness's rustls pairs negotiate with its
/// ECDSA P-256 certificate (aws-lc-rs's first suite of each version).
fn suite(tls: TlsVersion) -> &'static str {
    match tls {
        TlsVersion::V12 => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TlsVersion::V13 => "TLS13_AES_256_GCM_SHA384",
    }
}

/// The command line for one point: the harness's key type, the suite, the session count.
pub fn argv(bench: &Path, tls: TlsVersion, sessions: u64) -> Vec<String> {
    vec![
        bench.display().to_string(),
        "--key-type".into(),
        "ecdsa-p256".into(),
        "memory".into(),
        suite(tls).into(),
        sessions.to_string(),
    ]
}

/// Runs one point and reads its peak RSS.
pub fn run(bench: &Path, tls: TlsVersion, sessions: u64) -> ForeignPoint {
    let argv = argv(bench, tls, sessions);
    let (peak_rss_bytes, error) = match peak_rss_of(&argv) {
        Ok(b) => (Some(b), None),
        Err(e) => (None, Some(e)),
    };
    ForeignPoint {
        tls,
        sessions,
        argv,
        peak_rss_bytes,
        error,
    }
}

/// Runs `argv` to its end and returns its peak RSS in bytes, or why not.
fn peak_rss_of(argv: &[String]) -> Result<u64, String> {
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 writes into the zeroed struct and the status we pass; the child is ours
    // and not yet waited for (its stderr pipe is read only after it has exited, which is
    // safe for the few lines an error prints).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if rc != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut text = String::new();
        if let Some(mut e) = child.stderr {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        let last = text.lines().last().unwrap_or("").to_string();
        return Err(format!("{} failed (status {status}): {last}", argv[0]));
    }
    Ok(ru.ru_maxrss as u64 * 1024)
}
