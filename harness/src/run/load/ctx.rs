//! What the load's tasks share (config, counters, start readings); one request, one build.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use hdrhistogram::Histogram;
use hyper::Uri;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::contract::plan::RunPlan;
use crate::contract::wire::P50P99;
use crate::measure::{alloc, procstat, settle};
use crate::run::retention::RetentionStore;
use crate::tls::connector::ConnUse;
use crate::tls::session::{FailureKind, Pooling, Session, SessionFactory};
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

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

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Retained = RetentionStore<Arc<rustls::ClientConfig>>;

pub(super) struct Hist(Mutex<Histogram<u64>>);

impl Default for Hist {
    fn default() -> Self {
        Hist(Mutex::new(new_hist()))
    }
}

impl Hist {
    pub(super) fn lock(&self) -> MutexGuard<'_, Histogram<u64>> {
        lock(&self.0)
    }
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) ok: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) late: AtomicU64,
    pub(super) reused: AtomicU64,
    pub(super) builds: AtomicU64,
    pub(super) build_cpu_ns_total: AtomicU64,
    pub(super) build_cpu_unmeasured: AtomicBool,
    pub(super) build_bytes: AtomicU64,
    pub(super) build_bytes_unmeasured: AtomicBool,
    /// OpenSSL's share of `build_bytes` (meaningful only while OpenSSL's heap is counted).
    pub(super) build_openssl_bytes: AtomicU64,
    pub(super) failures: Mutex<BTreeMap<String, u64>>,
    pub(super) lat_interval: Hist,
    pub(super) lat_total: Hist,
    pub(super) build_hist: Hist,
    pub(super) build_cpu_hist: Hist,
    pub(super) lag_hist: Hist,
    pub(super) leaked: Mutex<Vec<Session>>,
}

impl Counters {
    pub(super) fn fail(&self, kind: FailureKind) {
        self.failed.fetch_add(1, Relaxed);
        *lock(&self.failures).entry(kind.to_string()).or_default() += 1;
    }
}

/// Builds a session, charging it its wall time, its thread's CPU time and its bytes (the
/// build is synchronous: all on this thread during it is its own).
pub(super) fn build_session(
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
    let _ = c.build_hist.lock().record(us.max(1));
    match cpu_ns {
        Some(ns) => {
            c.build_cpu_ns_total.fetch_add(ns, Relaxed);
            let _ = c.build_cpu_hist.lock().record((ns / 1000).max(1));
        }
        None => c.build_cpu_unmeasured.store(true, Relaxed),
    }
    match allocs {
        Some(a) => {
            c.build_bytes.fetch_add(a.bytes, Relaxed);
        }
        None => c.build_bytes_unmeasured.store(true, Relaxed),
    }
    built.map_err(|e| FailureKind::Build(e.to_string()))
}

/// Where the process stood when the load began.
pub(super) struct Start {
    pub(super) heap: Option<alloc::HeapStats>,
    pub(super) openssl: Option<alloc::HeapStats>,
    pub(super) rss: Option<u64>,
    pub(super) fds: Option<u64>,
    pub(super) cpu: Option<f64>,
    /// Tasks alive on the runtime before any session: what it returns to once the kept
    /// sessions' connections have ended.
    pub(super) tasks: Option<usize>,
}

impl Start {
    pub(super) fn now() -> Self {
        Self {
            heap: alloc::heap(),
            openssl: alloc::heap().and(alloc::openssl_heap()),
            rss: procstat::rss_bytes(),
            fds: procstat::open_fds(),
            cpu: procstat::cpu_seconds(),
            tasks: settle::alive_tasks(),
        }
    }
}

pub(super) struct Ctx {
    pub(super) run: RunPlan,
    pub(super) mode: Mode,
    pub(super) target: Uri,
    /// `--breakdown`: record a dhat heap profile of the load here, from its start to its end
    /// with the retained or kept sessions still live.
    pub(super) profile: Option<PathBuf>,
    /// Shared and resume: the run's one session (fresh and leak build one per request; leak
    /// keeps each).
    pub(super) one: Option<Arc<Session>>,
    pub(super) counters: Counters,
    pub(super) factory: SessionFactory,
    pub(super) retained: Option<Mutex<Retained>>,
    pub(super) start: Instant,
    pub(super) at_start: Start,
    pub(super) fd_limit: Option<procstat::FdLimit>,
    /// The warm-up before `start`, µs (see `SessionFactory::warm_up`).
    pub(super) warmup_us: Option<u64>,
}

impl Ctx {
    /// Late starts so far; `None` under the virtual clock, which has no schedule.
    pub(super) fn late_starts(&self) -> Option<u64> {
        (self.run.clock == Clock::Real).then(|| self.counters.late.load(Relaxed))
    }

    /// The time on the run's clock request `i` is scheduled for: i/R.
    pub(super) fn stamp(&self, i: u64) -> f64 {
        i as f64 / self.run.rate
    }

    /// Seconds on the run's clock for a request stamped `stamp` that completes now.
    pub(super) fn now_for(&self, stamp: f64) -> f64 {
        match self.run.clock {
            Clock::Real => self.start.elapsed().as_secs_f64(),
            Clock::Virtual => stamp,
        }
    }

    pub(super) async fn request(self: Arc<Self>, stamp: f64, _permit: OwnedSemaphorePermit) {
        let t0 = Instant::now();
        let result = match &self.one {
            Some(session) => session.get(&self.target).await.map_err(|e| e.kind()),
            None => match build_session(&self.counters, &self.factory, Pooling::KeepAlive) {
                Ok(session) => {
                    let r = session.get(&self.target).await;
                    if self.mode == Mode::Leak {
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
            },
        };
        let us = t0.elapsed().as_micros() as u64;
        let c = &self.counters;
        match result {
            Ok(out) => {
                c.ok.fetch_add(1, Relaxed);
                if out.conn == Some(ConnUse::Reused) {
                    c.reused.fetch_add(1, Relaxed);
                }
                let _ = c.lat_interval.lock().record(us.max(1));
                let _ = c.lat_total.lock().record(us.max(1));
            }
            Err(kind) => c.fail(kind),
        }
    }
}
