//! The parent process: starts a server worker and a client worker per mode (one mode after
//! another, each against a fresh server with identical settings), relays their samples into
//! the timeline and the progress bar, and writes the report — also when the run is cut short
//! by Ctrl-C, SIGTERM or a dying worker.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::watch;

use crate::analysis;
use crate::certs;
use crate::cli::RunArgs;
use crate::load::Clock;
use crate::mode::Mode;
use crate::session::ClientKind;
use crate::summary::{ModeSummary, Scenario, ServerSummary, Summary, Versions, P50P99, SCHEMA};
use crate::table::fmt_bytes;
use crate::timeline::{self, TimelineRow};
use crate::tls;
use crate::tls::RootsChoice;
use crate::wire::{ClientFinal, ClientSample, ServerSample, WorkerMsg};
use crate::worker::{ClientWorkerConfig, ServerWorkerConfig};

/// How long a worker may take to start listening or to finish after being asked to stop.
const WORKER_GRACE: Duration = Duration::from_secs(40);

/// Errors that stop a run before it measures anything (bad output directory, certificates).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("--out {path}: {reason}")]
    Out { path: PathBuf, reason: String },
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot find the harness executable to start workers: {0}")]
    Exe(std::io::Error),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// Every request succeeded.
    Clean,
    /// Some requests failed or a mode stopped early; the report says which.
    Failures,
    /// A worker process died; what it measured so far was kept.
    WorkerDied,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
    pub exit: RunExit,
    /// Problems writing the report (the raw files may still be there).
    pub report_errors: Vec<String>,
}

/// Runs every mode in `args` and writes `summary.json`, `timeline.csv` and the report.
pub fn run(args: &RunArgs, command: String) -> Result<RunOutcome, RunError> {
    let dir = create_run_dir(&args.out)?;
    let (certs, provenance) = certs::ensure(&args.certs_dir)?;
    if let certs::Provenance::Generated { because } = provenance {
        eprintln!(
            "generated certificates in {} ({because})",
            args.certs_dir.display()
        );
    }
    let exe = std::env::current_exe().map_err(RunError::Exe)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let run_id = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let orchestrator = Orchestrator {
        args: args.clone(),
        exe,
        ca: certs.paths.ca.clone(),
        dir: dir.clone(),
    };
    let outcome = rt.block_on(orchestrator.run_all());

    let summary = Summary {
        schema: SCHEMA,
        command,
        clock: args.clock.to_string(),
        interrupted: outcome.interrupted,
        stopped_reason: outcome.stopped_reason.clone(),
        run_id,
        started_at: outcome.started_at.clone(),
        scenario: Scenario {
            rate: args.rate,
            duration_s: args.duration().as_secs_f64(),
            retention_s: args.retention_spec().map(|r| r.ttl.as_secs_f64()),
            tls: args.tls.to_string(),
            kx_groups: tls::kx_group_names(args.kx),
            max_in_flight: u64::from(args.max_in_flight),
            sample_interval_s: args.sample_interval.as_secs_f64(),
            response_body_bytes: u64::from(args.body_bytes),
            target: outcome.target.clone().unwrap_or_default(),
            fd_limit: outcome.fd_limit,
            retention_cap: args.retention_cap.map(|c| c as u64),
            roots: Some(args.roots.to_string()),
            client_cache: Some(args.client_cache as u64),
            server_cache: Some(args.server_cache_policy().to_string()),
            dhat: args.dhat,
        },
        versions: versions(),
        method: {
            let mut m = methods();
            if let Some(t) = &args.target {
                m.insert(
                    "server".into(),
                    format!("external target {t}: server-side figures were not measured (null)"),
                );
            }
            m
        },
        modes: outcome.modes.iter().map(|m| m.summary.clone()).collect(),
    };
    let rows: Vec<TimelineRow> = outcome.modes.iter().flat_map(|m| m.rows.clone()).collect();

    let mut report_errors = Vec::new();
    if let Err(e) = timeline::write_csv(&dir.join("timeline.csv"), &rows) {
        report_errors.push(e.to_string());
    }
    if let Err(e) = summary.write(&dir.join("summary.json")) {
        report_errors.push(e.to_string());
    }
    if let Err(e) = crate::report::render(&dir, &summary, &rows) {
        report_errors.push(format!("charts: {e}"));
    }
    if let Err(e) = point_latest(&args.out, &dir) {
        report_errors.push(format!("reports/latest: {e}"));
    }

    let any_failed = summary
        .modes
        .iter()
        .any(|m| m.requests_failed > 0 || m.stopped_early.is_some());
    let exit = if outcome.interrupted {
        RunExit::Interrupted
    } else if outcome.worker_died {
        RunExit::WorkerDied
    } else if any_failed || summary.modes.len() < args.mode.len() {
        RunExit::Failures
    } else {
        RunExit::Clean
    };
    Ok(RunOutcome {
        dir,
        summary,
        exit,
        report_errors,
    })
}

