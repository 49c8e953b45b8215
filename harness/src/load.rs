//! The client worker's open-loop load: request i *starts* at i/R after the load begins,
//! whatever earlier requests are doing (no coordinated omission), bounded by a limit on
//! requests in flight. Starts that come ≥ 2 ms late (twice tokio's 1 ms timer resolution) or had to wait
//! for a free slot are counted as late. A sampler reports the timeline every interval.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;
use hyper::Uri;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{sleep_until, Instant};

use crate::alloc;
use crate::connector::ConnUse;
use crate::mode::Mode;
use crate::procstat;
use crate::session::{Pooling, Session, SessionFactory, REQUEST_TIMEOUT};
use crate::summary::{Latency, P50P99};
use crate::wire::{ClientFinal, ClientSample, WorkerMsg};

/// A start this much after its scheduled time counts as late.
pub const LATE_THRESHOLD: Duration = Duration::from_millis(2);
/// Descriptors kept free below the limit when leak mode decides to stop.
pub const FD_HEADROOM: u64 = 64;

/// What the client worker runs.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub mode: Mode,
    pub target: Uri,
    pub rate: f64,
    pub duration: Duration,
    pub max_in_flight: usize,
    pub sample_interval: Duration,
}

impl LoadPlan {
    /// Requests the schedule calls for: one every 1/R within the duration.
    pub fn planned(&self) -> u64 {
        ((self.rate * self.duration.as_secs_f64()).ceil() as u64).max(1)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn new_hist() -> Histogram<u64> {
    // 1 µs .. 1 h at 3 significant digits; auto-resize covers anything longer.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfigs is valid"));
    h.auto(true);
    h
}

fn p50p99(h: &Histogram<u64>) -> Option<P50P99> {
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

struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    late: AtomicU64,
    reused: AtomicU64,
    builds: AtomicU64,
    build_us_total: AtomicU64,
    build_bytes: AtomicU64,
    build_bytes_measured: std::sync::atomic::AtomicBool,
    failures: Mutex<BTreeMap<String, u64>>,
    lat_interval: Mutex<Histogram<u64>>,
    lat_total: Mutex<Histogram<u64>>,
    build_hist: Mutex<Histogram<u64>>,
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
            build_us_total: AtomicU64::new(0),
            build_bytes: AtomicU64::new(0),
            build_bytes_measured: std::sync::atomic::AtomicBool::new(true),
            failures: Mutex::new(BTreeMap::new()),
            lat_interval: Mutex::new(new_hist()),
            lat_total: Mutex::new(new_hist()),
            build_hist: Mutex::new(new_hist()),
            lag_hist: Mutex::new(new_hist()),
            leaked: Mutex::new(Vec::new()),
        }
    }

    fn fail(&self, kind: String) {
        self.failed.fetch_add(1, Relaxed);
        *lock(&self.failures).entry(kind).or_default() += 1;
    }
}

struct Ctx {
    target: Uri,
    sessions: Sessions,
    counters: Counters,
    factory: SessionFactory,
}

/// Builds a session, charging it its exact CPU time and bytes (the build is synchronous, so
/// the allocations on this thread during it are all its own).
fn build_session(
    c: &Counters,
    factory: &SessionFactory,
    pooling: Pooling,
) -> Result<Session, String> {
    let t0 = std::time::Instant::now();
    let (built, allocs) = alloc::measure_thread(|| factory.build(pooling));
    let us = t0.elapsed().as_micros() as u64;
    c.builds.fetch_add(1, Relaxed);
    c.build_us_total.fetch_add(us, Relaxed);
    let _ = lock(&c.build_hist).record(us.max(1));
    match allocs {
        Some(a) => {
            c.build_bytes.fetch_add(a.bytes, Relaxed);
        }
        None => c.build_bytes_measured.store(false, Relaxed),
    }
    built.map_err(|e| format!("build: {e}"))
}

impl Ctx {
    async fn request(self: Arc<Self>, _permit: OwnedSemaphorePermit) {
        let t0 = Instant::now();
        let result = match &self.sessions {
            Sessions::PerRequest { keep } => {
                match build_session(&self.counters, &self.factory, Pooling::KeepAlive) {
                    Ok(session) => {
                        let r = session.get(&self.target).await;
                        if *keep {
                            lock(&self.counters.leaked).push(session);
                        }
                        // Otherwise the session is dropped here: invalidated, connections closed.
                        r.map_err(|e| e.kind())
                    }
                    Err(kind) => Err(kind),
                }
            }
            Sessions::One(session) => session.get(&self.target).await.map_err(|e| e.kind()),
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

/// Runs the plan's load against `plan.target`, emitting samples on stdout, until the schedule
/// ends or `stop` turns true. Returns the totals.
pub async fn run(
    plan: LoadPlan,
    factory: SessionFactory,
    stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
) -> ClientFinal {
    let start_state = Start {
        heap_start: alloc::heap(),
        rss_start: procstat::rss_bytes(),
        fds_start: procstat::open_fds(),
        cpu_start: procstat::cpu_seconds(),
    };
    let counters = Counters::new();
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
                    counters.fail(kind.clone());
                    return ClientFinal {
                        requests_planned: plan.planned(),
                        requests_failed: 1,
                        failures_by_kind: lock(&counters.failures).clone(),
                        fd_limit: fd_limit.map(|l| l.soft),
                        stopped_early: Some(format!("could not build the session: {kind}")),
                        ..Default::default()
                    };
                }
            }
        }
    };
    run_with(
        plan,
        factory,
        sessions,
        counters,
        stop,
        fd_limit,
        start_state,
    )
    .await
}

