//! The real clock's loop: request i starts at i/R, bounded in flight, late starts counted.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::measure::procstat;
use crate::run::load::ctx::{lock, Ctx};
use crate::run::load::limits::{drain, fd_stop};
use crate::run::load::plan::{StopReason, END_GRACE, LATE_THRESHOLD};
use crate::run::load::sampler::sampler_loop;

pub(super) async fn real_loop(
    ctx: &Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
    fds_start: Option<u64>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let (plan, run) = (&ctx.plan, &ctx.plan.run);
    let slots = run.max_in_flight as usize;
    let sem = Arc::new(Semaphore::new(slots));
    let planned = run.planned();
    let start = ctx.start;
    let deadline = start + run.duration;
    let (sampler_stop_tx, sampler_stop_rx) = watch::channel(false);
    let sampler = tokio::spawn(sampler_loop(ctx.clone(), sampler_stop_rx));

    let mut started = 0u64;
    let mut stopped_early = None;
    for i in 0..planned {
        if *stop.borrow() {
            stopped_early = Some(StopReason::Interrupted);
            break;
        }
        let scheduled = start + Duration::from_secs_f64(plan.stamp(i));
        tokio::select! {
            _ = sleep_until(scheduled) => {}
            _ = stop.changed() => { stopped_early = Some(StopReason::Interrupted); break; }
        }
        let (permit, waited) = match sem.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => tokio::select! {
                p = sem.clone().acquire_owned() => match p {
                    Ok(p) => (p, true),
                    Err(_) => break,
                },
                _ = stop.changed() => { stopped_early = Some(StopReason::Interrupted); break; }
                _ = sleep_until(deadline + END_GRACE) => {
                    stopped_early = Some(StopReason::SlotsBusy {
                        slots,
                        started,
                        planned,
                    });
                    break;
                }
            },
        };
        let now = Instant::now();
        if now >= deadline + END_GRACE && i > 0 {
            stopped_early = Some(StopReason::FellBehind { started, planned });
            break;
        }
        let in_flight = (slots - sem.available_permits()) as u64;
        if let Some(why) = fd_stop(ctx, in_flight, fds_start, fd_limit, started) {
            stopped_early = Some(why);
            break;
        }
        let lag = now.saturating_duration_since(scheduled);
        let _ = lock(&ctx.counters.lag_hist).record(lag.as_micros() as u64);
        if waited || lag >= LATE_THRESHOLD {
            ctx.counters.late.fetch_add(1, Relaxed);
        }
        started += 1;
        tokio::spawn(ctx.clone().request(plan.stamp(i), permit));
    }
    drain(&sem, slots).await;
    let _ = sampler_stop_tx.send(true);
    // A sampler that panicked measured nothing about its own cost: `None`, not 0.
    let sampler_cpu_us = sampler.await.ok().flatten();
    (started, stopped_early, sampler_cpu_us)
}
