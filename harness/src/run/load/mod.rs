//! The client worker's load: the real or the virtual clock's loop, why it stops early, a sampler.

mod ctx;
mod finish;
mod sampler;

pub(crate) use ctx::{new_hist, p50p99};

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::Uri;
use tokio::sync::{watch, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::contract::wire::{ClientFinal, ClientTotals};
use crate::contract::worker::ClientWorkerConfig;
use crate::measure::procstat;
use crate::run::load::ctx::{build_session, lock, Counters, Ctx, Start};
use crate::run::load::finish::finish;
use crate::run::load::sampler::{sampler_loop, Sampler};
use crate::run::retention::RetentionStore;
use crate::tls::session::{FailureKind, Pooling, SessionFactory, REQUEST_TIMEOUT};
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

/// A start this much after its scheduled time counts as late.
pub const LATE_THRESHOLD: Duration = Duration::from_millis(2);
/// Starts are still made this long after the planned end (a start scheduled just before the
/// end may come a timer tick late); later ones count as not started: the machine fell behind.
pub const END_GRACE: Duration = Duration::from_millis(100);
/// Descriptors kept free below the limit when leak mode decides to stop.
pub const FD_HEADROOM: u64 = 64;
/// Requests in flight under the virtual clock: enough to keep both cores busy.
pub const VIRTUAL_IN_FLIGHT: usize = 8;

/// Why a mode's load stopped before its schedule ended. Its `Display` is the stable text
/// published as `stopped_early`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StopReason {
    /// Ctrl-C, SIGTERM, or the parent closed the worker's stdin.
    #[error("interrupted")]
    Interrupted,
    #[error("fell behind: all {slots} request slots (--max-in-flight) stayed busy until the end; {started} of {planned} requests started")]
    SlotsBusy {
        slots: usize,
        started: u64,
        planned: u64,
    },
    /// The machine could not start requests as fast as scheduled.
    #[error("fell behind: {started} of {planned} requests started within the duration")]
    FellBehind { started: u64, planned: u64 },
    #[error(
        "leak: stopped after {started} sessions at the --max-open bound of {max} open connections"
    )]
    MaxOpen { started: u64, max: u64 },
    #[error("leak: stopped after {started} sessions, before the file-descriptor limit: {open} connections open, RLIMIT_NOFILE soft limit {soft} (hard {hard}); raise it with `ulimit -n` or lower --rate/--seconds")]
    FdLimit {
        started: u64,
        open: u64,
        soft: u64,
        hard: u64,
    },
    /// Shared and resume: the one session could not be built.
    #[error("could not build the session: {0}")]
    NoSession(FailureKind),
}

/// Runs the load, emitting samples on stdout, until the schedule ends or `stop` turns true.
pub async fn run(
    cfg: &ClientWorkerConfig,
    target: Uri,
    factory: SessionFactory,
    stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
) -> ClientFinal {
    // A failed warm-up fails the first request on its own, so it is only recorded (null).
    let warmup_us = factory.warm_up().ok();
    // The histograms are a fixed cost of the harness: allocated before the counting starts.
    let counters = Counters::default();
    if let Some(f) = &cfg.dhat_file {
        crate::measure::alloc::start_dhat(f);
    }
    let at_start = Start::now();
    let one = match cfg.mode {
        Mode::Shared => Some(Pooling::KeepAlive),
        Mode::Resume => Some(Pooling::NoIdle),
        Mode::Fresh | Mode::Leak => None,
    };
    let one = match one
        .map(|p| build_session(&counters, &factory, p))
        .transpose()
    {
        Ok(one) => one.map(Arc::new),
        Err(kind) => {
            let why = StopReason::NoSession(kind.clone());
            counters.fail(kind);
            return ClientFinal {
                totals: ClientTotals {
                    requests_planned: cfg.plan.planned(),
                    requests_failed: 1,
                    failures_by_kind: lock(&counters.failures).clone(),
                    stopped_early: Some(why.to_string()),
                    warmup_us,
                    ..Default::default()
                },
                fd_limit: fd_limit.map(|l| l.soft),
                ..Default::default()
            };
        }
    };
    let retained = match (cfg.mode, cfg.plan.retention) {
        // Only hyper sessions hand back their TLS state (reqwest keeps it to itself).
        (Mode::Fresh, Some(spec)) if factory.kind == ClientKind::Hyper => {
            Some(Mutex::new(RetentionStore::new(spec)))
        }
        _ => None,
    };
    let ctx = Arc::new(Ctx {
        run: cfg.plan.clone(),
        mode: cfg.mode,
        target,
        profile: cfg.dhat_file.clone(),
        one,
        counters,
        factory,
        retained,
        start: Instant::now(),
        at_start,
        fd_limit,
        warmup_us,
    });
    let (started, stopped_early, sampler_cpu_us) = match ctx.run.clock {
        Clock::Real => real_loop(&ctx, stop).await,
        Clock::Virtual => virtual_loop(&ctx, stop).await,
    };
    finish(&ctx, started, stopped_early, sampler_cpu_us).await
}

