//! `harness exec -- CMD`: check a program no one here wrote, in any language, without
//! changing its code (ARCHITECTURE.md, "Checking a program").
//!
//! The harness starts its server in a worker (as a run does, keeping a record of every
//! connection: the witness), runs the command with the server's URL and CA in its
//! environment, samples the command's process tree from `/proc`, and when the command ends
//! (or `--duration` passes, or Ctrl-C) it stops the server, takes its record and writes the
//! same kind of report as a run: `summary.json`, `timeline.csv`, `connections.csv`, charts
//! and `index.html`, with a verdict and the `--fail-if` conditions.

pub mod closing;
pub mod condition;
pub mod env;
pub mod heap;
pub mod owners;
mod progress;
pub mod report;
pub mod sources;
pub mod summary;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::contract::exec::{ExecRow, ExecSummary, WorkerEnd};
use crate::contract::plan::ServerPlan;
use crate::contract::wire::{ServerSample, WorkerMsg};
use crate::contract::worker::ServerWorkerConfig;
use crate::measure::{procstat, proctree};
use crate::run::{orchestrator, process};
use crate::tls::certs;
use crate::tls::witness::monotonic_ns;
use crate::vocab::defaults;
use crate::vocab::exec::{ExecEnd, HeapTool, WitnessRecord};
use condition::Condition;
pub use env::{ENV_CA, ENV_JAVA, ENV_URL};
use summary::Observed;

/// How long after the command ends the server is given to see its connections close.
const SETTLE: Duration = Duration::from_millis(300);

/// A checked `harness exec`.
#[derive(Debug, Clone)]
pub struct ExecPlan {
    /// The command and its arguments (not empty).
    pub command: Vec<String>,
    pub duration: Option<Duration>,
    pub conditions: Vec<Condition>,
    pub heap: HeapTool,
    /// `--breakdown`: attribute the heap profiles to owners (needs `--heap valgrind`).
    pub breakdown: bool,
    pub server: ServerPlan,
    pub out: PathBuf,
    /// The command's stdout goes to the harness's stderr (`--json` keeps stdout for the
    /// summary).
    pub stdout_to_stderr: bool,
}

/// Errors before anything was measured.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("--out {path}: {reason}")]
    Out { path: PathBuf, reason: String },
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot find the harness executable to start the server: {0}")]
    Exe(std::io::Error),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Server(String),
    /// Exit 127, as a shell does.
    #[error("{0}: command not found")]
    NotFound(String),
    /// Exit 126, as a shell does.
    #[error("{0}: cannot run it: {1}")]
    NotExecutable(String, String),
    #[error("--heap valgrind: valgrind is not installed (apt-get install valgrind)")]
    NoValgrind,
    #[error("--breakdown attributes the heap profiles of --heap valgrind to owners: give --heap valgrind with it")]
    BreakdownWithoutHeap,
}

impl ExecError {
    /// The exit code a shell would give.
    pub fn exit_code(&self) -> u8 {
        match self {
            ExecError::NotFound(_) => 127,
            ExecError::NotExecutable(..) => 126,
            ExecError::Out { .. } | ExecError::NoValgrind | ExecError::BreakdownWithoutHeap => 2,
            _ => 1,
        }
    }
}

/// A finished check.
#[derive(Debug)]
pub struct ExecOutcome {
    pub dir: PathBuf,
    pub summary: ExecSummary,
    /// Problems writing the report (the raw files may still be there).
    pub report_errors: Vec<String>,
}

