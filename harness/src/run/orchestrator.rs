//! The parent process of a run: run directory, a server and a client worker per leg, the files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use crate::contract::plan::{RunPlan, Target};
use crate::contract::summary::{write_json, ModeSummary, Summary};
use crate::contract::timeline::{self, TimelineRow};
use crate::contract::wire::{ClientFinal, ClientSample, ServerSample, WorkerMsg};
use crate::contract::worker::{ClientWorkerConfig, ServerWorkerConfig, WorkerRole};
use crate::run::assemble::{self, LegEnd, LegOutcome, LegRecord, RunExit, RunMeta};
use crate::run::process::{interrupts, next_of, start_server, Exited, Worker, WORKER_GRACE};
use crate::tls::certs;
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;
use crate::vocab::units;

/// Errors that stop a run before it measures anything (bad output directory, certificates).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Out(#[from] OutError),
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    #[error("cannot find the harness executable to start workers: {0}")]
    Exe(std::io::Error),
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
}

/// A run directory that could not be made under `--out`.
#[derive(Debug, thiserror::Error)]
#[error("--out {path}: {reason}")]
pub struct OutError {
    path: PathBuf,
    reason: String,
}

#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
    pub exit: RunExit,
    /// Problems writing the report (the raw files may still be there).
    pub report_errors: Vec<String>,
}

