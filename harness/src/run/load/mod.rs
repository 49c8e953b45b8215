//! The client worker's load.
//!
//! Real clock: open loop — request i *starts* at i/R after the load begins, whatever earlier
//! requests are doing (no coordinated omission), bounded by `--max-in-flight`. Starts that come
//! ≥ 2 ms late (twice tokio's 1 ms timer resolution) or had to wait for a free slot are counted
//! as late. A sampler task reports the timeline every interval.
//!
//! Virtual clock: the same request sequence as fast as the machine allows; request i is
//! stamped i/R, retention expiry runs on those stamps, and a sample is taken each time the
//! virtual time crosses a sample boundary (after the requests stamped before it complete), so
//! a 10-minute memory curve is reproduced in a fraction of the wall time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use hyper::Uri;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::contract::plan::RetentionSpec;
use crate::contract::wire::{ClientFinal, ClientSample, ClientTotals, WorkerMsg};
use crate::contract::wire::{Latency, P50P99};
use crate::measure::alloc;
use crate::measure::procstat;
use crate::run::retention::RetentionStore;
use crate::tls::connector::ConnUse;
use crate::tls::session::{FailureKind, Pooling, Session, SessionFactory, REQUEST_TIMEOUT};
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
    /// Every request slot stayed busy until the end of the schedule.
    #[error("fell behind: all {slots} request slots (--max-in-flight) stayed busy until the end; {started} of {planned} requests started")]
    SlotsBusy {
        slots: usize,
        started: u64,
        planned: u64,
    },
    /// The machine could not start requests as fast as scheduled.
    #[error("fell behind: {started} of {planned} requests started within the duration")]
    FellBehind { started: u64, planned: u64 },
    /// Leak mode reached `--max-open`.
    #[error(
        "leak: stopped after {started} sessions at the --max-open bound of {max} open connections"
    )]
    MaxOpen { started: u64, max: u64 },
    /// Leak mode would have run out of file descriptors.
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

/// What the client worker runs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub mode: Mode,
    pub target: Uri,
    pub rate: f64,
    pub duration: Duration,
    pub max_in_flight: usize,
    pub sample_interval: Duration,
    pub clock: Clock,
    /// Retention of fresh sessions' TLS state; `None`: plain rustls behaviour.
    pub retention: Option<RetentionSpec>,
    /// Leak mode stops before holding this many open connections.
    pub max_open: Option<u64>,
    /// `--breakdown`: record a dhat heap profile of the load into this file (see
    /// `alloc::start_dhat`); it covers the load from its start to its end, with the retained
    /// or kept sessions still live at the end.
    pub profile: Option<std::path::PathBuf>,
}

impl LoadPlan {
    /// Requests the schedule calls for: one every 1/R within the duration.
    pub fn planned(&self) -> u64 {
        crate::contract::plan::planned(self.rate, self.duration)
    }

    fn stamp(&self, i: u64) -> f64 {
        i as f64 / self.rate
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn new_hist() -> Histogram<u64> {
    // 3 significant digits; auto-resize covers any value.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfigs is valid"));
    h.auto(true);
    h
}

pub(crate) fn p50p99(h: &Histogram<u64>) -> Option<P50P99> {
    (!h.is_empty()).then(|| P50P99 {
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
    })
}

/// Where requests get their session from.
enum Sessions {
    /// Fresh and leak: a new session per request; leak keeps each one.
    PerRequest { keep: bool },
    /// Shared and resume: one session for the run.
    One(Arc<Session>),
}

type Retained = RetentionStore<Arc<rustls::ClientConfig>>;

struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    late: AtomicU64,
    reused: AtomicU64,
    builds: AtomicU64,
    build_cpu_ns_total: AtomicU64,
    build_cpu_measured: AtomicBool,
    build_bytes: AtomicU64,
    build_bytes_measured: AtomicBool,
    /// OpenSSL's share of `build_bytes` (meaningful only while OpenSSL's heap is counted).
    build_openssl_bytes: AtomicU64,
    failures: Mutex<BTreeMap<String, u64>>,
    lat_interval: Mutex<Histogram<u64>>,
    lat_total: Mutex<Histogram<u64>>,
    build_hist: Mutex<Histogram<u64>>,
    build_cpu_hist: Mutex<Histogram<u64>>,
    lag_hist: Mutex<Histogram<u64>>,
    leaked: Mutex<Vec<Session>>,
}

impl Counters {
    fn new() -> Self {
        Self {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            late: AtomicU64::new(0),
            reused: AtomicU64::new(0),
            builds: AtomicU64::new(0),
            build_cpu_ns_total: AtomicU64::new(0),
            build_cpu_measured: AtomicBool::new(true),
            build_bytes: AtomicU64::new(0),
            build_bytes_measured: AtomicBool::new(true),
            build_openssl_bytes: AtomicU64::new(0),
            failures: Mutex::new(BTreeMap::new()),
            lat_interval: Mutex::new(new_hist()),
            lat_total: Mutex::new(new_hist()),
            build_hist: Mutex::new(new_hist()),
            build_cpu_hist: Mutex::new(new_hist()),
            lag_hist: Mutex::new(new_hist()),
            leaked: Mutex::new(Vec::new()),
        }
    }

