//! From what the workers said to what the report says: pure functions from each leg's record
//! (its samples, its final totals, how it ended) to the timeline rows, the mode summaries,
//! the run summary and the exit status. No processes, no I/O, so every rule here is tested on
//! fixed inputs (ARCHITECTURE.md, "Data flow").

use std::collections::BTreeMap;

use crate::contract::breakdown::Which;
use crate::contract::plan::RunPlan;
use crate::contract::summary::METHOD_REQWEST_NATIVE_TLS;
use crate::contract::summary::{ModeSummary, Scenario, ServerSummary, Summary, Versions, SCHEMA};
use crate::contract::timeline::TimelineRow;
use crate::contract::wire::{ClientFinal, ClientSample, ClientTotals, ServerSample};
use crate::run::analysis;
use crate::tls::config as tls;
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

/// How one leg (a mode with a client) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LegEnd {
    /// The client worker sent its final report.
    Completed,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The client worker died; the text says how.
    ClientDied(String),
    /// The server worker died; the text says how.
    ServerDied(String),
}

/// What supervising one leg produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub mode: Mode,
    pub client: ClientKind,
    /// Each client sample with the server's latest sample at the time.
    pub samples: Vec<(ClientSample, Option<ServerSample>)>,
    /// The server's last sample (its final one when it stopped cleanly).
    pub last_server: Option<ServerSample>,
    /// The client worker's final report, if it sent one.
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

/// One leg's rows and summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeResult {
    pub rows: Vec<TimelineRow>,
    pub summary: ModeSummary,
}

