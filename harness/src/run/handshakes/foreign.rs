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
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let (peak_rss_bytes, error) = match run_to_end(cmd) {
        Ok(f) if f.ok => (Some(f.peak_rss_bytes), None),
        Ok(f) => (
            None,
            Some(format!("{} failed: {}", argv[0], f.last_error_line)),
        ),
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

/// A child process run to its end.
pub struct Finished {
    /// Exited with status 0.
    pub ok: bool,
    pub stdout: String,
    /// The last line it wrote on stderr, or how it ended.
    pub last_error_line: String,
    /// Its `ru_maxrss` from `wait4`, bytes.
    pub peak_rss_bytes: u64,
}

/// Runs `cmd` (stdin closed, stdout and stderr read) to its end and reads its peak RSS with
/// `wait4`, as GNU `time` does.
pub fn run_to_end(mut cmd: Command) -> Result<Finished, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    // stderr on its own thread, so that neither pipe can fill while the other is read.
    let err_pipe = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut e) = err_pipe {
            let _ = std::io::Read::read_to_string(&mut e, &mut text);
        }
        text
    });
    let mut stdout = String::new();
    if let Some(mut o) = child.stdout.take() {
        std::io::Read::read_to_string(&mut o, &mut stdout).map_err(|e| e.to_string())?;
    }
    let stderr = err_reader.join().unwrap_or_default();
    let mut status = 0;
    // SAFETY: wait4 writes into the zeroed struct and the status we pass; the child is ours
    // and has not been waited for (std's `Child` is dropped without `wait`).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if rc != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let last_error_line = stderr
        .lines()
        .last()
        .map(str::to_string)
        .unwrap_or_else(|| format!("wait status {status}, no message"));
    Ok(Finished {
        ok,
        stdout,
        last_error_line,
        peak_rss_bytes: ru.ru_maxrss as u64 * 1024,
    })
}