    fn fail(&self, kind: FailureKind) {
        self.failed.fetch_add(1, Relaxed);
        *lock(&self.failures).entry(kind.to_string()).or_default() += 1;
    }
}

/// Builds a session, charging it its wall time, its thread's CPU time and its bytes (the
/// build is synchronous, so the CPU time and allocations on this thread during it are all
/// its own).
fn build_session(
    c: &Counters,
    factory: &SessionFactory,
    pooling: Pooling,
) -> Result<Session, FailureKind> {
    // The wall window encloses the CPU window, so a build's CPU time never exceeds its wall
    // time by the clocks' own reading cost.
    let t0 = std::time::Instant::now();
    let cpu0 = procstat::thread_cpu_ns();
    let ossl0 = alloc::thread_openssl_bytes();
    let (built, allocs) = alloc::measure_thread(|| factory.build(pooling));
    if let Some((a, b)) = ossl0.zip(alloc::thread_openssl_bytes()) {
        c.build_openssl_bytes.fetch_add(b - a, Relaxed);
    }
    let cpu_ns = cpu0
        .zip(procstat::thread_cpu_ns())
        .map(|(a, b)| b.saturating_sub(a));
    let us = t0.elapsed().as_micros() as u64;
    c.builds.fetch_add(1, Relaxed);
    let _ = lock(&c.build_hist).record(us.max(1));
    match cpu_ns {
        Some(ns) => {
            c.build_cpu_ns_total.fetch_add(ns, Relaxed);
            let _ = lock(&c.build_cpu_hist).record((ns / 1000).max(1));
        }
        None => c.build_cpu_measured.store(false, Relaxed),
    }
    match allocs {
        Some(a) => {
            c.build_bytes.fetch_add(a.bytes, Relaxed);
        }
        None => c.build_bytes_measured.store(false, Relaxed),
    }
    built.map_err(|e| FailureKind::Build(e.to_string()))
}

struct Ctx {
    plan: LoadPlan,
    sessions: Sessions,
    counters: Counters,
    factory: SessionFactory,
    retained: Option<Mutex<Retained>>,
    start: Instant,
    /// The warm-up before `start`, µs (see `SessionFactory::warm_up`).
    warmup_us: Option<u64>,
}

impl Ctx {
    /// Late starts so far; `None` under the virtual clock, which has no schedule to be late
    /// for.
    fn late_starts(&self) -> Option<u64> {
        (self.plan.clock == Clock::Real).then(|| self.counters.late.load(Relaxed))
    }

    /// Seconds on the run's clock for a request stamped `stamp` that completes now.
    fn now_for(&self, stamp: f64) -> f64 {
        match self.plan.clock {
            Clock::Real => self.start.elapsed().as_secs_f64(),
            Clock::Virtual => stamp,
        }
    }