/// Why the run stopped before its last leg, if it did; the first leg that did not complete
/// says.
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
    let ended = |f: fn(&LegEnd) -> bool| {
        outcomes
            .iter()
            .any(|o| matches!(o, LegOutcome::Ran(r) if f(&r.end)))
    };
    if ended(|e| *e == LegEnd::Interrupted) {
        RunExit::Interrupted
    } else if ended(|e| matches!(e, LegEnd::ClientDied(_) | LegEnd::ServerDied(_)))
        || outcomes
            .iter()
            .any(|o| matches!(o, LegOutcome::NotStarted(_)))
    {
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

fn max_of<T: Copy + Ord>(it: impl Iterator<Item = Option<T>>) -> Option<T> {
    it.flatten().max()
}

/// A ratio that is only a figure when both sides were measured and the divisor is not 0.
fn per(total: Option<u64>, n: u64) -> Option<f64> {
    total.filter(|_| n > 0).map(|t| t as f64 / n as f64)
}

/// The server's figures over a leg (or a `harness exec` check): peaks over its samples and its
/// last sample, and the last sample's counters.
pub fn server_summary<'a>(
    samples: impl Iterator<Item = &'a ServerSample> + Clone,
    last: &'a ServerSample,
) -> ServerSummary {
    let peak = |f: fn(&ServerSample) -> Option<u64>| max_of(samples.clone().chain([last]).map(f));
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
pub fn leg(plan: &RunPlan, rec: &LegRecord) -> ModeResult {
    let mut rows: Vec<TimelineRow> = rec
        .samples
        .iter()
        .map(|(sample, server)| TimelineRow {
            mode: rec.mode,
            client: rec.client,
            sample: sample.clone(),
            retained_bytes: None,
            server: server.clone(),
        })
        .collect();
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
    let samples = || rows.iter().map(|r| &r.sample);
    let refs: Vec<&TimelineRow> = rows.iter().collect();
    let r = analysis::retained(
        rec.mode,
        plan.rate,
        plan.retention,
        plan.sample_interval.as_secs_f64(),
        &fin,
        &refs,
    );
    let retained_bytes_method = if rec.client != ClientKind::Hyper
        && rec.mode == Mode::Fresh
        && plan.retention.is_some()
    {
        Some(format!("not measured: {} keeps its TLS state to itself, so the retention model applies to hyper sessions only", rec.client))
    } else {
        r.method.map(str::to_string)
    };
    let build_cores_needed = per(t.client_build_cpu_us_total, t.client_builds)
        .filter(|_| rec.mode.session_per_request())
        .map(|us| us * plan.rate / 1e6);
    let alloc_per_request = per(t.client_load_alloc_bytes, t.requests_ok);
    let profile = fin.profile.as_ref().and_then(|p| p.as_ref().ok());
    // A probe's outcome as the summary publishes it: its figures, or why there are none.
    fn ok<T: Clone>(r: &Option<Result<T, String>>) -> Option<T> {
        r.as_ref()?.as_ref().ok().cloned()
    }
    fn err<T>(r: &Option<Result<T, String>>) -> Option<String> {
        r.as_ref()?.as_ref().err().cloned()
    }
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
        rate_bound: build_cores_needed
            .zip(t.cores_available)
            .filter(|&(need, have)| need > have as f64)
            .map(|(need, have)| {
                format!(
                    "cannot keep --rate {} with a session per request: building alone needs {need:.2} cores (mean build CPU {:.0} µs × {} req/s) and this machine offers {have}",
                    plan.rate,
                    need / plan.rate * 1e6,
                    plan.rate
                )
            }),
        retained_bytes_per_session: r.bytes_per_session,
        retained_bytes_method,
        retained_bytes_slope: r.slope_bytes_per_session,
        model_plateau_sessions: r.model_sessions,
        model_plateau_bytes: r.model_bytes,
        measured_plateau_sessions: r.measured_sessions,
        measured_plateau_bytes: r.measured_bytes,
        plateau_ratio: r.ratio,
        plateau_reached_s: r.reached_s,
        retained_sessions_peak: max_of(samples().map(|s| s.retained_sessions)),
        knobs: ok(&fin.knobs),
        knobs_error: err(&fin.knobs),
        retained_breakdown: profile.and_then(|p| {
            p.breakdown
                .per_unit(Which::End, p.sessions_held, r.bytes_per_session)
        }),
        request_breakdown: profile.and_then(|p| {
            p.breakdown
                .per_unit(Which::Total, t.requests_ok, alloc_per_request)
        }),
        breakdown_error: err(&fin.profile),
        held_connection: ok(&fin.held),
        held_connection_error: err(&fin.held),
        client_rss_peak_bytes: max_of(
            samples()
                .map(|s| s.client_rss_bytes)
                .chain([t.client_rss_end_bytes]),
        ),
        client_heap_peak_bytes: max_of(
            samples()
                .map(|s| s.client_heap_live_bytes)
                .chain([t.client_heap_end_bytes]),
        ),
        open_fds_peak: max_of(samples().map(|s| s.client_open_fds).chain([t.open_fds_end])),
        open_connections_peak: max_of(samples().map(|s| s.client_open_conns)),
        sampler_share: t.sampler_cpu_us_total.map(|us| us as f64 / 1e6 / elapsed),
        worker_lines_unparsed: rec.unparsed_lines,
        server: rec
            .last_server
            .as_ref()
            .map(|last| server_summary(rows.iter().filter_map(|r| r.server.as_ref()), last)),
        load: fin.totals.clone(),
    };
    if let Some(b) = r.bytes_per_session {
        for row in &mut rows {
            row.retained_bytes = row
                .sample
                .retained_sessions
                .map(|n| (n as f64 * b).round() as u64);
        }
    }
    ModeResult { rows, summary }
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

/// The whole `summary.json`.
pub fn summary(
    plan: &RunPlan,
    meta: &RunMeta,
    outcomes: &[LegOutcome],
    modes: Vec<ModeSummary>,
) -> Summary {
    let interrupted = outcomes
        .iter()
        .any(|o| matches!(o, LegOutcome::Ran(r) if r.end == LegEnd::Interrupted));
    let mut method = methods();
    if plan.breakdown {
        method.insert("breakdown".into(), BREAKDOWN.into());
    }
    if let Some(url) = plan.external_url() {
        method.insert(
            "server".into(),
            format!("external target {url}: server-side figures were not measured (null)"),
        );
    }
    Summary {
        schema: SCHEMA,
        command: meta.command.clone(),
        clock: plan.clock,
        interrupted,
        stopped_reason: stopped_reason(outcomes),
        run_id: meta.run_id.clone(),
        started_at: meta.started_at.clone(),
        scenario: Scenario {
            rate: plan.rate,
            duration_s: plan.duration.as_secs_f64(),
            retention_s: plan.retention.map(|r| r.ttl.as_secs_f64()),
            tls: plan.tls,
            kx_groups: tls::kx_group_names(plan.kx),
            max_in_flight: u64::from(plan.max_in_flight),
            sample_interval_s: plan.sample_interval.as_secs_f64(),
            response_body_bytes: u64::from(plan.body_bytes),
            target: meta.target.clone(),
            fd_limit: meta.fd_limit,
            retention_cap: plan.retention.and_then(|r| r.cap).map(|c| c as u64),
            roots: Some(plan.roots),
            client_cache: Some(plan.client_cache as u64),
            server_cache: Some(plan.server_cache.to_string()),
            dhat: plan.breakdown,
        },
        versions: versions(),
        method,
        modes,
    }
}

/// The versions this build links (from `Cargo.lock`, read by the build script).
pub fn versions() -> Versions {
    let v = |s: Option<&str>| s.map(str::to_string);
    Versions {
        harness: env!("CARGO_PKG_VERSION").into(),
        rustls: v(option_env!("DEP_VERSION_RUSTLS")),
        hyper: v(option_env!("DEP_VERSION_HYPER")),
        hyper_util: v(option_env!("DEP_VERSION_HYPER_UTIL")),
        tokio_rustls: v(option_env!("DEP_VERSION_TOKIO_RUSTLS")),
        crypto_provider: option_env!("DEP_VERSION_AWS_LC_RS").map(|v| format!("aws-lc-rs {v}")),
        reqwest: v(option_env!("DEP_VERSION_REQWEST")),
        webpki_roots: v(option_env!("DEP_VERSION_WEBPKI_ROOTS")),
        build_profile: v(option_env!("BUILD_PROFILE")),
    }
}

/// `method.openssl_heap` in a `native-tls` build: how OpenSSL's heap is counted, and the DHAT
/// cross-check.
#[cfg(feature = "native-tls")]
const OPENSSL_HEAP: &str = "reqwest-native: OpenSSL allocates with C malloc, which the Rust allocator never sees; the client worker replaces OpenSSL's allocator (CRYPTO_set_mem_functions) before OpenSSL's first allocation with functions that allocate through the counting allocator and add to its counters, so every client heap figure includes OpenSSL, and the openssl_* figures are its part. A 16-byte size header per block lets frees be subtracted; the header is not counted. If OpenSSL had allocated first, the reqwest-native worker refuses to run rather than report the Rust part as the whole. For hyper (and reqwest with --roots webpki) the openssl_* figures are counted too (0: OpenSSL never called); for reqwest with --roots ca or system see reqwest_native_tls. Cross-checked once against valgrind's DHAT on the fresh scenario (2 reqwest-native clients built, one request each, dropped): DHAT saw 944,268 blocks allocated through these functions, the same count as the harness, and 34,133,264 bytes once the 16-byte headers are taken off, against the harness's 34,133,260. Outside both counters DHAT saw: 141,060 bytes in 54 blocks that libcrypto obtained from libc functions it calls (opendir, qsort_r, stdio buffers while reading the default verify paths; transient, about 0.4 % of OpenSSL's counted bytes per build), 288,561 bytes in 137 blocks that aws-lc (rustls's crypto, here the in-process server and the warm-up) allocated with its own C malloc (262,160 bytes of it the one-time jitter-entropy seeding), and 2,136 bytes of glibc's own";
/// `method.openssl_heap` in a build without OpenSSL.
#[cfg(not(feature = "native-tls"))]
const OPENSSL_HEAP: &str = "not counted: this build has no OpenSSL (built without the native-tls feature), so no client calls it and every openssl_* figure is null; --client reqwest-native needs a build with --features native-tls";

/// `method.reqwest_native_tls`, present only in a `native-tls` build: what compiling reqwest's
/// native-tls feature in does to the rustls `reqwest` client.
const REQWEST_NATIVE_TLS: &str = "this build has reqwest's native-tls feature compiled in (--features native-tls, for --client reqwest-native), and then every reqwest::Certificate is parsed by OpenSSL as well as kept for rustls: the rustls reqwest client with --roots ca or system pays that OpenSSL parse in each build (its build CPU and bytes, and so its fresh and leak bytes per request, include it; openssl_build_alloc_bytes is its byte part). OpenSSL's library initialisation (OPENSSL_init_ssl) is in the warm-up, as for reqwest-native, but OpenSSL initialises more on its first certificate parse, which stays in the first build (visible in shared and resume, which build once). A default build (no native-tls) has no OpenSSL, and its reqwest figures carry none of this; --roots webpki hands reqwest a rustls config and is not affected";

/// `method.breakdown`, present when the run had `--breakdown`.
const BREAKDOWN: &str = "--breakdown: each client worker's load ran under dhat's heap profiler (allocation is much slower: times, latencies and rates of this run are not representative), from the load's start (after the warm-up and the harness's own setup, so fixed costs paid before it are not in the profile) to its end, with every retained (fresh) or kept (leak) session still live. Each allocation site is attributed to one owner by the first rule of breakdown::RULES matching its stack (ARCHITECTURE.md, \"Where the bytes go\"); unknown stacks are `other`. retained_breakdown = each owner's bytes live at the end ÷ sessions held (the harness's own bookkeeping left out: not part of a session); request_breakdown = each owner's bytes allocated during the load ÷ completed requests. A `remainder` entry is the measured figure (b; client_alloc_bytes_per_request) minus the owners' sum, either sign, so each list adds up to the measured figure. The counting allocator leaves dhat's own bookkeeping uncounted, so the measured figures are the same program allocations as without dhat. aws-lc's C allocations are outside the Rust allocator, in neither figure";

/// How each kind of figure was measured, in words (`summary.json` `method`).
pub fn methods() -> BTreeMap<String, String> {
    let built_with_openssl = crate::vocab::client::NATIVE_TLS_BUILT
        .then_some((METHOD_REQWEST_NATIVE_TLS, REQWEST_NATIVE_TLS));
    [
        ("heap", "counting global allocator in each worker process (relaxed atomics over the system allocator): live bytes, cumulative bytes and allocations; exact, not sampled"),
        ("bytes_per_request", "derived: the client worker's allocated bytes during the load (counting allocator, process-wide delta) ÷ completed requests; allocation traffic, not memory held (includes hyper, rustls, tokio and the sampler's own allocations)"),
        ("build", "each session build: wall time with a monotonic clock, CPU time of the building thread (CLOCK_THREAD_CPUTIME_ID), and the bytes allocated on that thread (the build is synchronous, so both are its own); client_build_core_share is the CPU total ÷ elapsed wall time"),
        ("rss", "resident set size from /proc/self/statm, sampled every interval in each process"),
        ("fds", "entries of /proc/self/fd, sampled every interval"),
        ("peaks", "maxima over the samples and the final reading (a peak between samples is not seen)"),
        ("latency", "from a request's actual start to its last body byte, HDR histogram (3 significant digits); session build included for fresh and leak"),
        ("warmup", "before its load clock starts, each client worker seeds aws-lc's process-wide random generator once (aws-lc seeds it on first use from CPU jitter entropy: tens of ms of CPU per process, which otherwise fell inside the first handshake of every mode), and a client that uses OpenSSL (reqwest-native, and reqwest in a native-tls build) runs OpenSSL's one-time library initialisation (OPENSSL_init_ssl) there too; its time is warmup_us, outside latency and every counter. The server worker does the same before it reports ready. No request, connection, handshake or session is made for it"),
        ("late_starts", "real clock: requests that started ≥2 ms after their scheduled time (twice tokio's 1 ms timer resolution) or waited for a --max-in-flight slot; null under the virtual clock, which has no schedule"),
        ("handshakes", "client: rustls handshake_kind() of each new connection; server: the same, counted in the server process"),
        ("retained_bytes", "derived, not measured: timeline retained_bytes = retained sessions (counted) × the mode's measured bytes per retained session (b)"),
        ("retained_per_session", "fresh with retention: bytes freed on the dropping thread as each retained session's TLS state was dropped (exact), cross-checked by the live-heap slope over the retained count (retained_bytes_slope); leak: b is the live-heap slope over the kept-session count itself, so it has no second measurement (retained_bytes_slope null)"),
        ("plateau", "mean over the samples at or after the retention time T: retained sessions, and live heap above the load's starting heap (null if the starting heap was not read); the model R·b·T is derived"),
        ("openssl_heap", OPENSSL_HEAP),
        ("rate_bound", "derived: fresh and leak build a session per request, so building alone needs mean build CPU (thread CPU time) × planned rate cores; rate_bound is set when that exceeds the cores the client worker measured (available_parallelism)"),
        ("sampler", "CPU time of the client worker's sampler while sampling (CLOCK_THREAD_CPUTIME_ID), as a share of the run's wall time; null if it could not be read"),
    ]
    .into_iter()
    .chain(built_with_openssl)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::Cli;
    use clap::Parser;

    fn plan(args: &[&str]) -> RunPlan {
        let mut full = vec!["harness"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full)
            .expect("args")
            .run
            .plan()
            .expect("plan")
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

    fn record(end: LegEnd, fin: Option<ClientFinal>) -> LegRecord {
        LegRecord {
            mode: Mode::Shared,
            client: ClientKind::Hyper,
            samples: vec![(sample(1.0, 10), None), (sample(2.0, 20), None)],
            last_server: None,
            fin,
            end,
            unparsed_lines: 0,
        }
    }

    fn fin(ok: u64) -> ClientFinal {
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
        let p = plan(&["--seconds", "2", "--rate", "10", "--mode", "shared"]);
        let r = leg(&p, &record(LegEnd::Completed, Some(fin(20))));
        let m = &r.summary;
        assert_eq!(m.achieved_rps, 10.0);
        assert_eq!(m.client_alloc_bytes_per_request, Some(100.0));
        assert_eq!(m.client_build_core_share, Some(40e-6 / 2.0));
        assert_eq!(m.client_heap_peak_bytes, Some(1020));
        // Not measured stays unmeasured.
        assert_eq!(m.load.client_heap_start_bytes, None);
        assert_eq!(m.sampler_share, None);
        assert_eq!(m.load.late_starts, None);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(
            exit(
                &p,
                &[LegOutcome::Ran(Box::new(record(LegEnd::Completed, None)))],
                std::slice::from_ref(m)
            ),
            RunExit::Clean
        );
    }

    #[test]
    fn a_dead_client_keeps_what_its_samples_said() {
        let p = plan(&["--seconds", "2", "--rate", "10", "--mode", "shared"]);
        let rec = record(
            LegEnd::ClientDied(
                "shared: the client worker died mid-run (signal: 9 (SIGKILL))".into(),
            ),
            None,
        );
        let r = leg(&p, &rec);
        assert_eq!(r.summary.load.requests_ok, 20);
        assert!(r.summary.load.stopped_early.is_some());
        let outcomes = [LegOutcome::Ran(Box::new(rec))];
        assert_eq!(
            exit(&p, &outcomes, std::slice::from_ref(&r.summary)),
            RunExit::WorkerDied
        );
        assert_eq!(
            stopped_reason(&outcomes).as_deref(),
            Some("shared: the client worker died mid-run (signal: 9 (SIGKILL))")
        );
    }

    #[test]
    fn an_interrupt_wins_over_failures() {
        let p = plan(&["--seconds", "2", "--rate", "10", "--mode", "shared,fresh"]);
        let rec = record(LegEnd::Interrupted, Some(fin(5)));
        let r = leg(&p, &rec);
        let outcomes = [LegOutcome::Ran(Box::new(rec))];
        assert_eq!(exit(&p, &outcomes, &[r.summary]), RunExit::Interrupted);
        assert_eq!(
            stopped_reason(&outcomes).as_deref(),
            Some("interrupted during mode shared")
        );
    }

    #[test]
    fn a_server_death_marks_the_mode_stopped() {
        let p = plan(&["--seconds", "2", "--rate", "10", "--mode", "shared"]);
        let rec = record(
            LegEnd::ServerDied("shared: the server worker died mid-run".into()),
            Some(fin(20)),
        );
        let r = leg(&p, &rec);
        assert_eq!(
            r.summary.load.stopped_early.as_deref(),
            Some("shared: the server worker died mid-run")
        );
    }

    #[test]
    fn fewer_modes_than_planned_is_a_failure() {
        let p = plan(&["--seconds", "2", "--rate", "10", "--mode", "shared,fresh"]);
        let rec = record(LegEnd::Completed, Some(fin(20)));
        let r = leg(&p, &rec);
        assert_eq!(
            exit(&p, &[LegOutcome::Ran(Box::new(rec))], &[r.summary]),
            RunExit::Failures
        );
    }
}
