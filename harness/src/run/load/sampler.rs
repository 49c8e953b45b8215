//! The load's timeline: one `ClientSample` per interval, the sampler's own CPU counted.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::sync::watch;

use crate::contract::wire::{ClientSample, WorkerMsg};
use crate::measure::{alloc, procstat};
use crate::run::load::ctx::{lock, p50p99, Ctx};
use crate::vocab::mode::Mode;

/// Builds samples and charges itself the CPU time it takes (`cost_us` turns `None` for good
/// the first time the thread clock cannot be read: a partial sum is not the cost).
pub(super) struct Sampler {
    pub(super) cost_us: Option<u64>,
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
    pub(super) fn emit(&mut self, ctx: &Ctx, virtual_t_s: f64) {
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
        let interval_rps = (dt > 0.0).then(|| (done - self.prev_done) as f64 / dt);
        let interval_rps = interval_rps.unwrap_or(0.0);
        self.prev_t = t_s;
        self.prev_done = done;
        let (latency, max) = {
            let mut h = c.lat_interval.lock();
            let v = (p50p99(&h), (!h.is_empty()).then(|| h.max()));
            h.reset();
            v
        };
        let retained = match &ctx.retained {
            _ if ctx.mode == Mode::Leak => Some(lock(&c.leaked).len() as u64),
            Some(store) => {
                let mut s = lock(store);
                s.expire(ctx.now_for(virtual_t_s));
                Some(s.stats().entries)
            }
            None => None,
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
            latency_p50_us: latency.map(|l| l.p50),
            latency_p99_us: latency.map(|l| l.p99),
            latency_max_us: max,
        }
    }
}

/// Real clock: a sample every interval until told to stop, then one last.
pub(super) async fn sampler_loop(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) -> Option<u64> {
    let every = ctx.run.sample_interval;
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
