//! What a leg left (`LegRecord`); pure: its timeline rows and `ModeSummary`, `Summary`, `RunExit`.

use crate::contract::breakdown::ByteFigure;
use crate::contract::plan::{RunPlan, Target};
use crate::contract::summary::{ModeSummary, Scenario, ServerSummary, Summary, SCHEMA};
use crate::contract::timeline::TimelineRow;
use crate::contract::wire::{ClientFinal, ClientSample, ClientTotals, ServerSample};
use crate::run::analysis;
use crate::run::method_text::{methods, versions, BREAKDOWN};
use crate::run::soundness::{self, RateVerdict};
use crate::tls::config;
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

/// How one leg (a mode with a client) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LegEnd {
    /// The client worker sent its final report.
    Completed,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// A worker died; the text says which and how.
    ClientDied(String),
    ServerDied(String),
}

/// What supervising one leg produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub mode: Mode,
    pub client: ClientKind,
    /// Each client sample with the server's latest sample at the time.
    pub rows: Vec<TimelineRow>,
    /// The server's last sample (its final one when it stopped cleanly).
    pub last_server: Option<ServerSample>,
    pub fin: Option<ClientFinal>,
    pub end: LegEnd,
    /// Lines from the workers that were not valid messages.
    pub unparsed_lines: u64,
}

/// How supervising one leg went.
#[derive(Debug, Clone, PartialEq)]
pub enum LegOutcome {
    /// A worker could not be started; nothing was measured.
    NotStarted(String),
    Ran(Box<LegRecord>),
}

