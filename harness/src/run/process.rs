//! A worker process as its parent sees it (spawn, messages, stop), and the Ctrl-C counter.

use std::io;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::watch;

use crate::contract::wire::WorkerMsg;
use crate::contract::worker::{ServerWorkerConfig, WorkerRole};

/// How long a worker may take to start listening or to finish after being asked to stop.
pub(crate) const WORKER_GRACE: Duration = Duration::from_secs(40);

/// A worker process with its stdout as JSON lines and its stderr collected.
pub(crate) struct Worker {
    pub(crate) child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    unparsed: u64,
}

impl Worker {
    pub(crate) fn spawn(exe: &Path, role: WorkerRole, config: &impl Serialize) -> io::Result<Self> {
        let config = serde_json::to_string(config).map_err(io::Error::other)?;
        let mut child = Command::new(exe)
            .args(["__worker", role.as_str(), &config])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdout), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("worker stdout or stderr missing"));
        };
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = (&mut err).take(64 * 1024).read_to_string(&mut s).await;
            s
        });
        Ok(Worker {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr,
            unparsed: 0,
        })
    }

    /// Next message; `None` at EOF. Lines that are not messages (a library printing to
    /// stdout) are skipped and counted in `unparsed`, which the summary reports.
    pub(crate) async fn next(&mut self) -> Option<WorkerMsg> {
        loop {
            let line = self.lines.next_line().await.ok().flatten()?;
            match serde_json::from_str(&line) {
                Ok(m) => return Some(m),
                Err(_) => self.unparsed += 1,
            }
        }
    }

    /// Closes stdin: the worker's signal to finish.
    pub(crate) fn ask_stop(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for exit (killing after the grace period) and says how it went.
    pub(crate) async fn finish(mut self) -> Exited {
        self.ask_stop();
        let status = match tokio::time::timeout(WORKER_GRACE, self.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        };
        let stderr = tokio::time::timeout(Duration::from_secs(2), self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Exited {
            status,
            stderr,
            unparsed: self.unparsed,
        }
    }
}

/// How a worker process ended.
pub(crate) struct Exited {
    pub(crate) status: Option<std::process::ExitStatus>,
    pub(crate) stderr: String,
    pub(crate) unparsed: u64,
}

impl Exited {
    /// ` (signal: 9 (SIGKILL))`, ` (signal: 6 (SIGABRT)): <its panic>` or
    /// ` (exit status: 1): <its panic, else its last stderr line>`.
    pub(crate) fn how(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        let status_text = self
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "killed after the grace period".into());
        let signalled = self.status.is_some_and(|s| s.signal().is_some());
        // A signalled worker's last line is seldom about its end; a panic before it is.
        match abort_message(&said(&self.stderr)) {
            Some(panic) => format!(" ({status_text}): {panic}"),
            None if signalled || self.stderr.trim().is_empty() => format!(" ({status_text})"),
            None => format!(" ({status_text}): {}", failure_message(&self.stderr)),
        }
    }
}

/// Starts a server worker and waits for its port (and the fd limit it runs with).
pub(crate) async fn start_server(
    exe: &Path,
    cfg: ServerWorkerConfig,
) -> Result<(Worker, u16, Option<u64>), String> {
    let mut server = Worker::spawn(exe, WorkerRole::Server, &cfg)
        .map_err(|e| format!("cannot start the server worker: {e}"))?;
    match tokio::time::timeout(WORKER_GRACE, server.next()).await {
        Ok(Some(WorkerMsg::Ready { port, fd_limit })) => Ok((server, port, fd_limit)),
        _ => {
            let exited = server.finish().await;
            Err(format!("the server worker did not start{}", exited.how()))
        }
    }
}

/// The next message of an optional worker; pending forever when there is none.
pub(crate) async fn next_of(w: &mut Option<Worker>) -> Option<WorkerMsg> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

/// What a failed process said about its end, on one line: its first panic or allocation
/// failure, else its last line, hints and backtraces left out; "(no message)" if none.
pub(crate) fn failure_message(stderr: &str) -> String {
    let lines = said(stderr);
    let last = lines.iter().rev().find(|l| !l.trim().is_empty());
    abort_message(&lines).unwrap_or_else(|| last.unwrap_or(&"(no message)").trim().to_string())
}

/// `stderr`'s lines without backtraces (the indented frames) and `note:` hints.
fn said(stderr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_trace = false;
    for line in stderr.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("stack backtrace:") {
            in_trace = true;
            continue;
        }
        if in_trace && trimmed.len() < line.len() {
            continue;
        }
        in_trace = false;
        if !trimmed.starts_with("note:") {
            out.push(line);
        }
    }
    out
}