/// The real clock's loop: request i starts at i/R, bounded in flight, late starts counted.
async fn real_loop(
    ctx: &Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let run = &ctx.run;
    let slots = run.max_in_flight as usize;
    let sem = Arc::new(Semaphore::new(slots));
    let planned = run.planned();
    let start = ctx.start;
    // Starts later than this count as not made: the machine fell behind.
    let last_start = start + run.duration + END_GRACE;
    let (sampler_stop_tx, sampler_stop_rx) = watch::channel(false);
    let sampler = tokio::spawn(sampler_loop(ctx.clone(), sampler_stop_rx));

    let mut started = 0u64;
    let stopped_early = 'load: {
        for i in 0..planned {
            if *stop.borrow() {
                break 'load Some(StopReason::Interrupted);
            }
            let scheduled = start + Duration::from_secs_f64(ctx.stamp(i));
            tokio::select! {
                _ = sleep_until(scheduled) => {}
                _ = stop.changed() => break 'load Some(StopReason::Interrupted),
            }
            let (permit, waited) = match sem.clone().try_acquire_owned() {
                Ok(p) => (p, false),
                Err(_) => tokio::select! {
                    p = sem.clone().acquire_owned() => match p {
                        Ok(p) => (p, true),
                        Err(_) => break 'load None,
                    },
                    _ = stop.changed() => break 'load Some(StopReason::Interrupted),
                    _ = sleep_until(last_start) => {
                        break 'load Some(StopReason::SlotsBusy { slots, started, planned });
                    }
                },
            };
            let now = Instant::now();
            if now >= last_start && i > 0 {
                break 'load Some(StopReason::FellBehind { started, planned });
            }
            if let Some(why) = fd_stop(ctx, slots - sem.available_permits(), started) {
                break 'load Some(why);
            }
            let lag = now.saturating_duration_since(scheduled);
            let _ = ctx.counters.lag_hist.lock().record(lag.as_micros() as u64);
            if waited || lag >= LATE_THRESHOLD {
                ctx.counters.late.fetch_add(1, Relaxed);
            }
            started += 1;
            tokio::spawn(ctx.clone().request(ctx.stamp(i), permit));
        }
        None
    };
    drain(&sem, slots).await;
    let _ = sampler_stop_tx.send(true);
    // A sampler that panicked measured nothing about its own cost: `None`, not 0.
    let sampler_cpu_us = sampler.await.ok().flatten();
    (started, stopped_early, sampler_cpu_us)
}

/// The virtual clock's loop: the same sequence as fast as it can, stamped i/R.
async fn virtual_loop(
    ctx: &Arc<Ctx>,
    stop: watch::Receiver<bool>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let run = &ctx.run;
    let slots = (run.max_in_flight as usize).min(VIRTUAL_IN_FLIGHT);
    let sem = Arc::new(Semaphore::new(slots));
    let planned = run.planned();
    let every = run.sample_interval.as_secs_f64();
    let mut next_sample = every;
    let mut sampler = Sampler::default();
    let mut started = 0u64;
    let stopped_early = 'load: {
        for i in 0..planned {
            if *stop.borrow() {
                break 'load Some(StopReason::Interrupted);
            }
            let vt = ctx.stamp(i);
            while vt >= next_sample {
                // Everything stamped before the boundary completes, then the sample is taken.
                drain(&sem, slots).await;
                sampler.emit(ctx, next_sample);
                next_sample += every;
            }
            let Ok(permit) = sem.clone().acquire_owned().await else {
                break 'load None;
            };
            if let Some(why) = fd_stop(ctx, slots - sem.available_permits(), started) {
                break 'load Some(why);
            }
            started += 1;
            tokio::spawn(ctx.clone().request(vt, permit));
        }
        None
    };
    drain(&sem, slots).await;
    let end_vt = if stopped_early.is_some() {
        ctx.stamp(started)
    } else {
        run.duration.as_secs_f64()
    };
    sampler.emit(ctx, end_vt);
    (started, stopped_early, sampler.cost_us)
}

/// Why leak mode must stop now, if it must: the next session would bring the process within
/// [`FD_HEADROOM`] descriptors of its limit.
fn fd_stop(ctx: &Ctx, in_flight: usize, started: u64) -> Option<StopReason> {
    if ctx.mode != Mode::Leak {
        return None;
    }
    // Each kept session holds one connection; hyper's are counted exactly.
    let open = match ctx.factory.stats() {
        Some(s) => s.open(),
        None => lock(&ctx.counters.leaked).len() as u64,
    };
    if let Some(max) = ctx.run.max_open {
        if open + in_flight as u64 >= max {
            return Some(StopReason::MaxOpen { started, max });
        }
    }
    let (lim, fds) = (ctx.fd_limit?, ctx.at_start.fds?);
    let budget = lim.soft.saturating_sub(fds + FD_HEADROOM);
    (open + in_flight as u64 >= budget).then_some(StopReason::FdLimit {
        started,
        open,
        soft: lim.soft,
        hard: lim.hard,
    })
}

/// Waits for every in-flight request; each ends within its own timeout.
async fn drain(sem: &Semaphore, slots: usize) {
    if let Ok(Ok(all)) = tokio::time::timeout(
        REQUEST_TIMEOUT + Duration::from_secs(2),
        sem.acquire_many(slots as u32),
    )
    .await
    {
        drop(all);
    }
}