impl ExecOutcome {
    /// The exit code: 130 interrupted; 1 the server died, its record (the witness) was lost
    /// or a `--fail-if` condition held; else the command's own status (128 + signal for a
    /// signal it did not get from us), and 0 when the harness stopped it at `--duration`.
    pub fn exit_code(&self) -> u8 {
        let s = &self.summary;
        match s.ended {
            ExecEnd::Interrupted => 130,
            ExecEnd::ServerDied => 1,
            _ if s.witness == WitnessRecord::Lost => 1,
            _ if s.conditions.iter().any(|c| c.failed) => 1,
            ExecEnd::Stopped => 0,
            ExecEnd::Exited => match (s.exit_code, s.exit_signal) {
                (Some(c), _) => u8::try_from(c).unwrap_or(1),
                (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
                (None, None) => 1,
            },
        }
    }
}

/// Runs the check and writes its report under a new run directory of `plan.out`.
pub fn run(
    plan: &ExecPlan,
    harness_command: String,
    progress: bool,
) -> Result<ExecOutcome, ExecError> {
    if plan.breakdown && plan.heap != HeapTool::Valgrind {
        return Err(ExecError::BreakdownWithoutHeap);
    }
    if plan.heap == HeapTool::Valgrind && which("valgrind").is_none() {
        return Err(ExecError::NoValgrind);
    }
    let dir = orchestrator::create_run_dir(&plan.out).map_err(|e| match e {
        orchestrator::RunError::Out { path, reason } => ExecError::Out { path, reason },
        other => ExecError::Server(other.to_string()),
    })?;
    let (set, provenance) = certs::ensure(&plan.server.certs_dir)?;
    if let certs::Provenance::Generated { because } = provenance {
        eprintln!(
            "generated certificates in {} ({because})",
            plan.server.certs_dir.display()
        );
    }
    let exe = std::env::current_exe().map_err(ExecError::Exe)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ExecError::Runtime)?;
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    // Absolute, so a command that changes directory still finds them.
    let trust = Trust {
        ca: std::fs::canonicalize(&set.paths.ca).unwrap_or(set.paths.ca.clone()),
        java: std::fs::canonicalize(&set.paths.java_truststore)
            .unwrap_or(set.paths.java_truststore.clone()),
    };
    let observed = rt.block_on(supervise(plan, &exe, &trust, &dir, progress))?;
    let mut summary = summary::assemble(&observed);
    summary.command = plan.command.clone();
    summary.harness_command = harness_command;
    summary.run_id = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    summary.started_at = started_at;
    summary.method = methods();
    let json = serde_json::to_value(&summary).unwrap_or_default();
    summary.conditions = plan.conditions.iter().map(|c| c.check(&json)).collect();
    let report_errors = report::write(&dir, &summary, &observed);
    if let Err(e) = orchestrator::point_latest(&plan.out, &dir) {
        eprintln!("warning: {}/latest: {e}", plan.out.display());
    }
    Ok(ExecOutcome {
        dir,
        summary,
        report_errors,
    })
}

