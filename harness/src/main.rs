//! The `harness` binary: the counting allocator, the command line, each outcome's exit code.

use std::process::ExitCode;

use clap::Parser;
use harness::cli::args::{Cli, Command, ExecArgs, RunArgs};
use harness::cli::survey::SurveyArgs;
use harness::contract::worker::WorkerRole;
use harness::report::table::View;
use harness::run::assemble::RunExit;
use harness::run::orchestrator::{self, RunError};
use harness::run::{handshakes, worker};
use harness::tls::certs;
use harness::{report, vocab};

#[global_allocator]
static ALLOC: harness::measure::alloc::CountingAlloc = harness::measure::alloc::CountingAlloc;

/// The exit code; an error already printed takes the `Err` side, so `?` ends the command.
type Exit = Result<ExitCode, ExitCode>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        // --help and --version: clap prints them and exits 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's message (its tip and the possible values too) on one line, without the
            // usage block it appends; clap's exit code for a usage error (2).
            let text = e.render().to_string();
            let message = text.split("\nUsage:").next().unwrap_or_default();
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("{line}");
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let exit = match cli.command {
        None => run(cli.run, command),
        Some(Command::Certs { certs_dir }) => done(certs::generate(&certs_dir), |set| {
            let [ca, cert, key, java] = [
                &set.paths.ca,
                &set.paths.server_cert,
                &set.paths.server_key,
                &set.paths.java_truststore,
            ]
            .map(|p| p.display());
            println!("wrote {ca}, {cert}, {key} and {java} (the CA as a Java trust store)");
        }),
        Some(Command::Serve(args)) => done(harness::cli::serve::serve(&args), drop),
        Some(Command::Exec(args)) => exec(args, command),
        Some(Command::Handshakes(args)) => match args.plan(command) {
            Ok(plan) => done(handshakes::run(&plan, true), |(summary, dir)| {
                print!("{}", report::handshakes::render(&summary));
                println!("wrote {}", dir.join("summary.json").display());
            }),
            Err(e) => Err(fail(2, e)),
        },
        Some(Command::Survey(args)) => survey(&args, command),
        Some(Command::Report { dir }) => match report::render_dir(&dir) {
            // A directory that is not there is a mistake in the command line.
            Err(e @ report::ReportError::NoDir(_)) => Err(fail(2, e)),
            written => done(written, |files| {
                files.iter().for_each(|f| println!("{}", f.display()))
            }),
        },
        Some(Command::Worker { role, config }) => match role {
            WorkerRole::Server => done(worker::server_main(&config), drop),
            WorkerRole::Client => done(worker::client_main(&config), drop),
            WorkerRole::Handshakes => done(handshakes::worker_main(&config), drop),
        },
    };
    exit.unwrap_or_else(|code| code)
}

/// `then` with the result and exit 0, or print the error and exit 1.
fn done<T>(r: Result<T, impl std::fmt::Display>, then: impl FnOnce(T)) -> Exit {
    r.map(then)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| fail(1, e))
}

fn fail(code: u8, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(code)
}

fn survey(args: &SurveyArgs, command: String) -> Exit {
    let out = harness::survey::run(&args.plan(), command, !args.quiet).map_err(|e| fail(2, e))?;
    let table = || report::survey::table(&out.summary);
    print_report(false, &out.summary, table, &out.dir, &out.report_errors)?;
    match out.summary.ended {
        vocab::runtime::SurveyEnd::Complete => Ok(ExitCode::SUCCESS),
        vocab::runtime::SurveyEnd::Interrupted => {
            eprintln!("interrupted: wrote the habits checked so far");
            Ok(ExitCode::from(130))
        }
    }
}

fn exec(args: ExecArgs, command: String) -> Exit {
    let out = harness::exec::run(&args.plan(), command, !args.report.quiet)
        .map_err(|e| fail(e.exit_code(), e))?;
    let table = || harness::exec::report::table(&out.summary);
    let json = args.report.json;
    print_report(json, &out.summary, table, &out.dir, &out.report_errors)?;
    if out.summary.witness == vocab::exec::WitnessRecord::Lost {
        eprintln!(
            "error: the witness was lost: the server's record of connections never arrived ({})",
            harness::exec::sources::worker_how(out.summary.server_worker.as_ref())
        );
    }
    for c in out.summary.conditions.iter().filter(|c| c.failed) {
        match &c.unmeasured {
            Some(why) => eprintln!("error: --fail-if {}: not measured ({why})", c.condition),
            None => eprintln!("error: --fail-if {} holds", c.condition),
        }
    }
    Ok(ExitCode::from(out.exit_code()))
}

/// Prints a finished report: with `--json`, `summary.json` alone on stdout (for `| jq`) and
/// everything for people on stderr; otherwise the table. Then the warnings from writing the
/// report and its path.
fn print_report(
    json: bool,
    summary: &impl serde::Serialize,
    table: impl FnOnce() -> String,
    dir: &std::path::Path,
    report_errors: &[String],
) -> Result<(), ExitCode> {
    if json {
        let text = serde_json::to_string_pretty(summary).map_err(|e| fail(1, e))?;
        println!("{text}");
    } else {
        print!("{}", table());
    }
    for e in report_errors {
        eprintln!("warning: {e}");
    }
    let report = format!("report: {}", dir.join("index.html").display());
    if json {
        eprintln!("{report}");
    } else {
        println!("{report}");
    }
    Ok(())
}

fn run(args: RunArgs, command: String) -> Exit {
    let plan = args.plan().map_err(|e| fail(2, e))?;
    let out = orchestrator::run(&plan, command, !args.report.quiet).map_err(|e| match e {
        RunError::Out(_) => fail(2, e),
        _ => fail(1, e),
    })?;
    let width = report::wrap::terminal_width();
    let view = if args.detail {
        View::Detail
    } else {
        View::Brief
    };
    let table = || report::table::render(&out.summary, view, width);
    let json = args.report.json;
    print_report(json, &out.summary, table, &out.dir, &out.report_errors)?;
    let stopped = out.summary.stopped_reason.as_deref();
    let (code, message) = match out.exit {
        RunExit::Clean => return Ok(ExitCode::SUCCESS),
        RunExit::Failures => (
            1,
            "error: some requests failed or a mode stopped early (see above)".into(),
        ),
        RunExit::WorkerDied => (1, format!("error: {}", stopped.unwrap_or("a worker died"))),
        RunExit::Interrupted => (130, "interrupted: wrote what was measured so far".into()),
    };
    eprintln!("{message}");
    Ok(ExitCode::from(code))
}
