//! The load's end: retention drained, kept sessions measured, the final.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::contract::wire::{ClientFinal, ClientTotals, KeptRelease, Latency};
use crate::measure::{alloc, procstat, settle};
use crate::run::load::ctx::{lock, p50p99, Ctx};
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

pub(super) async fn finish(
    ctx: &Arc<Ctx>,
    started: u64,
    stopped_early: Option<impl std::fmt::Display>,
    sampler_cpu_us: Option<u64>,
) -> ClientFinal {
    let start_state = &ctx.at_start;
    let end = Instant::now();
    let wall = end.duration_since(ctx.start);
    let elapsed = match (ctx.run.clock, &stopped_early) {
        (Clock::Real, None) => wall.max(ctx.run.duration),
        _ => wall,
    };
    let heap_end = alloc::heap();
    let ossl_end = heap_end.and(alloc::openssl_heap());
    let load = heap_end.zip(start_state.heap);
    let c = &ctx.counters;
    let latency = {
        let lat = c.lat_total.lock();
        (!lat.is_empty()).then(|| Latency {
            p50: lat.value_at_quantile(0.5),
            p90: lat.value_at_quantile(0.9),
            p99: lat.value_at_quantile(0.99),
            max: lat.max(),
            mean: lat.mean(),
        })
    };
    let stats = ctx.factory.stats();
    let cpu_measured = !c.build_cpu_unmeasured.load(Relaxed);
    let bytes_measured = !c.build_bytes_unmeasured.load(Relaxed);
    let totals = ClientTotals {
        requests_planned: ctx.run.planned(),
        requests_started: started,
        requests_ok: c.ok.load(Relaxed),
        requests_failed: c.failed.load(Relaxed),
        failures_by_kind: lock(&c.failures).clone(),
        elapsed_s: elapsed.as_secs_f64(),
        virtual_s: (ctx.run.clock == Clock::Virtual).then(|| ctx.stamp(started)),
        late_starts: ctx.late_starts(),
        start_lag_us: p50p99(&c.lag_hist.lock()).filter(|_| ctx.run.clock == Clock::Real),
        handshakes_full: stats.map(|s| s.handshakes_full.load(Relaxed)),
        handshakes_resumed: stats.map(|s| s.handshakes_resumed.load(Relaxed)),
        requests_on_reused_connection: stats.map(|_| c.reused.load(Relaxed)),
        connections_opened: stats.map(|s| s.opened.load(Relaxed)),
        client_load_alloc_bytes: load.map(|(e, s)| e.total_bytes - s.total_bytes),
        client_load_allocs: load.map(|(e, s)| e.total_allocs - s.total_allocs),
        openssl_load_alloc_bytes: ossl_end
            .zip(start_state.openssl)
            .map(|(e, s)| e.total_bytes - s.total_bytes),
        client_builds: c.builds.load(Relaxed),
        client_build_us: p50p99(&c.build_hist.lock()),
        client_build_cpu_us: p50p99(&c.build_cpu_hist.lock()).filter(|_| cpu_measured),
        client_build_cpu_us_total: cpu_measured.then(|| c.build_cpu_ns_total.load(Relaxed) / 1000),
        client_build_alloc_bytes_total: bytes_measured.then(|| c.build_bytes.load(Relaxed)),
        openssl_build_alloc_bytes_total: ossl_end
            .filter(|_| bytes_measured)
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
        // Its text is allocated here, after the heap at the end was read.
        stopped_early: stopped_early.map(|r| r.to_string()),
    };
    // Once the closed connections' tasks end, each retained or kept session's state is its
    // last owner: the `--breakdown` profile ends with them live ("at end"), then they drop.
    let keep = ctx.mode == Mode::Leak;
    if ctx.retained.is_some() || keep {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    crate::measure::alloc::finish_dhat();
    let (retention, sessions_held) = match &ctx.retained {
        Some(store) => {
            let mut s = lock(store);
            let held = s.stats().entries;
            s.drain();
            (Some(s.stats()), held)
        }
        None if keep => (None, lock(&c.leaked).len() as u64),
        None => (None, 0),
    };
    let kept = match keep {
        true => Some(release_kept(ctx, start_state.tasks).await),
        false => None,
    };
    let profile = ctx.profile.as_deref().map(|f| {
        crate::measure::breakdown::read(f)
            .map(|breakdown| crate::contract::breakdown::LoadProfile {
                breakdown,
                sessions_held,
            })
            .map_err(|e| e.to_string())
    });
    ClientFinal {
        totals,
        fd_limit: ctx.fd_limit.map(|l| l.soft),
        retention,
        profile,
        knobs: None,
        held: None,
        kept,
    }
}

/// Drops every kept session: the live heap before, and after their connections' tasks end
/// (back to `tasks_before`). The list's own buffer is freed only after the second reading.
async fn release_kept(ctx: &Ctx, tasks_before: Option<usize>) -> Result<KeptRelease, String> {
    let unmeasured = || "the counting allocator is not installed".to_string();
    let mut kept = std::mem::take(&mut *lock(&ctx.counters.leaked));
    let sessions = kept.len() as u64;
    let live_before = alloc::heap().ok_or_else(unmeasured)?.live_bytes;
    kept.clear();
    let target = tasks_before.ok_or("not inside a tokio runtime")?;
    settle::tasks(target)
        .await
        .map_err(|e| format!("the kept sessions' connections did not end: {e}"))?;
    let live_after = alloc::heap().ok_or_else(unmeasured)?.live_bytes;
    drop(kept);
    Ok(KeptRelease {
        sessions,
        live_before,
        live_after,
    })
}