/// Runs every leg of `plan` and writes `summary.json`, `timeline.csv` and the report.
/// `progress` shows the live bar (on stderr) and the per-mode lines.
pub fn run(plan: &RunPlan, command: String, progress: bool) -> Result<RunOutcome, RunError> {
    let dir = create_run_dir(&plan.out, "")?;
    let certs = ensure_certs(&plan.certs_dir)?;
    let exe = std::env::current_exe().map_err(RunError::Exe)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let orchestrator = Orchestrator {
        plan: plan.clone(),
        exe,
        ca: certs.paths.ca.clone(),
        dir: dir.clone(),
        progress,
    };
    let mut meta = RunMeta {
        command,
        run_id: run_id(&dir),
        started_at: now_rfc3339(),
        target: None,
        fd_limit: None,
    };
    let (outcomes, legs) = rt.block_on(orchestrator.run_all(&mut meta));
    let (rows, modes): (Vec<Vec<TimelineRow>>, Vec<_>) = legs.into_iter().unzip();
    let (summary, exit) = assemble::summary(plan, &meta, &outcomes, modes);
    let rows = rows.concat();

    let report_errors = [
        timeline::write_csv(&dir.join("timeline.csv"), &rows).map_err(|e| e.to_string()),
        write_json(&dir.join("summary.json"), &summary).map_err(|e| e.to_string()),
        crate::report::render(&dir, &summary, &rows)
            .map(drop)
            .map_err(|e| format!("charts: {e}")),
        point_latest(&plan.out, &dir).map_err(|e| format!("reports/latest: {e}")),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect();
    Ok(RunOutcome {
        dir,
        summary,
        exit,
        report_errors,
    })
}

/// The certificates in `dir`, generated (and said so on stderr) when missing or unusable.
pub(crate) fn ensure_certs(dir: &Path) -> Result<certs::CertSet, certs::CertError> {
    let (set, provenance) = certs::ensure(dir)?;
    if let certs::CertOrigin::Generated { because } = provenance {
        eprintln!("generated certificates in {} ({because})", dir.display());
    }
    Ok(set)
}

/// Now, as a report's `started_at` gives it (RFC 3339, UTC).
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The run id of a report directory: its name.
pub(crate) fn run_id(dir: &Path) -> String {
    dir.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Creates `out/<prefix><run-id>` (the survey's `survey-<run-id>`); a run never reuses or
/// overwrites a directory.
pub(crate) fn create_run_dir(out: &Path, prefix: &str) -> Result<PathBuf, OutError> {
    let err = |reason: String| OutError {
        path: out.to_path_buf(),
        reason,
    };
    if out.exists() && !out.is_dir() {
        return Err(err("exists and is not a directory".into()));
    }
    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let base = format!("{prefix}{}", run_id_at(time::OffsetDateTime::now_utc()));
    let ids = std::iter::once(base.clone()).chain((2..1000).map(|n| format!("{base}-{n}")));
    for id in ids {
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

/// Where a progress display draws: stderr when progress was asked for and stderr is a terminal,
/// else nowhere.
pub(crate) fn progress_target(progress: bool) -> ProgressDrawTarget {
    if progress && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

/// Points `out/latest` at `dir` (a relative symlink, replaced atomically).
pub(crate) fn point_latest(out: &Path, dir: &Path) -> std::io::Result<()> {
    let name = dir.file_name().unwrap_or_default();
    let tmp = out.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(name, &tmp)?;
    std::fs::rename(&tmp, out.join("latest"))
}

struct Orchestrator {
    plan: RunPlan,
    exe: PathBuf,
    ca: PathBuf,
    dir: PathBuf,
    progress: bool,
}

/// Each leg's timeline rows and summary.
type Assembled = Vec<(Vec<TimelineRow>, ModeSummary)>;

impl Orchestrator {
    async fn run_all(&self, meta: &mut RunMeta) -> (Vec<LegOutcome>, Assembled) {
        let mut intr = interrupts();
        let (mut outcomes, mut assembled) = (Vec::new(), Vec::new());
        let legs = self.plan.legs();
        let total = legs.len();
        let several = self.plan.clients.len() > 1;
        for (i, (mode, client)) in legs.into_iter().enumerate() {
            let label = mode.leg_label(client, several);
            let pb = self.progress_bar(&label, i, total);
            let outcome = self.leg(mode, client, &mut intr, &pb, meta).await;
            pb.finish_and_clear();
            if let LegOutcome::Ran(r) = &outcome {
                let (rows, m) = assemble::leg(&self.plan, r);
                if self.progress {
                    eprintln!(
                        "[{}/{total}] {label}: {} ok, {} failed, heap at the end {}",
                        i + 1,
                        m.load.requests_ok,
                        m.load.requests_failed,
                        units::opt_bytes(m.load.client_heap_end_bytes),
                    );
                }
                assembled.push((rows, m));
            }
            outcomes.push(outcome);
            if !outcomes.iter().all(LegOutcome::carry_on) {
                break;
            }
        }
        (outcomes, assembled)
    }

    fn progress_bar(&self, label: &str, i: usize, total: usize) -> ProgressBar {
        let secs = self.plan.duration.as_secs().max(1);
        let pb = ProgressBar::with_draw_target(Some(secs), progress_target(self.progress));
        let style =
            ProgressStyle::with_template("{prefix:>14} [{bar:28.cyan/blue}] {pos:>4}/{len}s {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(format!("[{}/{total}] {label}", i + 1));
        pb
    }

    fn client_config(&self, mode: Mode, client: ClientKind, target: String) -> ClientWorkerConfig {
        let p = &self.plan;
        let (ca_files, builtin) = match &p.target {
            Target::Builtin { .. } => (vec![self.ca.clone()], true),
            Target::External { ca, .. } => (ca.iter().cloned().collect(), false),
        };
        ClientWorkerConfig {
            plan: p.clone(),
            mode,
            client,
            target,
            ca_files,
            dhat_file: p
                .breakdown
                .then(|| self.dir.join(format!("dhat-heap-{mode}-{client}.json"))),
            // The probe's private server presents the harness certificates: only meaningful
            // when the run's target does too.
            probe_certs_dir: (builtin && client == ClientKind::Hyper).then(|| p.certs_dir.clone()),
        }
    }

    /// Runs one leg: its server (unless the target is external) and its client, to their end.
    async fn leg(
        &self,
        mode: Mode,
        client_kind: ClientKind,
        intr: &mut watch::Receiver<u32>,
        pb: &ProgressBar,
        meta: &mut RunMeta,
    ) -> LegOutcome {
        let (mut server, target) = match &self.plan.target {
            Target::Builtin { port } => {
                let cfg = ServerWorkerConfig {
                    server: self.plan.server_plan(*port),
                    witness: false,
                };
                match start_server(&self.exe, cfg).await {
                    Ok((w, port, fd_limit)) => {
                        meta.fd_limit = fd_limit;
                        (Some(w), format!("https://localhost:{port}/"))
                    }
                    Err(why) => return LegOutcome::NotStarted(format!("{mode}: {why}")),
                }
            }
            Target::External { url, .. } => (None, url.clone()),
        };
        meta.target = Some(target.clone());
        let cfg = self.client_config(mode, client_kind, target);
        let mut client = match Worker::spawn(&self.exe, WorkerRole::Client, &cfg) {
            Ok(w) => w,
            Err(e) => {
                if let Some(server) = server {
                    let _ = server.finish().await;
                }
                return LegOutcome::NotStarted(format!(
                    "{mode}: cannot start the client worker: {e}"
                ));
            }
        };

        let mut rows = Vec::new();
        let mut last_server: Option<ServerSample> = None;
        let mut server_alive = server.is_some();
        let mut fin: Option<ClientFinal> = None;
        let mut interrupted = false;
        let mut seen_intr = *intr.borrow();
        loop {
            tokio::select! {
                msg = client.next() => match msg {
                    Some(WorkerMsg::Client(s)) => {
                        self.show(pb, &s);
                        rows.push(TimelineRow {
                            mode,
                            client: client_kind,
                            sample: *s,
                            server: last_server.clone(),
                            ..Default::default()
                        });
                    }
                    Some(WorkerMsg::ClientDone(f)) => { fin = Some(*f); break; }
                    Some(_) => {}
                    None => break,
                },
                msg = next_of(&mut server), if server_alive => match msg {
                    Some(WorkerMsg::Server(s)) => last_server = Some(s),
                    Some(_) => {}
                    None => {
                        server_alive = false;
                        client.ask_stop();
                    }
                },
                changed = intr.changed() => {
                    let n = *intr.borrow();
                    if changed.is_err() || n == seen_intr { continue; }
                    seen_intr = n;
                    interrupted = true;
                    if n >= 2 {
                        let _ = client.child.start_kill();
                    } else {
                        pb.set_message("stopping: waiting for requests in flight (Ctrl-C again to kill)");
                        client.ask_stop();
                    }
                }
            }
        }
        let server_lost = server.is_some() && !server_alive;
        let server_exit = match server {
            Some(mut w) => {
                w.ask_stop();
                if server_alive {
                    while let Ok(Some(m)) = tokio::time::timeout(WORKER_GRACE, w.next()).await {
                        if let WorkerMsg::ServerDone(s) | WorkerMsg::Server(s) = m {
                            last_server = Some(s);
                        }
                    }
                }
                Some(w.finish().await)
            }
            None => None,
        };
        let client_exit = client.finish().await;
        let end = if interrupted {
            LegEnd::Interrupted
        } else if server_lost {
            LegEnd::ServerDied(format!(
                "{mode}: the server worker died mid-run{}",
                server_exit.as_ref().map(Exited::how).unwrap_or_default()
            ))
        } else if fin.is_none() {
            LegEnd::ClientDied(format!(
                "{mode}: the client worker died mid-run{}",
                client_exit.how()
            ))
        } else {
            LegEnd::Completed
        };
        LegOutcome::Ran(Box::new(LegRecord {
            mode,
            client: client_kind,
            rows,
            last_server,
            fin,
            end,
            unparsed_lines: client_exit.unparsed + server_exit.map_or(0, |e| e.unparsed),
        }))
    }

    fn show(&self, pb: &ProgressBar, s: &ClientSample) {
        // The bar runs on the run's clock; under the virtual clock the wall time is shown too.
        pb.set_position(s.virtual_t_s as u64);
        let wall = match self.plan.clock {
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
            units::opt(s.late_starts, units::count),
            units::opt_bytes(s.client_rss_bytes),
            units::opt_bytes(s.client_heap_live_bytes),
            units::opt(s.client_open_fds, units::count),
        ));
    }
}
