//! The virtual clock's loop: the same sequence as fast as it can, stamped i/R.

use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use crate::measure::procstat;
use crate::run::load::ctx::Ctx;
use crate::run::load::limits::{drain, fd_stop};
use crate::run::load::plan::{StopReason, VIRTUAL_IN_FLIGHT};
use crate::run::load::sampler::Sampler;

pub(super) async fn virtual_loop(
    ctx: &Arc<Ctx>,
    stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
    fds_start: Option<u64>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let (plan, run) = (&ctx.plan, &ctx.plan.run);
    let slots = (run.max_in_flight as usize).min(VIRTUAL_IN_FLIGHT);
    let sem = Arc::new(Semaphore::new(slots));
    let planned = run.planned();
    let every = run.sample_interval.as_secs_f64();
    let mut next_sample = every;
    let mut sampler = Sampler::default();
    let mut started = 0u64;
    let mut stopped_early = None;
    for i in 0..planned {
        if *stop.borrow() {
            stopped_early = Some(StopReason::Interrupted);
            break;
        }
        let vt = plan.stamp(i);
        while vt >= next_sample {
            // Everything stamped before the boundary completes, then the sample is taken.
            drain(&sem, slots).await;
            sampler.emit(ctx, next_sample);
            next_sample += every;
        }
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let in_flight = (slots - sem.available_permits()) as u64;
        if let Some(why) = fd_stop(ctx, in_flight, fds_start, fd_limit, started) {
            stopped_early = Some(why);
            break;
        }
        started += 1;
        tokio::spawn(ctx.clone().request(vt, permit));
    }
    drain(&sem, slots).await;
    let end_vt = if stopped_early.is_some() {
        plan.stamp(started)
    } else {
        run.duration.as_secs_f64()
    };
    sampler.emit(ctx, end_vt);
    (started, stopped_early, sampler.cost_us)
}