struct Start {
    heap_start: Option<alloc::HeapStats>,
    rss_start: Option<u64>,
    fds_start: Option<u64>,
    cpu_start: Option<f64>,
}

async fn run_with(
    plan: LoadPlan,
    factory: SessionFactory,
    sessions: Sessions,
    counters: Counters,
    mut stop: watch::Receiver<bool>,
    fd_limit: Option<procstat::FdLimit>,
    start_state: Start,
) -> ClientFinal {
    let ctx = Arc::new(Ctx {
        target: plan.target.clone(),
        sessions,
        counters,
        factory: factory.clone(),
    });
    let sem = Arc::new(Semaphore::new(plan.max_in_flight));
    let planned = plan.planned();
    let start = Instant::now();
    let deadline = start + plan.duration;
    let nanos_per_req = 1e9 / plan.rate;

    let (sampler_stop_tx, sampler_stop_rx) = watch::channel(false);
    let sampler = tokio::spawn(sampler_loop(
        ctx.clone(),
        plan.sample_interval,
        start,
        sampler_stop_rx,
    ));

    let mut started = 0u64;
    let mut stopped_early = None;
    let fd_budget = match (fd_limit, start_state.fds_start) {
        (Some(l), Some(f)) => Some(l.soft.saturating_sub(f + FD_HEADROOM)),
        _ => None,
    };
    for i in 0..planned {
        if *stop.borrow() {
            stopped_early = Some("interrupted".to_string());
            break;
        }
        let scheduled = start + Duration::from_nanos((i as f64 * nanos_per_req) as u64);
        tokio::select! {
            _ = sleep_until(scheduled) => {}
            _ = stop.changed() => { stopped_early = Some("interrupted".into()); break; }
        }
        let (permit, waited) = match sem.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => tokio::select! {
                p = sem.clone().acquire_owned() => match p {
                    Ok(p) => (p, true),
                    Err(_) => break,
                },
                _ = stop.changed() => { stopped_early = Some("interrupted".into()); break; }
                _ = sleep_until(deadline) => {
                    stopped_early = Some(format!(
                        "fell behind: all {} request slots (--max-in-flight) stayed busy until the end; {started} of {planned} requests started",
                        plan.max_in_flight));
                    break;
                }
            },
        };
        let now = Instant::now();
        if now >= deadline && i > 0 {
            stopped_early = Some(format!(
                "fell behind: {started} of {planned} requests started within the duration"
            ));
            break;
        }
        if plan.mode == Mode::Leak {
            if let (Some(budget), Some(lim)) = (fd_budget, fd_limit) {
                let in_flight = (plan.max_in_flight - sem.available_permits()) as u64;
                if factory.stats().open() + in_flight >= budget {
                    stopped_early = Some(format!(
                        "leak: stopped after {started} sessions, before the file-descriptor limit: {} open connections, RLIMIT_NOFILE soft limit {} (hard {}); raise it with `ulimit -n` or lower --rate/--seconds",
                        factory.stats().open(), lim.soft, lim.hard
                    ));
                    break;
                }
            }
        }
        let lag = now.saturating_duration_since(scheduled);
        let lag_us = lag.as_micros() as u64;
        let _ = lock(&ctx.counters.lag_hist).record(lag_us);
        if waited || lag >= LATE_THRESHOLD {
            ctx.counters.late.fetch_add(1, Relaxed);
        }
        started += 1;
        tokio::spawn(ctx.clone().request(permit));
    }

    // Drain: every in-flight request ends within its own timeout.
    let _ = tokio::time::timeout(
        REQUEST_TIMEOUT + Duration::from_secs(2),
        sem.acquire_many(plan.max_in_flight as u32),
    )
    .await;
    let end = Instant::now();
    let _ = sampler_stop_tx.send(true);
    let sampler_cpu_us = sampler.await.unwrap_or(0);

    let c = &ctx.counters;
    let elapsed = if stopped_early.is_some() {
        end.duration_since(start)
    } else {
        end.duration_since(start).max(plan.duration)
    };
    let heap_end = alloc::heap();
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
    let failures_by_kind = lock(&c.failures).clone();
    let start_lag_us = p50p99(&lock(&c.lag_hist));
    let build_us = p50p99(&lock(&c.build_hist));
    let stats = factory.stats();
    let ok = c.ok.load(Relaxed);
    ClientFinal {
        requests_planned: planned,
        requests_started: started,
        requests_ok: ok,
        requests_failed: c.failed.load(Relaxed),
        failures_by_kind,
        elapsed_s: elapsed.as_secs_f64(),
        late_starts: c.late.load(Relaxed),
        start_lag_us,
        connections_opened: stats.opened.load(Relaxed),
        handshakes_full: stats.handshakes_full.load(Relaxed),
        handshakes_resumed: stats.handshakes_resumed.load(Relaxed),
        requests_reused_conn: c.reused.load(Relaxed),
        load_alloc_bytes: heap_end
            .zip(start_state.heap_start)
            .map(|(e, s)| e.total_bytes - s.total_bytes),
        load_allocs: heap_end
            .zip(start_state.heap_start)
            .map(|(e, s)| e.total_allocs - s.total_allocs),
        builds: c.builds.load(Relaxed),
        build_us,
        build_us_total: c.build_us_total.load(Relaxed),
        build_alloc_bytes_total: c
            .build_bytes_measured
            .load(Relaxed)
            .then(|| c.build_bytes.load(Relaxed)),
        heap_start: start_state.heap_start.map(|h| h.live_bytes),
        heap_end: heap_end.map(|h| h.live_bytes),
        rss_start: start_state.rss_start,
        rss_end: procstat::rss_bytes(),
        fds_start: start_state.fds_start,
        fds_end: procstat::open_fds(),
        cpu_s: procstat::cpu_seconds()
            .zip(start_state.cpu_start)
            .map(|(e, s)| e - s),
        latency,
        sampler_cpu_us,
        fd_limit: fd_limit.map(|l| l.soft),
        stopped_early,
    }
}

