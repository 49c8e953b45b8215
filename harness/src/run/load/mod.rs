//! The client worker's load: the real clock's open loop or the virtual clock's, and a sampler.

mod ctx;
mod finish;
pub mod plan;
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
use crate::run::load::plan::{
    StopReason, END_GRACE, FD_HEADROOM, LATE_THRESHOLD, VIRTUAL_IN_FLIGHT,
};
use crate::run::load::sampler::{sampler_loop, Sampler};
use crate::run::retention::RetentionStore;
use crate::tls::session::{Pooling, SessionFactory, REQUEST_TIMEOUT};
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

/// Runs the plan's load against `plan.target`, emitting samples on stdout, until the schedule
/// ends or `stop` turns true. Returns the totals.
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
    let one = match one.map(|pooling| build_session(&counters, &factory, pooling)) {
        None => None,
        Some(Ok(s)) => Some(Arc::new(s)),
        Some(Err(kind)) => {
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