/// How each figure of a check was measured.
pub fn methods() -> std::collections::BTreeMap<String, String> {
    [
        ("witness", "the harness's server (its own worker process) keeps one record per accepted connection: accept and close times on CLOCK_MONOTONIC, the rustls handshake kind (full, resumed, failed) and the requests it carried; requests, connections and handshakes are counted from it, exactly"),
        ("witness_lost", "when the server worker dies, hangs, or its record line cannot be read, the record is lost: every figure counted from it is null (never 0), every --fail-if condition over one fails naming the cause, and the check exits 1; server_worker gives the worker's exit status and the lines of its output that were not messages"),
        ("connections_open_at_exit", "connections closed at exit or never. A connection was closed by the program when the server saw it close before the last time the command was seen running (its /proc/PID/stat read every 2 ms: not a zombie, PF_EXITING clear; the kernel closes an exiting process's sockets only after PF_EXITING is set), or before the tree's last /proc sample, or when it existed at that sample and the tree no longer held it (matched by its local port). Every other connection is counted: the server saw it close in the last_seen_running_before_end_ms before the end, after it, or never. No margin is assumed: a close by the program in that last moment cannot be told from the exit's and is counted. connections.csv gives each connection's close-to-end gap (derived from the server's close stamp and the end, both CLOCK_MONOTONIC) and whether the tree held it at the last sample; tcp_to_server_last_sample is the tree's own count then"),
        ("process_tree", "the command and every live descendant (parent links in /proc/PID/stat), sampled every interval: RSS from statm, PSS from smaps_rollup, entries of /proc/PID/fd, CPU from stat; processes that started and ended between two samples are not seen"),
        ("tcp_to_server", "each socket in the tree's /proc/PID/fd, when first seen, is asked for its ports through a copy of its descriptor (pidfd_getfd, getsockopt SO_TYPE, getsockname, getpeername; the copy is closed at once): stream sockets whose remote port is the server's are counted while the tree holds them; a socket not connected yet is asked again at the next sample; where the kernel refuses the copy, the socket inode is looked up in /proc/net/tcp and tcp6 instead. A sample is null when a process's descriptors could not be listed, a process was exiting (the kernel may have closed its sockets) or a table could not be read"),
        ("cpu", "getrusage(RUSAGE_CHILDREN) of the harness before the command started and after it was waited for: the command and every descendant it waited for, exact"),
        ("rss_growth", "derived: RSS at the first sample after the server answered the command's last request minus RSS at the first sample after it answered the first, divided by the requests answered between those samples; start-up memory before the first request and exit teardown after the last are left out"),
        ("heap", "a foreign process's heap is not visible to the harness: heap figures are null unless --heap valgrind runs the command under valgrind's DHAT (--trace-children=yes). Derived: each process's bytes at its own peak (gb) and at its exit (eb) are summed over the processes; the peaks fall at different times, so the first sum is an upper bound of the tree's heap, not its peak. Every process the sampler saw alive must have left a readable profile (one killed by SIGKILL leaves none); otherwise both sums are null and heap_processes_seen / heap_profiles_read say why. Under valgrind every time and RSS figure includes valgrind's own cost"),
        ("heap_breakdown", "--heap valgrind --breakdown: each process's DHAT profile (valgrind recording 50 frames per stack) attributed to owners by the --breakdown rule table (OpenSSL and Python's _ssl first, by object file, source file or public C symbol; then the Rust rules, on frames that can be Rust's; a stack no rule recognises is other) and summed over the processes, so the owners add up to the heap sums; per connection and per request derived from the witness's counts. DHAT sees malloc and its family only: memory a runtime maps and manages itself (V8's and the JVM's heaps, pymalloc's arenas) is not in it"),
        ("sampler", "CPU time of the harness's sampling thread while it read /proc, plus its exit watch (one read of /proc/PID/stat every 2 ms), CLOCK_THREAD_CPUTIME_ID"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `PATH` lookup, for a check before anything starts.
fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The harness CA, as the command is given it: PEM, and the Java trust store.
struct Trust {
    ca: PathBuf,
    java: PathBuf,
}

/// What the command's waiter thread reports.
struct Ended {
    status: std::io::Result<std::process::ExitStatus>,
    at_ns: u64,
    cpu_s: Option<f64>,
}

async fn supervise(
    plan: &ExecPlan,
    exe: &Path,
    trust: &Trust,
    dir: &Path,
    progress: bool,
) -> Result<Observed, ExecError> {
    // Ctrl-C handlers first (the task registers them when it first runs), so an interrupt
    // at any point below stops the command in order instead of killing the harness.
    let mut intr = process::interrupts();
    tokio::task::yield_now().await;
    let seen_intr = *intr.borrow();
    let cfg = ServerWorkerConfig {
        server: plan.server.clone(),
        witness: true,
    };
    let (mut server, port, _) = process::start_server(exe, cfg)
        .await
        .map_err(ExecError::Server)?;

    let argv: Vec<String> = match plan.heap {
        HeapTool::None => plan.command.clone(),
        HeapTool::Valgrind => heap::valgrind_argv(dir, plan.breakdown, &plan.command),
    };
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env::for_command(
            &format!("https://localhost:{port}/"),
            &trust.ca,
            &trust.java,
            std::env::var_os(ENV_JAVA).as_deref(),
        ))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if plan.stdout_to_stderr {
        use std::os::fd::AsFd;
        match std::io::stderr().as_fd().try_clone_to_owned() {
            Ok(fd) => cmd.stdout(Stdio::from(fd)),
            Err(_) => cmd.stdout(Stdio::null()),
        };
    }
    // Its own process group, so the whole tree can be stopped together, and the terminal's
    // Ctrl-C reaches the harness, which then stops the command in order.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let cpu_before = procstat::children_cpu_seconds();
    let start_ns = monotonic_ns();
    let start = tokio::time::Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = server.finish().await;
            let name = plan.command[0].clone();
            return Err(match e.kind() {
                std::io::ErrorKind::NotFound => ExecError::NotFound(name),
                _ => ExecError::NotExecutable(name, e.to_string()),
            });
        }
    };
    let pid = child.id() as i32;
    let (tx, mut ended_rx) = tokio::sync::oneshot::channel::<Ended>();
    // A thread blocked in wait() hears of the exit at once (the figure the exit margin is
    // measured against), whatever the sampler is doing.
    std::thread::spawn(move || {
        let status = child.wait();
        let at_ns = monotonic_ns();
        let cpu_s = procstat::children_cpu_seconds();
        let _ = tx.send(Ended {
            status,
            at_ns,
            cpu_s,
        });
    });
    // The exit watch: the last time the command was seen running, not exiting. A close the
    // server saw before it was the program's (closing.rs). Returns its own CPU time.
    let running_at = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Set once the command was waited for (or its waiter died): the watch ends even if the
    // process has not.
    let watch_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let running_at = running_at.clone();
        let done = watch_done.clone();
        std::thread::spawn(move || {
            // The command's start time: a later process given the same pid is not it.
            let mut started = None;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let t = monotonic_ns();
                match (proctree::running_since(pid), started) {
                    (Some(s), None) => started = Some(s),
                    (Some(s), Some(first)) if s == first => {}
                    _ => break,
                }
                running_at.store(t, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(defaults::EXEC_EXIT_WATCH_INTERVAL);
            }
            procstat::thread_cpu_ns()
        })
    };

    let mut sampler = proctree::Sampler::new(pid, port);
    let pb = progress::progress_bar(progress);
    let every = plan.server.sample_interval;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = plan.duration.map(|d| start + d);
    let mut rows: Vec<ExecRow> = Vec::new();
    let mut last_server: Option<ServerSample> = None;
    let mut sampler_ns: Option<u64> = Some(0);
    let mut last_sample: Option<closing::LastSample> = None;
    let mut server_alive = true;
    let mut stopping: Option<ExecEnd> = None;
    let mut killed = false;
    let mut kill_at: Option<tokio::time::Instant> = None;
    let ended: Ended = loop {
        tokio::select! {
            e = &mut ended_rx => match e {
                Ok(e) => break e,
                Err(_) => break Ended { status: Err(std::io::Error::other("the waiter thread died")), at_ns: monotonic_ns(), cpu_s: None },
            },
            _ = ticker.tick() => {
                let before = procstat::thread_cpu_ns();
                let at_ns = monotonic_ns();
                let tree = sampler.sample();
                sampler_ns = match (sampler_ns, before, procstat::thread_cpu_ns()) {
                    (Some(t), Some(a), Some(b)) => Some(t + b.saturating_sub(a)),
                    _ => None,
                };
                if tree.processes > 0 {
                    last_sample = Some(closing::LastSample {
                        at_ns,
                        held: sampler.held_ports().cloned(),
                    });
                    let row = ExecRow { t_s: start.elapsed().as_secs_f64(), tree, server: last_server.clone() };
                    progress::show(&pb, &row);
                    rows.push(row);
                }
                if let Some(at) = kill_at {
                    if tokio::time::Instant::now() >= at && !killed {
                        signal_group(pid, libc::SIGKILL);
                        killed = true;
                    }
                }
            }
            msg = server.next(), if server_alive => match msg {
                Some(WorkerMsg::Server(s)) => last_server = Some(s),
                Some(_) => {}
                None => {
                    server_alive = false;
                    stop(pid, &mut stopping, ExecEnd::ServerDied, &mut kill_at);
                }
            },
            _ = sleep_until(deadline), if stopping.is_none() => {
                pb.set_message("--duration passed: stopping the command (SIGTERM)");
                stop(pid, &mut stopping, ExecEnd::Stopped, &mut kill_at);
            }
            changed = intr.changed() => {
                if changed.is_err() || *intr.borrow() == seen_intr { continue; }
                if stopping == Some(ExecEnd::Interrupted) {
                    signal_group(pid, libc::SIGKILL);
                    killed = true;
                } else {
                    pb.set_message("interrupted: stopping the command (Ctrl-C again to kill it)");
                    stopping = None;
                    stop(pid, &mut stopping, ExecEnd::Interrupted, &mut kill_at);
                }
            }
        }
    };
    // Whatever the command left running in its group goes with it.
    signal_group(pid, libc::SIGTERM);
    pb.finish_and_clear();

    // Give the server a moment to see the command's connections close, then take its record.
    tokio::time::sleep(SETTLE).await;
    server.ask_stop();
    let mut conns = None;
    if server_alive {
        while let Ok(Some(m)) = tokio::time::timeout(SETTLE * 20, server.next()).await {
            match m {
                WorkerMsg::Connections { conns: c } => conns = Some(c),
                WorkerMsg::ServerDone(s) | WorkerMsg::Server(s) => last_server = Some(s),
                _ => {}
            }
        }
    }
    // The command has been reaped: the watch sees it gone and ends.
    watch_done.store(true, std::sync::atomic::Ordering::Relaxed);
    let watch_ns = watch.join().ok().flatten();
    let sampler_ns = sampler_ns.zip(watch_ns).map(|(a, b)| a + b);
    use std::os::unix::process::ExitStatusExt;
    let exited = server.finish().await;
    let server_worker = WorkerEnd {
        exit_code: exited.status.and_then(|s| s.code()),
        exit_signal: exited.status.and_then(|s| s.signal()),
        killed_after_grace: exited.status.is_none(),
        lines_unparsed: exited.unparsed,
        last_error: exited
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string()),
    };
    let status = ended.status.ok();
    Ok(Observed {
        start_ns,
        end_ns: ended.at_ns,
        running_until_ns: Some(running_at.load(std::sync::atomic::Ordering::Relaxed))
            .filter(|&t| t > 0),
        ended: stopping.unwrap_or(ExecEnd::Exited),
        exit_code: status.and_then(|s| s.code()),
        exit_signal: status.and_then(|s| s.signal()),
        cpu_s: match (cpu_before, ended.cpu_s) {
            (Some(a), Some(b)) => Some((b - a).max(0.0)),
            _ => None,
        },
        rows,
        conns,
        last_server,
        sampler_cpu_us_total: sampler_ns.map(|ns| ns / 1000),
        last_sample,
        heap: match plan.heap {
            HeapTool::Valgrind => Some(heap::read_profiles(dir, sampler.seen(), plan.breakdown)),
            HeapTool::None => None,
        },
        heap_tool: plan.heap,
        server_worker: Some(server_worker),
    })
}

/// Asks the command's process group to stop (SIGTERM now, SIGKILL after the grace period).
fn stop(
    pid: i32,
    stopping: &mut Option<ExecEnd>,
    why: ExecEnd,
    kill_at: &mut Option<tokio::time::Instant>,
) {
    if stopping.is_some() {
        return;
    }
    *stopping = Some(why);
    signal_group(pid, libc::SIGTERM);
    *kill_at = Some(tokio::time::Instant::now() + defaults::EXEC_KILL_GRACE);
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: kill has no memory preconditions; a group that is gone gives ESRCH, ignored.
    unsafe { libc::kill(-pgid, sig) };
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
