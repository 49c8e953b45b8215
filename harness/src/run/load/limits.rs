//! What both loops check: leak's stop before the descriptor limit; draining requests in flight.

use std::time::Duration;

use tokio::sync::Semaphore;

use crate::measure::procstat;
use crate::run::load::ctx::{lock, Ctx};
use crate::run::load::plan::{StopReason, FD_HEADROOM};
use crate::tls::session::REQUEST_TIMEOUT;
use crate::vocab::mode::Mode;

/// Why leak mode must stop now, if it must: the next session would bring the process within
/// [`FD_HEADROOM`] descriptors of its limit.
pub(super) fn fd_stop(
    ctx: &Ctx,
    in_flight: u64,
    fds_start: Option<u64>,
    fd_limit: Option<procstat::FdLimit>,
    started: u64,
) -> Option<StopReason> {
    if ctx.plan.mode != Mode::Leak {
        return None;
    }
    // Each kept session holds one connection; hyper's are counted exactly.
    let open = match ctx.factory.stats() {
        Some(s) => s.open(),
        None => lock(&ctx.counters.leaked).len() as u64,
    };
    if let Some(max) = ctx.plan.run.max_open {
        if open + in_flight >= max {
            return Some(StopReason::MaxOpen { started, max });
        }
    }
    let (lim, fds) = (fd_limit?, fds_start?);
    let budget = lim.soft.saturating_sub(fds + FD_HEADROOM);
    (open + in_flight >= budget).then_some(StopReason::FdLimit {
        started,
        open,
        soft: lim.soft,
        hard: lim.hard,
    })
}

/// Waits for every in-flight request; each ends within its own timeout.
pub(super) async fn drain(sem: &Semaphore, slots: usize) {
    if let Ok(Ok(all)) = tokio::time::timeout(
        REQUEST_TIMEOUT + Duration::from_secs(2),
        sem.acquire_many(slots as u32),
    )
    .await
    {
        drop(all);
    }
}