    async fn request(self: Arc<Self>, stamp: f64, _permit: OwnedSemaphorePermit) {
        let t0 = Instant::now();
        let result = match &self.sessions {
            Sessions::PerRequest { keep } => {
                match build_session(&self.counters, &self.factory, Pooling::KeepAlive) {
                    Ok(session) => {
                        let r = session.get(&self.plan.target).await;
                        if *keep {
                            lock(&self.counters.leaked).push(session);
                        } else if let Some(store) = &self.retained {
                            // Invalidated: pool and connections go, the TLS state is retained.
                            if let Some(state) = session.into_tls_state() {
                                let now = self.now_for(stamp);
                                lock(store).insert(now, state);
                            }
                        }
                        // Otherwise the session is dropped here: invalidated, connections closed.
                        r.map_err(|e| e.kind())
                    }
                    Err(kind) => Err(kind),
                }
            }
            Sessions::One(session) => session.get(&self.plan.target).await.map_err(|e| e.kind()),
        };
        let us = t0.elapsed().as_micros() as u64;
        let c = &self.counters;
        match result {
            Ok(out) => {
                c.ok.fetch_add(1, Relaxed);
                if out.conn == Some(ConnUse::Reused) {
                    c.reused.fetch_add(1, Relaxed);
                }
                let _ = lock(&c.lat_interval).record(us.max(1));
                let _ = lock(&c.lat_total).record(us.max(1));
            }
            Err(kind) => c.fail(kind),
        }
    }
}

/// Where the process stood when the load began.
struct Start {
    heap: Option<alloc::HeapStats>,
    openssl: Option<alloc::OpensslHeap>,
    rss: Option<u64>,
    fds: Option<u64>,
    cpu: Option<f64>,
}

impl Start {
    fn now() -> Self {
        Self {
            heap: alloc::heap(),
            openssl: alloc::heap().and(alloc::openssl_heap()),
            rss: procstat::rss_bytes(),
            fds: procstat::open_fds(),
            cpu: procstat::cpu_seconds(),
        }
    }
}

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
                            requests_planned: plan.planned(),
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
    let retained = match (plan.mode, plan.retention) {
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
    let (started, stopped_early, sampler_cpu_us) = match ctx.plan.clock {
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

/// Why leak mode must stop now, if it must: the next session would bring the process within
/// [`FD_HEADROOM`] descriptors of its limit.
fn fd_stop(
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
    if let Some(max) = ctx.plan.max_open {
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

async fn real_loop(
    ctx: &Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
    fds_start: Option<u64>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let plan = &ctx.plan;
    let sem = Arc::new(Semaphore::new(plan.max_in_flight));
    let planned = plan.planned();
    let start = ctx.start;
    let deadline = start + plan.duration;
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
                        slots: plan.max_in_flight,
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
        let in_flight = (plan.max_in_flight - sem.available_permits()) as u64;
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
    drain(&sem, plan.max_in_flight).await;
    let _ = sampler_stop_tx.send(true);
    // A sampler that panicked measured nothing about its own cost: `None`, not 0.
    let sampler_cpu_us = sampler.await.ok().flatten();
    (started, stopped_early, sampler_cpu_us)
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

async fn virtual_loop(
    ctx: &Arc<Ctx>,
    stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
    fds_start: Option<u64>,
) -> (u64, Option<StopReason>, Option<u64>) {
    let plan = &ctx.plan;
    let slots = plan.max_in_flight.min(VIRTUAL_IN_FLIGHT);
    let sem = Arc::new(Semaphore::new(slots));
    let planned = plan.planned();
    let every = plan.sample_interval.as_secs_f64();
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
        plan.duration.as_secs_f64()
    };
    sampler.emit(ctx, end_vt);
    (started, stopped_early, sampler.cost_us)
}

/// Builds samples and charges itself the CPU time it takes (`cost_us` turns `None` for good
/// the first time the thread clock cannot be read: a partial sum is not the cost).
struct Sampler {
    cost_us: Option<u64>,
    prev_t: f64,
    prev_done: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        Self {
            cost_us: Some(0),
            prev_t: 0.0,
            prev_done: 0,
        }
    }
}

impl Sampler {
    fn emit(&mut self, ctx: &Ctx, virtual_t_s: f64) {
        let c0 = procstat::thread_cpu_us();
        let sample = self.take(ctx, virtual_t_s);
        // A closed stdout means the parent is gone; the stdin watcher stops us then.
        let _ = WorkerMsg::Client(Box::new(sample)).emit();
        let spent = c0
            .zip(procstat::thread_cpu_us())
            .map(|(a, b)| b.saturating_sub(a));
        self.cost_us = self.cost_us.zip(spent).map(|(t, s)| t + s);
    }

    fn take(&mut self, ctx: &Ctx, virtual_t_s: f64) -> ClientSample {
        let c = &ctx.counters;
        let t_s = ctx.start.elapsed().as_secs_f64();
        let ok = c.ok.load(Relaxed);
        let failed = c.failed.load(Relaxed);
        let done = ok + failed;
        let dt = t_s - self.prev_t;
        let interval_rps = if dt > 0.0 {
            (done - self.prev_done) as f64 / dt
        } else {
            0.0
        };
        self.prev_t = t_s;
        self.prev_done = done;
        let (p50, p99, max) = {
            let mut h = lock(&c.lat_interval);
            let v = if h.is_empty() {
                (None, None, None)
            } else {
                (
                    Some(h.value_at_quantile(0.5)),
                    Some(h.value_at_quantile(0.99)),
                    Some(h.max()),
                )
            };
            h.reset();
            v
        };
        let retained = match (&ctx.sessions, &ctx.retained) {
            (Sessions::PerRequest { keep: true }, _) => Some(lock(&c.leaked).len() as u64),
            (_, Some(store)) => {
                let mut s = lock(store);
                s.expire(ctx.now_for(virtual_t_s));
                Some(s.len() as u64)
            }
            _ => None,
        };
        let heap = alloc::heap();
        // OpenSSL's share is published only beside a whole that includes it.
        let ossl = heap.and(alloc::openssl_heap());
        let stats = ctx.factory.stats();
        ClientSample {
            t_s,
            virtual_t_s,
            requests_ok: ok,
            requests_failed: failed,
            interval_rps,
            late_starts: ctx.late_starts(),
            client_rss_bytes: procstat::rss_bytes(),
            client_heap_live_bytes: heap.map(|h| h.live_bytes),
            client_alloc_bytes_total: heap.map(|h| h.total_bytes),
            client_allocs_total: heap.map(|h| h.total_allocs),
            client_cpu_s: procstat::cpu_seconds(),
            openssl_heap_live_bytes: ossl.map(|h| h.live_bytes),
            openssl_alloc_bytes_total: ossl.map(|h| h.total_bytes),
            client_open_fds: procstat::open_fds(),
            client_open_conns: stats.map(|s| s.open()),
            retained_sessions: retained,
            handshakes_full: stats.map(|s| s.handshakes_full.load(Relaxed)),
            handshakes_resumed: stats.map(|s| s.handshakes_resumed.load(Relaxed)),
            requests_reused_conn: stats.map(|_| c.reused.load(Relaxed)),
            latency_p50_us: p50,
            latency_p99_us: p99,
            latency_max_us: max,
        }
    }
}

/// Real clock: a sample every interval until told to stop, then one last.
async fn sampler_loop(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) -> Option<u64> {
    let every = ctx.plan.sample_interval;
    let mut ticker = tokio::time::interval_at(ctx.start + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sampler = Sampler::default();
    loop {
        let last = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop.changed() => true,
        };
        let t = ctx.start.elapsed().as_secs_f64();
        sampler.emit(&ctx, t);
        if last {
            return sampler.cost_us;
        }
    }
}

async fn finish(
    ctx: &Arc<Ctx>,
    started: u64,
    stopped_early: Option<StopReason>,
    sampler_cpu_us: Option<u64>,
    start_state: Start,
    fd_limit: Option<procstat::FdLimit>,
) -> ClientFinal {
    let plan = &ctx.plan;
    let end = Instant::now();
    let wall = end.duration_since(ctx.start);
    let elapsed = match (plan.clock, &stopped_early) {
        (Clock::Real, None) => wall.max(plan.duration),
        _ => wall,
    };
    let heap_end = alloc::heap();
    let ossl_end = heap_end.and(alloc::openssl_heap());
    let c = &ctx.counters;
    let latency = {
        let lat = lock(&c.lat_total);
        (!lat.is_empty()).then(|| Latency {
            p50: lat.value_at_quantile(0.5),
            p90: lat.value_at_quantile(0.9),
            p99: lat.value_at_quantile(0.99),
            max: lat.max(),
            mean: lat.mean(),
        })
    };
    let start_lag_us = match plan.clock {
        Clock::Real => p50p99(&lock(&c.lag_hist)),
        Clock::Virtual => None,
    };
    let stats = ctx.factory.stats();
    let cpu_measured = c.build_cpu_measured.load(Relaxed);
    let totals = ClientTotals {
        requests_planned: plan.planned(),
        requests_started: started,
        requests_ok: c.ok.load(Relaxed),
        requests_failed: c.failed.load(Relaxed),
        failures_by_kind: lock(&c.failures).clone(),
        elapsed_s: elapsed.as_secs_f64(),
        virtual_s: (plan.clock == Clock::Virtual).then(|| plan.stamp(started)),
        late_starts: ctx.late_starts(),
        start_lag_us,
        handshakes_full: stats.map(|s| s.handshakes_full.load(Relaxed)),
        handshakes_resumed: stats.map(|s| s.handshakes_resumed.load(Relaxed)),
        requests_on_reused_connection: stats.map(|_| c.reused.load(Relaxed)),
        connections_opened: stats.map(|s| s.opened.load(Relaxed)),
        client_load_alloc_bytes: heap_end
            .zip(start_state.heap)
            .map(|(e, s)| e.total_bytes - s.total_bytes),
        client_load_allocs: heap_end
            .zip(start_state.heap)
            .map(|(e, s)| e.total_allocs - s.total_allocs),
        openssl_load_alloc_bytes: ossl_end
            .zip(start_state.openssl)
            .map(|(e, s)| e.total_bytes - s.total_bytes),
        client_builds: c.builds.load(Relaxed),
        client_build_us: p50p99(&lock(&c.build_hist)),
        client_build_cpu_us: p50p99(&lock(&c.build_cpu_hist)).filter(|_| cpu_measured),
        client_build_cpu_us_total: cpu_measured.then(|| c.build_cpu_ns_total.load(Relaxed) / 1000),
        client_build_alloc_bytes_total: c
            .build_bytes_measured
            .load(Relaxed)
            .then(|| c.build_bytes.load(Relaxed)),
        openssl_build_alloc_bytes_total: c
            .build_bytes_measured
            .load(Relaxed)
            .then_some(ossl_end)
            .flatten()
            .map(|_| c.build_openssl_bytes.load(Relaxed)),
        cores_available: std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as u64),
        client_rss_start_bytes: start_state.rss,
        client_rss_end_bytes: procstat::rss_bytes(),
        client_heap_start_bytes: start_state.heap.map(|h| h.live_bytes),
        client_heap_end_bytes: heap_end.map(|h| h.live_bytes),
        openssl_heap_start_bytes: start_state.openssl.map(|h| h.live_bytes),
        openssl_heap_end_bytes: ossl_end.map(|h| h.live_bytes),
        client_cpu_s: procstat::cpu_seconds()
            .zip(start_state.cpu)
            .map(|(e, s)| e - s),
        open_fds_start: start_state.fds,
        open_fds_end: procstat::open_fds(),
        latency_us: latency,
        warmup_us: ctx.warmup_us,
        sampler_cpu_us_total: sampler_cpu_us,
        stopped_early: stopped_early.map(|r| r.to_string()),
    };
    // Let the closed connections' tasks finish so each retained state is its last owner,
    // then drop the store, measuring what every entry held. A `--breakdown` profile ends
    // before that, with every retained (fresh) or kept (leak) session still live: its "at end".
    let (retention, sessions_held) = match &ctx.retained {
        Some(store) => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            crate::measure::alloc::finish_dhat();
            let mut s = lock(store);
            let held = s.stats().entries;
            s.drain();
            (Some(s.stats()), held)
        }
        None => {
            crate::measure::alloc::finish_dhat();
            let held = match ctx.sessions {
                Sessions::PerRequest { keep: true } => lock(&c.leaked).len() as u64,
                _ => 0,
            };
            (None, held)
        }
    };
    let profile = plan.profile.as_deref().map(|f| {
        crate::measure::breakdown::read(f)
            .map(|breakdown| crate::contract::breakdown::LoadProfile {
                breakdown,
                sessions_held,
            })
            .map_err(|e| e.to_string())
    });
    ClientFinal {
        totals,
        fd_limit: fd_limit.map(|l| l.soft),
        retention,
        profile,
        knobs: None,
        held: None,
    }
}