impl LegOutcome {
    /// Whether the run goes on to the next leg.
    pub fn carry_on(&self) -> bool {
        matches!(self, LegOutcome::Ran(r) if r.end == LegEnd::Completed)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// Every request succeeded.
    Clean,
    /// Some requests failed or a mode stopped early; the report says which.
    Failures,
    /// A worker process died (or never started); what it measured so far was kept.
    WorkerDied,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

/// Why the run stopped before its last leg: the first leg that did not complete says.
pub fn stopped_reason(outcomes: &[LegOutcome]) -> Option<String> {
    outcomes.iter().find_map(|o| match o {
        LegOutcome::NotStarted(why) => Some(why.clone()),
        LegOutcome::Ran(r) => match &r.end {
            LegEnd::Completed => None,
            LegEnd::Interrupted => Some(format!("interrupted during mode {}", r.mode)),
            LegEnd::ClientDied(why) | LegEnd::ServerDied(why) => Some(why.clone()),
        },
    })
}

/// The exit status of a run with these outcomes and summaries.
pub fn exit(plan: &RunPlan, outcomes: &[LegOutcome], modes: &[ModeSummary]) -> RunExit {
    if outcomes
        .iter()
        .any(|o| matches!(o, LegOutcome::Ran(r) if r.end == LegEnd::Interrupted))
    {
        RunExit::Interrupted
    } else if !outcomes.iter().all(LegOutcome::carry_on) {
        RunExit::WorkerDied
    } else if modes
        .iter()
        .any(|m| m.load.requests_failed > 0 || m.load.stopped_early.is_some())
        || modes.len() < plan.legs().len()
    {
        RunExit::Failures
    } else {
        RunExit::Clean
    }
}

/// Totals rebuilt from the last sample when a client worker died before its final report.
fn partial_final(rows: &[TimelineRow], plan: &RunPlan) -> ClientFinal {
    let last = rows.last().map(|r| &r.sample);
    ClientFinal {
        totals: ClientTotals {
            requests_planned: plan.planned(),
            requests_ok: last.map_or(0, |r| r.requests_ok),
            requests_failed: last.map_or(0, |r| r.requests_failed),
            elapsed_s: last.map_or(0.0, |r| r.t_s),
            late_starts: last.and_then(|r| r.late_starts),
            handshakes_full: last.and_then(|r| r.handshakes_full),
            handshakes_resumed: last.and_then(|r| r.handshakes_resumed),
            requests_on_reused_connection: last.and_then(|r| r.requests_reused_conn),
            stopped_early: Some("the client worker ended without its final report".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A ratio that is only a figure when both sides were measured and the divisor is not 0.
pub(crate) fn per(total: Option<u64>, n: u64) -> Option<f64> {
    total.filter(|_| n > 0).map(|t| t as f64 / n as f64)
}

/// The server's figures over a leg (or a `harness exec` check): peaks over its samples and its
/// last sample, and the last sample's counters.
pub fn server_summary<'a>(
    samples: impl Iterator<Item = &'a ServerSample> + Clone,
    last: &'a ServerSample,
) -> ServerSummary {
    let peak =
        |f: fn(&ServerSample) -> Option<u64>| samples.clone().chain([last]).filter_map(f).max();
    ServerSummary {
        rss_peak_bytes: peak(|s| s.server_rss_bytes),
        heap_peak_bytes: peak(|s| s.server_heap_live_bytes),
        session_cache_entries_peak: peak(|s| Some(s.server_cache_entries)),
        session_cache_bytes_peak: peak(|s| Some(s.server_cache_bytes)),
        connections_total: Some(last.server_connections),
        open_connections_peak: peak(|s| Some(s.server_open_conns)),
        handshakes_full: Some(last.server_handshakes_full),
        handshakes_resumed: Some(last.server_handshakes_resumed),
        handshakes_failed: Some(last.server_handshakes_failed),
        cpu_s: last.server_cpu_s,
        requests: Some(last.server_requests),
        accept_errors: Some(last.server_accept_errors),
    }
}

/// A leg's timeline rows and summary: the measured totals as the worker sent them, and every
/// derived figure computed here, once.
pub fn leg(plan: &RunPlan, rec: &LegRecord) -> (Vec<TimelineRow>, ModeSummary) {
    let mut rows = rec.rows.clone();
    let mut fin = rec
        .fin
        .clone()
        .unwrap_or_else(|| partial_final(&rows, plan));
    if let LegEnd::ServerDied(why) = &rec.end {
        // The client stopped because it was asked to when the server went away.
        fin.totals.stopped_early = Some(why.clone());
    }
    let t = &fin.totals;
    let elapsed = t.elapsed_s.max(f64::EPSILON);
    // The maximum over the samples and the final reading (`end`), if any.
    let peak = |f: fn(&ClientSample) -> Option<u64>, end: Option<u64>| {
        rows.iter()
            .map(|r| f(&r.sample))
            .chain([end])
            .flatten()
            .max()
    };
    let mut r = analysis::retained(rec.mode, plan, &fin, &rows);
    if rec.client != ClientKind::Hyper && rec.mode == Mode::Fresh && plan.retention.is_some() {
        r.retained_bytes_method = Some(format!("not measured: {} keeps its TLS state to itself, so the retention model applies to hyper sessions only", rec.client));
    } else if let Some(Err(why)) = &fin.kept {
        r.retained_bytes_method = Some(format!("not measured: {why}"));
    }
    let build_cores_needed = per(t.client_build_cpu_us_total, t.client_builds)
        .filter(|_| rec.mode.session_per_request())
        .map(|us| us * plan.rate / 1e6);
    let (rate_bound, rate_bound_not_measured) =
        match soundness::rate_verdict(plan.rate, plan.clock, t, build_cores_needed) {
            RateVerdict::Bound(why) => (Some(why), None),
            RateVerdict::NotMeasured(why) => (None, Some(why)),
            RateVerdict::NoSchedule | RateVerdict::Kept => (None, None),
        };
    let unsound = soundness::per_session_unsound(
        rate_bound.as_deref().or(rate_bound_not_measured.as_deref()),
        t,
    );
    let alloc_per_request = per(t.client_load_alloc_bytes, t.requests_ok);
    let profile = fin.profile.as_ref().and_then(|p| p.as_ref().ok());
    let b = r.retained_bytes_per_session;
    let summary = ModeSummary {
        mode: rec.mode,
        client: rec.client,
        roots: plan.roots,
        achieved_rps: t.requests_ok as f64 / elapsed,
        client_alloc_bytes_per_request: alloc_per_request,
        client_allocs_per_request: per(t.client_load_allocs, t.requests_ok),
        client_build_alloc_bytes: per(t.client_build_alloc_bytes_total, t.client_builds),
        client_build_core_share: t
            .client_build_cpu_us_total
            .filter(|_| t.client_builds > 0)
            .map(|us| us as f64 / 1e6 / elapsed),
        openssl_alloc_bytes_per_request: per(t.openssl_load_alloc_bytes, t.requests_ok),
        openssl_build_alloc_bytes: per(t.openssl_build_alloc_bytes_total, t.client_builds),
        build_cores_needed,
        rate_bound,
        rate_bound_not_measured,
        per_session_unsound: unsound,
        retained_sessions_peak: peak(|s| s.retained_sessions, None),
        knobs: fin.knobs.clone().and_then(Result::ok),
        knobs_error: fin.knobs.clone().and_then(Result::err),
        retained_breakdown: profile
            .and_then(|p| p.breakdown.per_unit(ByteFigure::End, p.sessions_held, b)),
        request_breakdown: profile.and_then(|p| {
            p.breakdown
                .per_unit(ByteFigure::Total, t.requests_ok, alloc_per_request)
        }),
        breakdown_error: fin.profile.as_ref().and_then(|p| p.as_ref().err().cloned()),
        held_connection: fin.held.clone().and_then(Result::ok),
        held_connection_error: fin.held.clone().and_then(Result::err),
        client_rss_peak_bytes: peak(|s| s.client_rss_bytes, t.client_rss_end_bytes),
        client_heap_peak_bytes: peak(|s| s.client_heap_live_bytes, t.client_heap_end_bytes),
        open_fds_peak: peak(|s| s.client_open_fds, t.open_fds_end),
        open_connections_peak: peak(|s| s.client_open_conns, None),
        sampler_share: t.sampler_cpu_us_total.map(|us| us as f64 / 1e6 / elapsed),
        worker_lines_unparsed: rec.unparsed_lines,
        server: rec
            .last_server
            .as_ref()
            .map(|last| server_summary(rows.iter().filter_map(|r| r.server.as_ref()), last)),
        load: fin.totals.clone(),
        ..r
    };
    if let Some(b) = b {
        for row in &mut rows {
            row.retained_bytes = row
                .sample
                .retained_sessions
                .map(|n| (n as f64 * b).round() as u64);
        }
    }
    (rows, summary)
}

/// What the run as a whole knows besides its legs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    pub command: String,
    pub run_id: String,
    pub started_at: String,
    /// Where requests went (the last leg's target), if any leg started.
    pub target: Option<String>,
    pub fd_limit: Option<u64>,
}

/// The whole `summary.json`, and how the run ended.
pub fn summary(
    plan: &RunPlan,
    meta: &RunMeta,
    outcomes: &[LegOutcome],
    modes: Vec<ModeSummary>,
) -> (Summary, RunExit) {
    let exit = exit(plan, outcomes, &modes);
    let mut method = methods();
    if plan.breakdown {
        method.insert("breakdown".into(), BREAKDOWN.into());
    }
    if let Target::External { url, .. } = &plan.target {
        method.insert(
            "server".into(),
            format!("external target {url}: server-side figures were not measured (null)"),
        );
    }
    let summary = Summary {
        schema: SCHEMA,
        command: meta.command.clone(),
        clock: plan.clock,
        interrupted: exit == RunExit::Interrupted,
        stopped_reason: stopped_reason(outcomes),
        run_id: meta.run_id.clone(),
        started_at: meta.started_at.clone(),
        scenario: Scenario {
            rate: plan.rate,
            duration_s: plan.duration.as_secs_f64(),
            retention_s: plan.retention.map(|r| r.ttl.as_secs_f64()),
            tls: plan.tls,
            kx_groups: config::kx_group_names(plan.kx),
            max_in_flight: u64::from(plan.max_in_flight),
            sample_interval_s: plan.sample_interval.as_secs_f64(),
            response_body_bytes: u64::from(plan.body_bytes),
            target: meta.target.clone(),
            fd_limit: meta.fd_limit,
            retention_cap: plan.retention.and_then(|r| r.cap).map(|c| c as u64),
            roots: Some(plan.roots),
            kx: Some(plan.kx),
            client_cache: Some(plan.client_cache as u64),
            server_cache: Some(plan.server_cache.to_string()),
            dhat: plan.breakdown,
        },
        versions: versions(),
        method,
        modes,
    };
    (summary, exit)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The plan `--seconds 2 --rate 10 --mode …` gives, every other option at its default
    /// (built here, not parsed: the run layer does not know the command line).
    pub(crate) fn plan(modes: &[Mode]) -> RunPlan {
        use crate::contract::plan::RetentionSpec;
        use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};
        use crate::vocab::{clock::Clock, defaults, server_cache::ServerCachePolicy};
        RunPlan {
            rate: 10.0,
            duration: std::time::Duration::from_secs(2),
            modes: modes.to_vec(),
            clients: vec![ClientKind::Hyper],
            tls: TlsVersion::V13,
            kx: KxChoice::Default,
            roots: RootsChoice::Ca,
            client_cache: defaults::CLIENT_CACHE,
            max_in_flight: defaults::MAX_IN_FLIGHT,
            sample_interval: defaults::SAMPLE_INTERVAL,
            body_bytes: defaults::BODY_BYTES,
            target: Target::Builtin { port: 0 },
            clock: Clock::Real,
            retention: Some(RetentionSpec {
                ttl: defaults::RETENTION,
                cap: None,
            }),
            server_cache: ServerCachePolicy::default(),
            breakdown: false,
            max_open: None,
            out: "reports".into(),
            certs_dir: "certs".into(),
        }
    }

    fn sample(t: f64, ok: u64) -> ClientSample {
        ClientSample {
            t_s: t,
            virtual_t_s: t,
            requests_ok: ok,
            client_heap_live_bytes: Some(1000 + ok),
            ..Default::default()
        }
    }

    pub(crate) fn record(end: LegEnd, fin: Option<ClientFinal>) -> LegRecord {
        LegRecord {
            mode: Mode::Shared,
            client: ClientKind::Hyper,
            rows: [sample(1.0, 10), sample(2.0, 20)]
                .map(|sample| TimelineRow {
                    mode: Mode::Shared,
                    sample,
                    ..Default::default()
                })
                .into(),
            last_server: None,
            fin,
            end,
            unparsed_lines: 0,
        }
    }

    pub(crate) fn fin(ok: u64) -> ClientFinal {
        ClientFinal {
            totals: ClientTotals {
                requests_planned: ok,
                requests_started: ok,
                requests_ok: ok,
                elapsed_s: 2.0,
                client_load_alloc_bytes: Some(ok * 100),
                client_builds: 1,
                client_build_cpu_us_total: Some(40),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn derived_figures_come_from_the_totals() {
        let p = plan(&[Mode::Shared]);
        let (rows, m) = leg(&p, &record(LegEnd::Completed, Some(fin(20))));
        assert_eq!(m.achieved_rps, 10.0);
        assert_eq!(m.client_alloc_bytes_per_request, Some(100.0));
        assert_eq!(m.client_build_core_share, Some(40e-6 / 2.0));
        assert_eq!(m.client_heap_peak_bytes, Some(1020));
        // Not measured stays unmeasured.
        assert_eq!(m.load.client_heap_start_bytes, None);
        assert_eq!(m.sampler_share, None);
        assert_eq!(m.load.late_starts, None);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            exit(
                &p,
                &[LegOutcome::Ran(Box::new(record(LegEnd::Completed, None)))],
                std::slice::from_ref(&m)
            ),
            RunExit::Clean
        );
    }

    #[test]
    fn a_dead_client_keeps_what_its_samples_said() {
        let p = plan(&[Mode::Shared]);
        let rec = record(
            LegEnd::ClientDied(
                "shared: the client worker died mid-run (signal: 9 (SIGKILL))".into(),
            ),
            None,
        );
        let r = leg(&p, &rec).1;
        assert_eq!(r.load.requests_ok, 20);
        assert!(r.load.stopped_early.is_some());
        let outcomes = [LegOutcome::Ran(Box::new(rec))];
        assert_eq!(
            exit(&p, &outcomes, std::slice::from_ref(&r)),
            RunExit::WorkerDied
        );
        assert_eq!(
            stopped_reason(&outcomes).as_deref(),
            Some("shared: the client worker died mid-run (signal: 9 (SIGKILL))")
        );
    }

    #[test]
    fn an_interrupt_wins_over_failures() {
        let p = plan(&[Mode::Shared, Mode::Fresh]);
        let rec = record(LegEnd::Interrupted, Some(fin(5)));
        let r = leg(&p, &rec).1;
        let outcomes = [LegOutcome::Ran(Box::new(rec))];
        assert_eq!(exit(&p, &outcomes, &[r]), RunExit::Interrupted);
        assert_eq!(
            stopped_reason(&outcomes).as_deref(),
            Some("interrupted during mode shared")
        );
    }

    #[test]
    fn a_server_death_marks_the_mode_stopped() {
        let p = plan(&[Mode::Shared]);
        let rec = record(
            LegEnd::ServerDied("shared: the server worker died mid-run".into()),
            Some(fin(20)),
        );
        let r = leg(&p, &rec).1;
        assert_eq!(
            r.load.stopped_early.as_deref(),
            Some("shared: the server worker died mid-run")
        );
    }

    #[test]
    fn fewer_modes_than_planned_is_a_failure() {
        let p = plan(&[Mode::Shared, Mode::Fresh]);
        let rec = record(LegEnd::Completed, Some(fin(20)));
        let r = leg(&p, &rec).1;
        assert_eq!(
            exit(&p, &[LegOutcome::Ran(Box::new(rec))], &[r]),
            RunExit::Failures
        );
    }
}