/// Creates `out/<run-id>`; a run never reuses or overwrites a directory.
fn create_run_dir(out: &Path) -> Result<PathBuf, RunError> {
    let err = |reason: String| RunError::Out {
        path: out.to_path_buf(),
        reason,
    };
    if out.exists() && !out.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let base = run_id_at(time::OffsetDateTime::now_utc());
    for n in 1..1000 {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = out.join(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(err(e.to_string())),
        }
    }
    Err(err("could not find a free run id".into()))
}

/// The run id of a run started at `t` (UTC, to the second); a later run in the same second
/// gets `-2`, `-3`, ….
pub fn run_id_at(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Points `out/latest` at `dir` (a relative symlink, replaced atomically).
fn point_latest(out: &Path, dir: &Path) -> std::io::Result<()> {
    let name = dir.file_name().unwrap_or_default();
    let tmp = out.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, out.join("latest"))
}

fn versions() -> Versions {
    Versions {
        harness: env!("CARGO_PKG_VERSION").into(),
        rustls: env!("DEP_VERSION_RUSTLS").into(),
        hyper: env!("DEP_VERSION_HYPER").into(),
        hyper_util: env!("DEP_VERSION_HYPER_UTIL").into(),
        tokio_rustls: env!("DEP_VERSION_TOKIO_RUSTLS").into(),
        crypto_provider: format!("aws-lc-rs {}", env!("DEP_VERSION_AWS_LC_RS")),
    }
}

