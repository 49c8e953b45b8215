//! `harness exec -- CMD`: a program checked from outside, the server its witness (docs/exec.md).

pub mod closing;
pub mod condition;
pub mod env;
pub mod heap;
pub mod report;
pub mod sources;
pub mod summary;
pub mod verdict;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{Pid, Signal};

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
    /// The command's stdout goes to the harness's stderr (`--json` keeps stdout for the summary).
    pub stdout_to_stderr: bool,
}

/// Errors before anything was measured.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Out(#[from] orchestrator::OutError),
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
            ExecError::Out(_) | ExecError::NoValgrind | ExecError::BreakdownWithoutHeap => 2,
            _ => 1,
        }
    }
}

/// A finished check (`Outcome<ExecSummary>`) or survey.
#[derive(Debug)]
pub struct Outcome<S> {
    pub dir: PathBuf,
    pub summary: S,
    /// Problems writing the report (the raw files may still be there).
    pub report_errors: Vec<String>,
}

impl Outcome<ExecSummary> {
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
) -> Result<Outcome<ExecSummary>, ExecError> {
    if plan.breakdown && plan.heap != HeapTool::Valgrind {
        return Err(ExecError::BreakdownWithoutHeap);
    }
    if plan.heap == HeapTool::Valgrind && which("valgrind").is_none() {
        return Err(ExecError::NoValgrind);
    }
    let dir = orchestrator::create_run_dir(&plan.out, "")?;
    let set = orchestrator::ensure_certs(&plan.server.certs_dir)?;
    let exe = std::env::current_exe().map_err(ExecError::Exe)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ExecError::Runtime)?;
    let started_at = orchestrator::now_rfc3339();
    let observed = rt.block_on(supervise(plan, &exe, &set.paths, &dir, progress))?;
    let mut summary = summary::assemble(&observed);
    summary.command = plan.command.clone();
    summary.harness_command = harness_command;
    summary.run_id = orchestrator::run_id(&dir);
    summary.started_at = started_at;
    summary.method = methods();
    let json = serde_json::to_value(&summary).unwrap_or_default();
    summary.conditions = plan.conditions.iter().map(|c| c.check(&json)).collect();
    let report_errors = report::write(&dir, &summary, &observed);
    if let Err(e) = orchestrator::point_latest(&plan.out, &dir) {
        eprintln!("warning: {}/latest: {e}", plan.out.display());
    }
    Ok(Outcome {
        dir,
        summary,
        report_errors,
    })
}

/// How each figure of a check was measured (`summary.json` `method`); docs/exec.md gives why.
pub fn methods() -> std::collections::BTreeMap<String, String> {
    let watch = crate::vocab::units::span(defaults::EXEC_EXIT_WATCH_INTERVAL);
    [
        ("witness", "the harness's server worker keeps one record per accepted connection (accept and close on CLOCK_MONOTONIC, handshake kind, requests carried); requests, connections and handshakes are counted from it, exactly (docs/exec.md)".into()),
        ("witness_lost", "when the server worker dies, hangs or its record cannot be read, every figure counted from the record is null (never 0), every --fail-if condition over one fails, and the check exits 1; server_worker says why (docs/exec.md)".into()),
        ("connections_open_at_exit", format!("connections closed at exit or never, a count that depends on when the exit is seen: those the server did not see close before the command was last seen running (/proc/PID/stat read every {watch}) or before the tree's last sample, with no margin assumed; connections.csv gives each connection's close-to-end gap (docs/exec.md)")),
        ("connections_open_at_last_request", format!("connections the server had accepted before the last request it received on any connection and had not seen close before it, both times the server's own CLOCK_MONOTONIC stamps; what a runtime closes in its teardown comes after its last request and cannot change it; above {} the verdict names them, and says the program keeps its connections when they are at least {} per request (derived: ÷ requests) (docs/exec.md)", verdict::KEPT_ABOVE, verdict::KEPT_PER_REQUEST)),
        ("process_tree", "the command and every live descendant, sampled every interval: RSS, PSS, descriptors and CPU from /proc; a process that started and ended between two samples is not seen (docs/exec.md)".into()),
        ("tcp_to_server", "the tree's stream sockets whose remote port is the server's, each asked for its ports through a copy of its descriptor (pidfd_getfd), or looked up in /proc/net/tcp where the kernel refuses; null when a process's sockets could not all be read (docs/exec.md)".into()),
        ("cpu", "getrusage(RUSAGE_CHILDREN) of the harness before the command started and after it was waited for: the command and every descendant it waited for, exact (docs/exec.md)".into()),
        ("rss_growth", "derived: RSS after the server answered the command's last request minus RSS after it answered the first, ÷ the requests answered between, so start-up and exit are left out (docs/exec.md)".into()),
        ("heap", "null unless --heap valgrind runs the command under valgrind's DHAT; then each process's bytes at its own peak and at its exit, summed over the processes (derived: the first sum is an upper bound, not the tree's peak), and null when a process seen left no profile (docs/exec.md)".into()),
        ("heap_breakdown", "--heap valgrind --breakdown: each process's DHAT profile attributed to owners by the --breakdown rules (foreign libraries first), summed over the processes and divided by the witness's connections and requests; DHAT sees malloc only, not a runtime's own heap (docs/exec.md)".into()),
        ("sampler", format!("CPU time of the harness's sampling thread while it read /proc, plus its exit watch (one read of /proc/PID/stat every {watch}), CLOCK_THREAD_CPUTIME_ID (docs/exec.md)")),
    ]
    .into_iter()
    .map(|(k, v): (&str, String)| (k.to_string(), v))
    .collect()
}

