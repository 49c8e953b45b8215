//! A worker process as the parent sees it: started from the harness's own binary with its
//! role and JSON configuration, read line by line as [`WorkerMsg`]s, asked to stop by closing
//! its stdin, and waited for within `WORKER_GRACE` (ARCHITECTURE.md, "Process model"). Also
//! the parent's Ctrl-C counter. Used by a run's orchestrator and by `harness exec`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
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
    pub(crate) fn spawn(
        exe: &Path,
        role: WorkerRole,
        config: &impl Serialize,
    ) -> std::io::Result<Worker> {
        let config = serde_json::to_string(config).map_err(std::io::Error::other)?;
        let mut child = Command::new(exe)
            .args(["__worker", role.as_str(), &config])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("worker stdout missing"))?;
        let mut err = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("worker stderr missing"))?;
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
            if let Some(m) = parse_line(&line, &mut self.unparsed) {
                return Some(m);
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

/// A worker's stdout line as a message; a line that is not one is counted in `unparsed`.
fn parse_line(line: &str, unparsed: &mut u64) -> Option<WorkerMsg> {
    let m = serde_json::from_str(line).ok();
    if m.is_none() {
        *unparsed += 1;
    }
    m
}

/// How a worker process ended.
pub(crate) struct Exited {
    pub(crate) status: Option<std::process::ExitStatus>,
    pub(crate) stderr: String,
    pub(crate) unparsed: u64,
}

impl Exited {
    /// ` (signal: 9 (SIGKILL))` or ` (exit status: 1): <last stderr line>`.
    pub(crate) fn how(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        let status_text = self
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "killed after the grace period".into());
        let signalled = self.status.is_some_and(|s| s.signal().is_some());
        if signalled || self.stderr.trim().is_empty() {
            format!(" ({status_text})")
        } else {
            format!(" ({status_text}): {}", last_line(&self.stderr))
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

/// The last non-blank line of a process's stderr, or "(no message)".
pub(crate) fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
        .trim()
        .to_string()
}

/// Ctrl-C / SIGTERM counter: the first stops the run gracefully, the second kills workers.
pub(crate) fn interrupts() -> watch::Receiver<u32> {
    let (tx, rx) = watch::channel(0u32);
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            tx.send_modify(|n| *n += 1);
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_are_not_messages_are_counted() {
        let mut unparsed = 0;
        assert!(parse_line("hello from a library", &mut unparsed).is_none());
        assert!(parse_line(
            "{\"type\":\"ready\",\"port\":1,\"fd_limit\":null}",
            &mut unparsed
        )
        .is_some());
        assert!(parse_line("{\"type\":\"nonsense\"}", &mut unparsed).is_none());
        assert_eq!(unparsed, 2);
    }
}