fn methods() -> BTreeMap<String, String> {
    [
        ("heap", "counting global allocator in each worker process (relaxed atomics over the system allocator): live bytes, cumulative bytes and allocations; exact, not sampled"),
        ("bytes_per_request", "client worker's cumulative allocated bytes during the load divided by completed requests (includes hyper, rustls, tokio and the sampler's own allocations)"),
        ("build", "each session build timed with a monotonic clock and charged the bytes allocated on its own thread (the build is synchronous, so the count is exact)"),
        ("rss", "resident set size from /proc/self/statm, sampled every interval in each process"),
        ("fds", "entries of /proc/self/fd, sampled every interval"),
        ("peaks", "maxima over the samples (a peak between samples is not seen)"),
        ("latency", "from a request's actual start to its last body byte, HDR histogram (3 significant digits); session build included for fresh and leak"),
        ("late_starts", "requests that started ≥2 ms after their scheduled time (twice tokio's 1 ms timer resolution) or waited for a --max-in-flight slot"),
        ("handshakes", "client: rustls handshake_kind() of each new connection; server: the same, counted in the server process"),
        ("retained_bytes", "timeline retained_bytes = retained sessions (counted) × the mode's measured bytes per retained session"),
        ("retained_per_session", "fresh with retention: bytes freed on the dropping thread as each retained session's TLS state was dropped (exact); leak: live-heap slope over kept-session count"),
        ("plateau", "mean over the samples at or after the retention time T: retained sessions, and live heap above the load's starting heap"),
        ("sampler", "CPU time of the client worker's sampler thread while sampling (CLOCK_THREAD_CPUTIME_ID), as a share of the run's wall time"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

struct Orchestrator {
    args: RunArgs,
    exe: PathBuf,
    ca: PathBuf,
    dir: PathBuf,
}

struct ModeResult {
    rows: Vec<TimelineRow>,
    summary: ModeSummary,
}

struct AllModes {
    modes: Vec<ModeResult>,
    interrupted: bool,
    worker_died: bool,
    stopped_reason: Option<String>,
    started_at: String,
    target: Option<String>,
    fd_limit: Option<u64>,
}

impl AllModes {
    /// Records that a worker died (or never started): the run stops after this mode.
    fn died(&mut self, why: String) {
        self.worker_died = true;
        self.stopped_reason = Some(why);
    }
}

/// A worker process with its stdout as JSON lines and its stderr collected.
struct Worker {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
}

impl Worker {
    fn spawn(exe: &Path, role: &str, config: &str) -> std::io::Result<Worker> {
        let mut child = Command::new(exe)
            .args(["__worker", role, config])
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
        })
    }

    /// Next message; `None` at EOF. Unparsable lines are skipped (they cannot be ours).
    async fn next(&mut self) -> Option<WorkerMsg> {
        loop {
            match self.lines.next_line().await {
                Ok(Some(l)) => {
                    if let Ok(m) = serde_json::from_str(&l) {
                        return Some(m);
                    }
                }
                _ => return None,
            }
        }
    }

    /// Closes stdin: the worker's signal to finish.
    fn ask_stop(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Waits for exit (killing after the grace period) and says how it went.
    async fn finish(mut self) -> (Option<std::process::ExitStatus>, String) {
        self.ask_stop();
        let status = match tokio::time::timeout(WORKER_GRACE, self.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        };
        let err = tokio::time::timeout(Duration::from_secs(2), self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        (status, err)
    }
}

/// The next message of an optional worker; pending forever when there is none.
async fn next_of(w: &mut Option<Worker>) -> Option<WorkerMsg> {
    match w {
        Some(w) => w.next().await,
        None => std::future::pending().await,
    }
}

/// ` (signal: 9 (SIGKILL))` or ` (exit status: 1): <last stderr line>`.
fn how_it_ended(status: Option<std::process::ExitStatus>, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let status_text = status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "killed after the grace period".into());
    let signalled = status.is_some_and(|s| s.signal().is_some());
    if signalled || stderr.trim().is_empty() {
        format!(" ({status_text})")
    } else {
        format!(" ({status_text}): {}", last_line(stderr))
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no message)")
        .trim()
        .to_string()
}

/// Ctrl-C / SIGTERM counter: the first stops the run gracefully, the second kills workers.
fn interrupts() -> watch::Receiver<u32> {
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

impl Orchestrator {
    async fn run_all(&self) -> AllModes {
        let mut intr = interrupts();
        let t = time::OffsetDateTime::now_utc();
        let mut all = AllModes {
            modes: Vec::new(),
            interrupted: false,
            worker_died: false,
            stopped_reason: None,
            started_at: t
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            target: None,
            fd_limit: None,
        };
        let legs: Vec<(Mode, ClientKind)> = self
            .args
            .mode
            .iter()
            .flat_map(|m| self.args.client.iter().map(move |c| (*m, *c)))
            .collect();
        let total = legs.len();
        for (i, (mode, client)) in legs.into_iter().enumerate() {
            let label = leg_label(mode, client, self.args.client.len() > 1);
            let pb = self.progress(&label, i, total);
            let r = self.run_mode(mode, client, &mut intr, &pb, &mut all).await;
            pb.finish_and_clear();
            if let Some(r) = r {
                if !self.args.quiet {
                    eprintln!(
                        "[{}/{total}] {label}: {} ok, {} failed, {:.1} req/s, heap peak {}",
                        i + 1,
                        r.summary.requests_ok,
                        r.summary.requests_failed,
                        r.summary.achieved_rps,
                        fmt_bytes(r.summary.client_heap_peak_bytes as f64)
                    );
                }
                all.modes.push(r);
            }
            if all.interrupted || all.worker_died {
                break;
            }
        }
        all
    }

    fn progress(&self, label: &str, i: usize, total: usize) -> ProgressBar {
        let secs = self.args.duration().as_secs().max(1);
        let pb = ProgressBar::with_draw_target(
            Some(secs),
            if self.args.quiet || !std::io::stdout().is_terminal() {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stdout()
            },
        );
        let style =
            ProgressStyle::with_template("{prefix:>14} [{bar:28.cyan/blue}] {pos:>4}/{len}s {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(format!("[{}/{total}] {label}", i + 1));
        pb
    }

    async fn run_mode(
        &self,
        mode: Mode,
        client_kind: ClientKind,
        intr: &mut watch::Receiver<u32>,
        pb: &ProgressBar,
        all: &mut AllModes,
    ) -> Option<ModeResult> {
        let a = &self.args;
        let server_cfg = ServerWorkerConfig {
            certs_dir: a.certs_dir.clone(),
            port: a.port,
            tls: a.tls.to_string(),
            body_bytes: a.body_bytes as usize,
            sample_interval_s: a.sample_interval.as_secs_f64(),
            cache: a.server_cache_policy(),
        };
        let (mut server, target, ca_files) = match &a.target {
            Some(url) => (None, url.clone(), a.ca.iter().cloned().collect()),
            None => match self.start_server(mode, &server_cfg, all).await {
                Some((w, port)) => (
                    Some(w),
                    format!("https://localhost:{port}/"),
                    vec![self.ca.clone()],
                ),
                None => return None,
            },
        };
        all.target = Some(target.clone());
        let client_cfg = ClientWorkerConfig {
            mode,
            target,
            rate: a.rate,
            duration_s: a.duration().as_secs_f64(),
            max_in_flight: a.max_in_flight as usize,
            sample_interval_s: a.sample_interval.as_secs_f64(),
            tls: a.tls.to_string(),
            kx: a.kx.to_string(),
            roots: a.roots.to_string(),
            client_cache: a.client_cache,
            ca_files,
            clock: a.clock,
            retention: a.retention_spec(),
            dhat_file: a.dhat.then(|| {
                self.dir
                    .join(format!("dhat-heap-{mode}-{client_kind}.json"))
            }),
            client: client_kind,
            max_open: a.max_open,
            // The probe's private server presents the harness certificates: only meaningful
            // when the run's target does too.
            probe_certs_dir: (a.target.is_none() && client_kind == ClientKind::Hyper)
                .then(|| a.certs_dir.clone()),
        };
        let mut client = match serde_json::to_string(&client_cfg)
            .map_err(std::io::Error::other)
            .and_then(|c| Worker::spawn(&self.exe, "client", &c))
        {
            Ok(w) => w,
            Err(e) => {
                if let Some(server) = server {
                    let _ = server.finish().await;
                }
                all.died(format!("{mode}: cannot start the client worker: {e}"));
                return None;
            }
        };

        let mut rows = Vec::new();
        let mut last_server: Option<ServerSample> = None;
        let mut server_alive = server.is_some();
        let mut server_lost = false;
        let mut fin: Option<ClientFinal> = None;
        let mut client_gone = false;
        let mut seen_intr = *intr.borrow();
        loop {
            tokio::select! {
                msg = client.next() => match msg {
                    Some(WorkerMsg::Client(s)) => {
                        self.show(pb, &s);
                        rows.push(row(mode, client_kind, &s, last_server.as_ref()));
                    }
                    Some(WorkerMsg::ClientDone(f)) => { fin = Some(*f); break; }
                    Some(_) => {}
                    None => { client_gone = true; break; }
                },
                msg = next_of(&mut server), if server_alive => match msg {
                    Some(WorkerMsg::Server(s)) => last_server = Some(s),
                    Some(_) => {}
                    None => {
                        server_alive = false;
                        server_lost = true;
                        all.died(format!("{mode}: the server worker died mid-run"));
                        client.ask_stop();
                    }
                },
                changed = intr.changed() => {
                    let n = *intr.borrow();
                    if changed.is_err() || n == seen_intr { continue; }
                    seen_intr = n;
                    all.interrupted = true;
                    all.stopped_reason.get_or_insert_with(|| format!("interrupted during mode {mode}"));
                    if n >= 2 {
                        let _ = client.child.start_kill();
                    } else {
                        pb.set_message("stopping: waiting for requests in flight (Ctrl-C again to kill)");
                        client.ask_stop();
                    }
                }
            }
        }
        // Stop the server and take its last figures.
        let (server_status, server_err) = match server.as_mut() {
            Some(w) => {
                w.ask_stop();
                if server_alive {
                    while let Ok(Some(m)) = tokio::time::timeout(WORKER_GRACE, w.next()).await {
                        match m {
                            WorkerMsg::ServerDone(s) | WorkerMsg::Server(s) => {
                                last_server = Some(s)
                            }
                            _ => {}
                        }
                    }
                }
                match server.take() {
                    Some(w) => w.finish().await,
                    None => (None, String::new()),
                }
            }
            None => (None, String::new()),
        };
        let (client_status, client_err) = client.finish().await;
        if client_gone && !all.interrupted {
            all.died(format!(
                "{mode}: the client worker died mid-run{}",
                how_it_ended(client_status, &client_err)
            ));
        }
        let server_died = server_lost.then(|| {
            format!(
                "{mode}: the server worker died mid-run{}",
                how_it_ended(server_status, &server_err)
            )
        });
        if let Some(why) = &server_died {
            all.stopped_reason = Some(why.clone());
        }
        let mut fin = fin.unwrap_or_else(|| partial_final(&rows, a));
        if let Some(why) = server_died {
            // The client stopped because we asked it to when the server went away.
            fin.stopped_early = Some(why);
        }
        let mut summary = mode_summary(
            mode,
            client_kind,
            a.roots,
            &fin,
            &rows,
            last_server.as_ref(),
        );
        let refs: Vec<&TimelineRow> = rows.iter().collect();
        let r = analysis::retained(
            mode,
            a.rate,
            a.retention_spec(),
            a.sample_interval.as_secs_f64(),
            &fin,
            &refs,
        );
        summary.retained_bytes_per_session = r.bytes_per_session;
        summary.retained_bytes_method = r.method.map(str::to_string);
        if client_kind == ClientKind::Reqwest && mode == Mode::Fresh && a.retention_spec().is_some()
        {
            summary.retained_bytes_method = Some(
                "not measured: reqwest keeps its TLS state to itself, so the retention model applies to hyper sessions only"
                    .into(),
            );
        }
        summary.retained_bytes_slope = r.slope_bytes_per_session;
        summary.model_plateau_bytes = r.model_bytes;
        summary.model_plateau_sessions = r.model_sessions;
        summary.measured_plateau_bytes = r.measured_bytes;
        summary.measured_plateau_sessions = r.measured_sessions;
        summary.plateau_ratio = r.ratio;
        summary.plateau_reached_s = r.reached_s;
        if let Some(b) = r.bytes_per_session {
            for row in &mut rows {
                row.retained_bytes = row.retained_sessions.map(|n| (n as f64 * b).round() as u64);
            }
        }
        Some(ModeResult { rows, summary })
    }

    /// Starts the server worker and waits for its port.
    async fn start_server(
        &self,
        mode: Mode,
        cfg: &ServerWorkerConfig,
        all: &mut AllModes,
    ) -> Option<(Worker, u16)> {
        let mut server = match serde_json::to_string(cfg)
            .map_err(std::io::Error::other)
            .and_then(|c| Worker::spawn(&self.exe, "server", &c))
        {
            Ok(w) => w,
            Err(e) => {
                all.died(format!("{mode}: cannot start the server worker: {e}"));
                return None;
            }
        };
        match tokio::time::timeout(WORKER_GRACE, server.next()).await {
            Ok(Some(WorkerMsg::Ready { port, fd_limit })) => {
                all.fd_limit = fd_limit;
                Some((server, port))
            }
            _ => {
                let (status, err) = server.finish().await;
                all.died(format!(
                    "{mode}: the server worker did not start{}",
                    how_it_ended(status, &err)
                ));
                None
            }
        }
    }

    fn show(&self, pb: &ProgressBar, s: &ClientSample) {
        // The bar runs on the run's clock; under the virtual clock the wall time is shown too.
        pb.set_position(s.virtual_t_s as u64);
        let wall = match self.args.clock {
            Clock::Virtual => format!("wall {:.1}s  ", s.t_s),
            Clock::Real => String::new(),
        };
        let retained = s
            .retained_sessions
            .map(|n| format!("  kept {n}"))
            .unwrap_or_default();
        pb.set_message(format!(
            "{wall}{:>7.1} req/s  ok {}  fail {}  late {}  rss {}  heap {}  fds {}{retained}",
            s.interval_rps,
            s.requests_ok,
            s.requests_failed,
            s.late_starts,
            s.rss_bytes
                .map(|b| fmt_bytes(b as f64))
                .unwrap_or("n/a".into()),
            s.heap_live_bytes
                .map(|b| fmt_bytes(b as f64))
                .unwrap_or("n/a".into()),
            s.open_fds.map(|v| v.to_string()).unwrap_or("n/a".into()),
        ));
    }
}

/// `fresh`, or `fresh/reqwest` when several clients run.
fn leg_label(mode: Mode, client: ClientKind, many_clients: bool) -> String {
    if many_clients {
        format!("{mode}/{client}")
    } else {
        mode.to_string()
    }
}

fn row(
    mode: Mode,
    client: ClientKind,
    s: &ClientSample,
    srv: Option<&ServerSample>,
) -> TimelineRow {
    TimelineRow {
        mode: mode.to_string(),
        client: client.to_string(),
        t_s: s.t_s,
        virtual_t_s: s.virtual_t_s,
        requests_ok: s.requests_ok,
        requests_failed: s.requests_failed,
        interval_rps: s.interval_rps,
        late_starts: s.late_starts,
        client_rss_bytes: s.rss_bytes,
        client_heap_live_bytes: s.heap_live_bytes.unwrap_or(0),
        client_alloc_bytes_total: s.alloc_bytes_total.unwrap_or(0),
        client_allocs_total: s.allocs_total.unwrap_or(0),
        client_cpu_s: s.cpu_s,
        client_open_fds: s.open_fds,
        client_open_conns: s.open_conns,
        retained_sessions: s.retained_sessions,
        retained_bytes: s.retained_bytes,
        handshakes_full: s.handshakes_full,
        handshakes_resumed: s.handshakes_resumed,
        requests_reused_conn: s.requests_reused_conn,
        latency_p50_us: s.latency_p50_us,
        latency_p99_us: s.latency_p99_us,
        latency_max_us: s.latency_max_us,
        server_rss_bytes: srv.and_then(|v| v.rss_bytes),
        server_heap_live_bytes: srv.and_then(|v| v.heap_live_bytes),
        server_cpu_s: srv.and_then(|v| v.cpu_s),
        server_open_fds: srv.and_then(|v| v.open_fds),
        server_open_conns: srv.map(|v| v.open_conns),
        server_handshakes_full: srv.map(|v| v.handshakes_full),
        server_handshakes_resumed: srv.map(|v| v.handshakes_resumed),
        server_cache_entries: srv.map(|v| v.cache_entries),
        server_cache_bytes: srv.map(|v| v.cache_bytes),
    }
}

/// Totals rebuilt from the last sample when a client worker died before its final report.
fn partial_final(rows: &[TimelineRow], a: &RunArgs) -> ClientFinal {
    let last = rows.last();
    ClientFinal {
        requests_planned: (a.rate * a.duration().as_secs_f64()).ceil() as u64,
        requests_ok: last.map_or(0, |r| r.requests_ok),
        requests_failed: last.map_or(0, |r| r.requests_failed),
        elapsed_s: last.map_or(0.0, |r| r.t_s),
        late_starts: last.map_or(0, |r| r.late_starts),
        handshakes_full: last.and_then(|r| r.handshakes_full),
        handshakes_resumed: last.and_then(|r| r.handshakes_resumed),
        requests_reused_conn: last.and_then(|r| r.requests_reused_conn),
        stopped_early: Some("the client worker ended without its final report".into()),
        ..Default::default()
    }
}

fn max_of<T: Copy + Ord>(it: impl Iterator<Item = Option<T>>) -> Option<T> {
    it.flatten().max()
}

fn mode_summary(
    mode: Mode,
    client: ClientKind,
    roots: RootsChoice,
    f: &ClientFinal,
    rows: &[TimelineRow],
    srv: Option<&ServerSample>,
) -> ModeSummary {
    let per_req = |total: Option<u64>| {
        total
            .filter(|_| f.requests_ok > 0)
            .map(|t| t as f64 / f.requests_ok as f64)
    };
    let elapsed = f.elapsed_s.max(f64::EPSILON);
    let heap_samples = rows.iter().map(|r| r.client_heap_live_bytes);
    ModeSummary {
        mode: mode.to_string(),
        client: client.to_string(),
        roots: roots.to_string(),
        requests_planned: f.requests_planned,
        requests_started: f.requests_started,
        requests_ok: f.requests_ok,
        requests_failed: f.requests_failed,
        failures_by_kind: f.failures_by_kind.clone(),
        elapsed_s: f.elapsed_s,
        achieved_rps: f.requests_ok as f64 / elapsed,
        late_starts: f.late_starts,
        start_lag_us: f.start_lag_us.unwrap_or(P50P99 { p50: 0, p99: 0 }),
        handshakes_full: f.handshakes_full,
        handshakes_resumed: f.handshakes_resumed,
        requests_on_reused_connection: f.requests_reused_conn,
        connections_opened: f.connections_opened,
        client_alloc_bytes_per_request: per_req(f.load_alloc_bytes),
        client_allocs_per_request: per_req(f.load_allocs),
        client_builds: f.builds,
        client_build_us: f.build_us,
        client_build_alloc_bytes: f
            .build_alloc_bytes_total
            .filter(|_| f.builds > 0)
            .map(|b| b as f64 / f.builds as f64),
        client_build_core_share: (f.builds > 0).then(|| f.build_us_total as f64 / 1e6 / elapsed),
        retained_bytes_per_session: None,
        retained_bytes_method: None,
        model_plateau_bytes: None,
        measured_plateau_bytes: None,
        client_rss_start_bytes: f.rss_start,
        client_rss_peak_bytes: max_of(rows.iter().map(|r| r.client_rss_bytes).chain([f.rss_end])),
        client_rss_end_bytes: f.rss_end,
        client_heap_start_bytes: f.heap_start.unwrap_or(0),
        client_heap_peak_bytes: heap_samples.chain(f.heap_end).max().unwrap_or(0),
        client_heap_end_bytes: f.heap_end.unwrap_or(0),
        client_cpu_s: f.cpu_s,
        open_fds_start: f.fds_start,
        open_fds_peak: max_of(rows.iter().map(|r| r.client_open_fds).chain([f.fds_end])),
        open_fds_end: f.fds_end,
        open_connections_peak: max_of(rows.iter().map(|r| r.client_open_conns)),
        latency_us: f.latency,
        sampler_cpu_us_total: f.sampler_cpu_us,
        sampler_share: f.sampler_cpu_us as f64 / 1e6 / elapsed,
        stopped_early: f.stopped_early.clone(),
        retained_bytes_slope: None,
        model_plateau_sessions: None,
        measured_plateau_sessions: None,
        plateau_ratio: None,
        plateau_reached_s: None,
        retained_sessions_peak: max_of(rows.iter().map(|r| r.retained_sessions)),
        virtual_s: f.virtual_s,
        knobs: f.knobs.clone().and_then(Result::ok),
        knobs_error: f.knobs.clone().and_then(Result::err),
        server: srv.map(|s| ServerSummary {
            rss_peak_bytes: max_of(rows.iter().map(|r| r.server_rss_bytes).chain([s.rss_bytes])),
            heap_peak_bytes: max_of(
                rows.iter()
                    .map(|r| r.server_heap_live_bytes)
                    .chain([s.heap_live_bytes]),
            ),
            session_cache_entries_peak: max_of(
                rows.iter()
                    .map(|r| r.server_cache_entries)
                    .chain([Some(s.cache_entries)]),
            ),
            session_cache_bytes_peak: max_of(
                rows.iter()
                    .map(|r| r.server_cache_bytes)
                    .chain([Some(s.cache_bytes)]),
            ),
            connections_total: Some(s.connections),
            open_connections_peak: max_of(
                rows.iter()
                    .map(|r| r.server_open_conns)
                    .chain([Some(s.open_conns)]),
            ),
            handshakes_full: Some(s.handshakes_full),
            handshakes_resumed: Some(s.handshakes_resumed),
            handshakes_failed: Some(s.handshakes_failed),
            cpu_s: s.cpu_s,
        }),
    }
}
