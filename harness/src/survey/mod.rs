//! `harness survey`: every habit of [`habits::HABITS`] checked as `harness exec` checks it.

pub mod habits;
pub mod row;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::contract::plan::ServerPlan;
use crate::contract::survey::{SurveyRow, SurveySummary, SURVEY_SCHEMA};
use crate::exec::{self, which, ExecPlan, Outcome};
use crate::run::orchestrator::{create_run_dir, now_rfc3339, run_id, OutError};
use crate::vocab::defaults;
use crate::vocab::exec::{ExecEnd, HeapTool};
use crate::vocab::runtime::{Runtime, SurveyEnd};
use habits::{HabitSpec, Launch, Need, HABITS};

/// A checked `harness survey`.
#[derive(Debug, Clone)]
pub struct SurveyPlan {
    /// The runtimes to check, in [`Runtime::ALL`]'s order.
    pub runtimes: Vec<Runtime>,
    pub requests: u64,
    pub heap: HeapTool,
    pub examples: PathBuf,
    /// The server of every check (its port is ephemeral).
    pub server: ServerPlan,
    /// The survey's directory goes under it: `OUT/survey-<run-id>/`.
    pub out: PathBuf,
}

/// Errors before any habit was checked.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Out(#[from] OutError),
    #[error("--examples {0}: no such directory (run from the repository, or give --examples)")]
    NoExamples(PathBuf),
    #[error("--heap valgrind: valgrind is not installed (apt-get install valgrind)")]
    NoValgrind,
}

/// Runs every chosen habit and writes the survey's report.
pub fn run(
    plan: &SurveyPlan,
    harness_command: String,
    progress: bool,
) -> Result<Outcome<SurveySummary>, SurveyError> {
    if !plan.examples.is_dir() {
        return Err(SurveyError::NoExamples(plan.examples.clone()));
    }
    if plan.heap == HeapTool::Valgrind && which("valgrind").is_none() {
        return Err(SurveyError::NoValgrind);
    }
    let dir = create_run_dir(&plan.out, "survey-")?;
    let started_at = now_rfc3339();
    let chosen: Vec<&HabitSpec> = HABITS
        .iter()
        .filter(|h| plan.runtimes.contains(&h.library.runtime))
        .collect();
    let start = Instant::now();
    let mut rows = Vec::new();
    let mut ended = SurveyEnd::Complete;
    for (i, spec) in chosen.iter().enumerate() {
        if progress {
            let (n, of, what, lib) = (i + 1, chosen.len(), spec.habit, spec.library);
            eprintln!("[{n}/{of}] {} {}: {what}", lib.runtime, lib.name);
        }
        let checked = check(plan, spec, &dir, &harness_command);
        let (r, interrupted) = checked.unwrap_or_else(|r| (*r, false));
        rows.push(r);
        if interrupted {
            ended = SurveyEnd::Interrupted;
            break;
        }
    }
    let summary = SurveySummary {
        schema: SURVEY_SCHEMA,
        harness_command,
        run_id: run_id(&dir),
        started_at,
        requests_per_habit: plan.requests,
        heap_tool: plan.heap,
        runtimes: plan.runtimes.clone(),
        ended,
        elapsed_s: start.elapsed().as_secs_f64(),
        method: row::methods(),
        rows,
    };
    let report_errors = crate::report::survey::write(&dir, &summary);
    Ok(Outcome {
        dir,
        summary,
        report_errors,
    })
}

/// Checks one habit; `true` when a Ctrl-C interrupted it (`Err`: the row of a habit not checked).
fn check(
    plan: &SurveyPlan,
    spec: &HabitSpec,
    dir: &Path,
    harness_command: &str,
) -> Result<(SurveyRow, bool), Box<SurveyRow>> {
    let needs = spec.library.needs.iter().copied();
    let missing: Vec<Need> = needs.filter(|n| !present(*n)).collect();
    if !missing.is_empty() {
        return Err(Box::new(row::missing(spec, &missing)));
    }
    let command = command(plan, spec, dir)?;
    let slug = slug(spec);
    let exec_plan = ExecPlan {
        command: command.clone(),
        duration: Some(defaults::SURVEY_CHECK_LIMIT),
        conditions: Vec::new(),
        heap: plan.heap,
        breakdown: plan.heap == HeapTool::Valgrind,
        server: plan.server.clone(),
        out: dir.join("checks").join(&slug),
        stdout_to_stderr: true,
    };
    let exec_command = format!("{harness_command} [{slug}]");
    match exec::run(&exec_plan, exec_command, false) {
        Ok(out) => {
            let report = out
                .dir
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .ok();
            let interrupted = out.summary.ended == ExecEnd::Interrupted;
            let row = row::measured(spec, command, report, &out.summary);
            Ok((row, interrupted))
        }
        Err(e) => Err(Box::new(row::failed(spec, Some(command), e.to_string()))),
    }
}

/// The habit's command line, its program built first where it needs building; or the row of
/// a habit that cannot be run (`missing`: a piece the survey does not build is absent).
fn command(plan: &SurveyPlan, spec: &HabitSpec, dir: &Path) -> Result<Vec<String>, Box<SurveyRow>> {
    let failed = |why: String| Box::new(row::failed(spec, None, why));
    let program = plan.examples.join(spec.program);
    let program = std::fs::canonicalize(&program)
        .map_err(|e| failed(format!("{}: {e}", program.display())))?;
    let program = program.display().to_string();
    let n = plan.requests.to_string();
    Ok(match spec.library.launch {
        Launch::Interpreter(exe) => vec![exe.into(), program, n],
        Launch::Shell { script } => vec!["sh".into(), "-c".into(), script.into(), program, n],
        Launch::GoBuild => {
            let bin = dir.join("bin");
            std::fs::create_dir_all(&bin).map_err(|e| failed(e.to_string()))?;
            let exe = bin.join(slug(spec));
            let out = Command::new("go")
                .args(["build", "-o"])
                .arg(&exe)
                .arg(&program)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| failed(format!("go build: {e}")))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                return Err(failed(format!("go build {program}: {line}")));
            }
            vec![exe.display().to_string(), n]
        }
        Launch::CargoExample { name, mode } => {
            let why = format!(
                "the {name} example is not built next to the harness ({})",
                habits::Package::CargoExample(name).install()
            );
            let exe = std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(|d| d.join("examples").join(name)))
                .filter(|p| p.is_file())
                .ok_or_else(|| Box::new(row::not_built(spec, why)))?;
            vec![exe.display().to_string(), mode.to_string(), n]
        }
    })
}

/// A name for the habit's checks and build: `go_http_get`, `reqwest_client-shared`.
fn slug(spec: &HabitSpec) -> String {
    let stem = spec
        .program
        .rsplit_once('.')
        .map_or(spec.program, |(stem, _)| stem);
    match spec.library.launch {
        Launch::CargoExample { mode, .. } => format!("{stem}-{mode}"),
        _ => stem.to_string(),
    }
}

/// Whether `need` is on this machine.
fn present(need: Need) -> bool {
    let ok = |c: &mut Command| {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    match need {
        Need::Exe(e, _) => which(e).is_some(),
        Need::PythonModule(m, _) => {
            ok(Command::new("python3").args(["-c", &format!("import {m}")]))
        }
        Need::PhpExtension(x, _) => ok(
            Command::new("php").args(["-r", &format!("exit(extension_loaded('{x}') ? 0 : 1);")])
        ),
    }
}