/// `PATH` lookup, for a check before anything starts.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

async fn supervise(
    plan: &ExecPlan,
    exe: &Path,
    trust: &certs::CertPaths,
    dir: &Path,
    progress: bool,
) -> Result<Observed, ExecError> {
    // Ctrl-C handlers first, so an interrupt at any point below stops the command in order.
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
    // The CA's paths absolute, so a command that changes directory still finds them.
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or(p.to_path_buf());
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env::for_command(
            &format!("https://localhost:{port}/"),
            &abs(&trust.ca),
            &abs(&trust.java_truststore),
            std::env::var_os(ENV_JAVA).as_deref(),
        ))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if plan.stdout_to_stderr {
        use std::os::fd::AsFd;
        let stderr = std::io::stderr().as_fd().try_clone_to_owned();
        cmd.stdout(stderr.map_or(Stdio::null(), Stdio::from));
    }
    // Its own process group: the tree stops together, and the terminal's Ctrl-C reaches the harness.
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
    let (tx, mut ended_rx) = tokio::sync::oneshot::channel();
    // A thread blocked in wait() hears of the exit at once, whatever the sampler is doing: the
    // exit status, when it was heard, and the children's CPU time then.
    std::thread::spawn(move || {
        let status = child.wait().ok();
        let _ = tx.send((status, monotonic_ns(), procstat::children_cpu_seconds()));
    });
    // The exit watch: the last time the command was seen running (closing.rs); returns its CPU time.
    let running_at = Arc::new(AtomicU64::new(0));
    // Set once the command was waited for: the watch ends even if the process has not.
    let watch_done = Arc::new(AtomicBool::new(false));
    let watch = {
        let running_at = running_at.clone();
        let done = watch_done.clone();
        std::thread::spawn(move || {
            // The command's start time: a later process given the same pid is not it.
            let mut started = None;
            while !done.load(Relaxed) {
                let t = monotonic_ns();
                match (proctree::running_since(pid), started) {
                    (Some(s), None) => started = Some(s),
                    (Some(s), Some(first)) if s == first => {}
                    _ => break,
                }
                running_at.store(t, Relaxed);
                std::thread::sleep(defaults::EXEC_EXIT_WATCH_INTERVAL);
            }
            procstat::thread_cpu_ns()
        })
    };

    let mut sampler = proctree::Sampler::new(pid, port);
    let pb = report::progress_bar(progress);
    let mut ticker = tokio::time::interval(plan.server.sample_interval);
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
    let (status, end_ns, end_cpu_s) = loop {
        tokio::select! {
            e = &mut ended_rx => break e.unwrap_or((None, monotonic_ns(), None)),
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
                        held: sampler.held.clone(),
                    });
                    let row = ExecRow { t_s: start.elapsed().as_secs_f64(), tree, server: last_server.clone() };
                    report::show_progress(&pb, &row);
                    rows.push(row);
                }
                if !killed && kill_at.is_some_and(|at| tokio::time::Instant::now() >= at) {
                    signal_group(pid, Signal::KILL);
                    killed = true;
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
            _ = tokio::time::sleep_until(deadline.unwrap_or(start)), if stopping.is_none() && deadline.is_some() => {
                pb.set_message("--duration passed: stopping the command (SIGTERM)");
                stop(pid, &mut stopping, ExecEnd::Stopped, &mut kill_at);
            }
            changed = intr.changed() => {
                if changed.is_err() || *intr.borrow() == seen_intr { continue; }
                if stopping == Some(ExecEnd::Interrupted) {
                    signal_group(pid, Signal::KILL);
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
    signal_group(pid, Signal::TERM);
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
    watch_done.store(true, Relaxed);
    let watch_ns = watch.join().ok().flatten();
    let sampler_ns = sampler_ns.zip(watch_ns).map(|(a, b)| a + b);
    use std::os::unix::process::ExitStatusExt;
    let exited = server.finish().await;
    let server_worker = Some(WorkerEnd {
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
    });
    Ok(Observed {
        start_ns,
        end: closing::End {
            at_ns: end_ns,
            running_at_ns: Some(running_at.load(Relaxed)).filter(|&t| t > 0),
        },
        ended: stopping.unwrap_or(ExecEnd::Exited),
        exit_code: status.and_then(|s| s.code()),
        exit_signal: status.and_then(|s| s.signal()),
        cpu_s: cpu_before.zip(end_cpu_s).map(|(a, b)| (b - a).max(0.0)),
        rows,
        conns,
        last_server,
        sampler_cpu_us_total: sampler_ns.map(|ns| ns / 1000),
        last_sample,
        heap: (plan.heap == HeapTool::Valgrind)
            .then(|| heap::read_profiles(dir, &sampler.seen, plan.breakdown)),
        heap_tool: plan.heap,
        server_worker,
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
    signal_group(pid, Signal::TERM);
    *kill_at = Some(tokio::time::Instant::now() + defaults::EXEC_KILL_GRACE);
}

fn signal_group(pgid: i32, sig: Signal) {
    // A group that is gone gives ESRCH: nothing left to signal.
    if let Some(pgid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pgid, sig);
    }
}

#[cfg(test)]
mod tests {
    use crate::run::load::{END_GRACE, LATE_THRESHOLD};
    use crate::run::{handshakes, method_text, soundness};
    use crate::vocab::{defaults, units};

    /// Units a figure is written in: a number followed by one of these is a figure.
    const UNITS: &[&str] = &[
        "ns",
        "µs",
        "us",
        "ms",
        "s",
        "min",
        "h",
        "%",
        "B",
        "KiB",
        "MiB",
        "GiB",
        "KB",
        "MB",
        "GB",
        "byte",
        "bytes",
        "blocks",
        "allocations",
        "cores",
        "frames",
        "req/s",
    ];

    /// Words that give a figure to one machine or one run, which no reader's run measured.
    const ONE_MACHINE: &[&str] = &["this machine", "this loaded", "one machine", "we measured"];

    /// Every `method` text a `summary.json` can carry: a run's (with `--breakdown`), a check's
    /// and `harness handshakes`'s.
    fn every_method_text() -> Vec<(String, String)> {
        let run = method_text::methods().into_iter();
        let exec = super::methods().into_iter();
        let more = [
            ("breakdown".to_string(), method_text::BREAKDOWN.to_string()),
            ("handshakes.method".to_string(), handshakes::method()),
        ];
        run.chain(exec).chain(more).collect()
    }

    /// The figures each method text may quote: the constants it names, as it writes them.
    fn constants() -> Vec<(&'static str, String)> {
        let late = units::span(LATE_THRESHOLD);
        let watch = units::span(defaults::EXEC_EXIT_WATCH_INTERVAL);
        vec![
            ("late_starts", late.clone()),
            ("rate_bound", late),
            ("rate_bound", units::span(END_GRACE)),
            ("rate_bound", units::percent(soundness::CLIENT_CPU_BOUND)),
            ("connections_open_at_exit", watch.clone()),
            ("sampler", watch),
            (
                "handshakes.method",
                units::bytes(defaults::LOCKSTEP_DATA_BYTES as f64),
            ),
        ]
    }

    /// Each number in `text` written with a unit (`2 ms`, `72 %`, `16-byte`), as `number unit`.
    /// A digit inside a word (`X25519`, `tcp6`) starts no number.
    fn figures(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let in_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
            if !chars[i].is_ascii_digit() || in_word {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || ".,".contains(chars[i])) {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            let number = number.trim_end_matches(['.', ',']);
            let mut j = i;
            if j < chars.len() && " -".contains(chars[j]) {
                j += 1;
            }
            let unit: String = chars[j..]
                .iter()
                .take_while(|c| c.is_alphabetic() || "%/".contains(**c))
                .collect();
            if UNITS.contains(&unit.as_str()) {
                found.push(format!("{number} {unit}"));
            }
        }
        found
    }

    /// `method` is in every summary: a figure in it must be a constant's value, built from the
    /// constant, never one machine's reading; such findings belong in docs/.
    #[test]
    fn method_texts_quote_only_constants() {
        let allowed = constants();
        for (key, text) in every_method_text() {
            for figure in figures(&text) {
                assert!(
                    allowed.contains(&(key.as_str(), figure.clone())),
                    "method.{key} quotes {figure}, which none of its constants holds: {text}"
                );
            }
            let lower = text.to_lowercase();
            for words in ONE_MACHINE {
                assert!(
                    !lower.contains(words),
                    "method.{key} says {words:?}: {text}"
                );
            }
        }
    }

    #[test]
    fn figures_are_numbers_with_units() {
        let text =
            "up to 72 % late, ≥2 ms, a 16-byte header, 1,234 blocks, X25519 and tcp6, 1/rate";
        assert_eq!(
            figures(text),
            ["72 %", "2 ms", "16 byte", "1,234 blocks"].map(String::from)
        );
    }
}
