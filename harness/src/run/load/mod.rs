//! The client worker's load: the real clock's open loop or the virtual clock's, and a sampler.

mod ctx;
mod finish;
pub(crate) mod hist;
mod limits;
pub mod plan;
mod real;
mod sampler;
mod virtual_clock;

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::contract::wire::{ClientFinal, ClientTotals};
use crate::measure::procstat;
use crate::run::load::ctx::{build_session, lock, Counters, Ctx, Sessions};
use crate::run::load::finish::{finish, Start};
use crate::run::load::plan::{LoadPlan, StopReason};
use crate::run::load::real::real_loop;
use crate::run::load::virtual_clock::virtual_loop;
use crate::run::retention::RetentionStore;
use crate::tls::session::{Pooling, SessionFactory};
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

/// Runs the plan's load against `plan.target`, emitting samples on stdout, until the schedule
/// ends or `stop` turns true. Returns the totals.
pub async fn run(
    plan: LoadPlan,
    factory: SessionFactory,
    stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
) -> ClientFinal {
    // A one-time, per-process cost paid before anything is measured: see `tls::warm_up`. A
    // failure here would fail the first request on its own, so it is only recorded (null).
    let warmup_us = factory.warm_up().ok();
    // The load's own bookkeeping (its histograms) is allocated before the load's counters
    // and profile start: a fixed cost of the harness, in no per-request or per-session figure.
    let counters = Counters::new();
    if let Some(f) = &plan.profile {
        crate::measure::alloc::start_dhat(f);
    }
    let start_state = Start::now();
    let sessions = match plan.mode {
        Mode::Fresh => Sessions::PerRequest { keep: false },
        Mode::Leak => Sessions::PerRequest { keep: true },
        Mode::Shared | Mode::Resume => {
            let pooling = if plan.mode == Mode::Shared {
                Pooling::KeepAlive
            } else {
                Pooling::NoIdle
            };
            match build_session(&counters, &factory, pooling) {
                Ok(s) => Sessions::One(Arc::new(s)),
                Err(kind) => {
                    let why = StopReason::NoSession(kind.clone());
                    counters.fail(kind);
                    return ClientFinal {
                        totals: ClientTotals {
                            requests_planned: plan.run.planned(),
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
            }
        }
    };
    let retained = match (plan.mode, plan.run.retention) {
        // Only hyper sessions hand back their TLS state (reqwest keeps it to itself).
        (Mode::Fresh, Some(spec)) if factory.kind() == ClientKind::Hyper => {
            Some(Mutex::new(RetentionStore::new(spec)))
        }
        _ => None,
    };
    let ctx = Arc::new(Ctx {
        plan,
        sessions,
        counters,
        factory,
        retained,
        start: Instant::now(),
        warmup_us,
    });
    let (started, stopped_early, sampler_cpu_us) = match ctx.plan.run.clock {
        Clock::Real => real_loop(&ctx, stop, fd_limit, start_state.fds).await,
        Clock::Virtual => virtual_loop(&ctx, stop, fd_limit, start_state.fds).await,
    };
    finish(
        &ctx,
        started,
        stopped_early,
        sampler_cpu_us,
        start_state,
        fd_limit,
    )
    .await
}