/// Emits a sample every `every` until told to stop, then one last; returns its own CPU cost.
async fn sampler_loop(
    ctx: Arc<Ctx>,
    every: Duration,
    start: Instant,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    let mut ticker = tokio::time::interval_at(start + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cost_us = 0u64;
    let mut prev = (0.0f64, 0u64);
    loop {
        let last = tokio::select! {
            _ = ticker.tick() => false,
            _ = stop.changed() => true,
        };
        let c0 = procstat::thread_cpu_us();
        let sample = take_sample(&ctx, start, &mut prev);
        // A closed stdout means the parent is gone; the stdin watcher stops us then.
        let _ = WorkerMsg::Client(Box::new(sample)).emit();
        if let (Some(a), Some(b)) = (c0, procstat::thread_cpu_us()) {
            cost_us += b.saturating_sub(a);
        }
        if last {
            return cost_us;
        }
    }
}

fn take_sample(ctx: &Ctx, start: Instant, prev: &mut (f64, u64)) -> ClientSample {
    let c = &ctx.counters;
    let t_s = start.elapsed().as_secs_f64();
    let ok = c.ok.load(Relaxed);
    let failed = c.failed.load(Relaxed);
    let done = ok + failed;
    let dt = t_s - prev.0;
    let interval_rps = if dt > 0.0 {
        (done - prev.1) as f64 / dt
    } else {
        0.0
    };
    *prev = (t_s, done);
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
    let heap = alloc::heap();
    let stats = ctx.factory.stats();
    let retained = match &ctx.sessions {
        Sessions::PerRequest { keep: true } => Some(lock(&c.leaked).len() as u64),
        _ => None,
    };
    ClientSample {
        t_s,
        virtual_t_s: t_s,
        requests_ok: ok,
        requests_failed: failed,
        interval_rps,
        late_starts: c.late.load(Relaxed),
        rss_bytes: procstat::rss_bytes(),
        heap_live_bytes: heap.map(|h| h.live_bytes),
        alloc_bytes_total: heap.map(|h| h.total_bytes),
        allocs_total: heap.map(|h| h.total_allocs),
        cpu_s: procstat::cpu_seconds(),
        open_fds: procstat::open_fds(),
        open_conns: stats.open(),
        retained_sessions: retained,
        retained_bytes: None,
        handshakes_full: stats.handshakes_full.load(Relaxed),
        handshakes_resumed: stats.handshakes_resumed.load(Relaxed),
        requests_reused_conn: c.reused.load(Relaxed),
        latency_p50_us: p50,
        latency_p99_us: p99,
        latency_max_us: max,
    }
}