/// The first panic (up to the next thread's output) or allocation failure among `lines`.
fn abort_message(lines: &[&str]) -> Option<String> {
    let is_panic = |l: &str| l.trim_start().starts_with("thread '") && l.contains(" panicked at ");
    let at = lines
        .iter()
        .position(|l| is_panic(l) || l.starts_with("memory allocation of "))?;
    let text: Vec<&str> = std::iter::once(lines[at])
        .chain(
            lines[at + 1..]
                .iter()
                .copied()
                .take_while(|l| is_panic(lines[at]) && !l.trim_start().starts_with("thread '")),
        )
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(text.join(" "))
}

/// How a process ended: `exit status 1`, or `killed by signal 6 (SIGABRT)`.
pub(crate) fn ending(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => format!(
            "killed by {}",
            status
                .to_string()
                .replacen("signal: ", "signal ", 1)
                .trim_end_matches(" (core dumped)")
        ),
    }
}

/// Ctrl-C (SIGINT) and SIGTERM, registered together and up front: a signal that comes before
/// anyone waits finds them installed, not the default disposition.
pub(crate) struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    pub(crate) fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next of the two and says which came.
    pub(crate) async fn next(&mut self) -> SignalKind {
        tokio::select! {
            _ = self.int.recv() => SignalKind::interrupt(),
            _ = self.term.recv() => SignalKind::terminate(),
        }
    }
}

/// Ctrl-C / SIGTERM counter: the first stops the run gracefully, the second kills workers.
pub(crate) fn interrupts() -> watch::Receiver<u32> {
    let (tx, rx) = watch::channel(0u32);
    if let Ok(mut signals) = Signals::install() {
        tokio::spawn(async move {
            loop {
                signals.next().await;
                tx.send_modify(|n| *n += 1);
            }
        });
    }
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn lines_that_are_not_messages_are_counted() {
        let script = r#"echo hello from a library
echo '{"type":"ready","port":1,"fd_limit":null}'
echo '{"type":"nonsense"}'"#;
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh");
        let stdout = child.stdout.take().expect("stdout");
        let mut w = Worker {
            child,
            lines: BufReader::new(stdout).lines(),
            stderr: tokio::spawn(async { String::new() }),
            unparsed: 0,
        };
        assert!(matches!(
            w.next().await,
            Some(WorkerMsg::Ready { port: 1, .. })
        ));
        assert!(w.next().await.is_none());
        assert_eq!(w.unparsed, 2);
    }

    /// Rust's panic output, as a worker prints it before it aborts.
    const PANIC: &str = "\
thread 'main' panicked at harness/src/measure/lockstep/mod.rs:151:23:
capacity overflow
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
";

    #[test]
    fn a_failure_says_the_panic_not_the_note_after_it() {
        assert_eq!(
            failure_message(&format!("a warning first\n{PANIC}")),
            "thread 'main' panicked at harness/src/measure/lockstep/mod.rs:151:23: \
             capacity overflow"
        );
        // With a backtrace, the message still ends where the backtrace starts.
        let traced = "thread 'w' panicked at a.rs:1:2:\nboom\nstack backtrace:\n   0: f\n";
        assert_eq!(
            failure_message(traced),
            "thread 'w' panicked at a.rs:1:2: boom"
        );
        // An allocation that failed, with the backtrace std prints after it.
        let oom = "memory allocation of 53200000000 bytes failed\nstack backtrace:\n   0: \
                   std::alloc::rust_oom\n             at /rustc/library/std/src/alloc.rs:424:5\n\
                   note: Some details are omitted.\n";
        assert_eq!(
            failure_message(oom),
            "memory allocation of 53200000000 bytes failed"
        );
        // Neither: the last line that is not a hint.
        let error = "error: bad configuration\nnote: a hint\n";
        assert_eq!(failure_message(error), "error: bad configuration");
        assert_eq!(failure_message("\n"), "(no message)");
    }

    #[test]
    fn a_process_killed_by_a_signal_is_named_by_it() {
        let status = |cmd: &str| {
            std::process::Command::new("sh")
                .args(["-c", cmd])
                .status()
                .unwrap()
        };
        assert_eq!(
            ending(status("kill -ABRT $$")),
            "killed by signal 6 (SIGABRT)"
        );
        assert_eq!(ending(status("exit 3")), "exit status 3");
        let exited = Exited {
            status: Some(status("kill -ABRT $$")),
            stderr: PANIC.into(),
            unparsed: 0,
        };
        assert!(
            exited.how().ends_with("mod.rs:151:23: capacity overflow"),
            "{}",
            exited.how()
        );
    }
}
