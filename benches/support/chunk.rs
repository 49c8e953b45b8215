//! Driving a case's steps in chunks of one `block_on` each: timed (outputs held or dropped)
//! and, for the bytes pass, counted step by step.

use std::future::Future;
use std::time::{Duration, Instant};

use harness::measure::alloc;
use tokio::runtime::Runtime;

/// Iterations per timed `block_on` at most, and so the most outputs (for example leaked
/// sessions with their open connections) held at once before they are dropped untimed.
pub(super) const CHUNK: u64 = 256;

/// Runs `n` steps in one `block_on`, pushing each step's output into `held` (pre-allocated by
/// the caller, so neither the timer nor the allocator counters see the vector). Returns the
/// time the steps took; `held` is dropped by the caller, outside the timed region.
pub(super) fn run_chunk<H, F, Fut>(
    rt: &Runtime,
    step: &mut F,
    n: u64,
    held: &mut Vec<H>,
) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        let t0 = Instant::now();
        for _ in 0..n {
            held.push(step().await);
        }
        t0.elapsed()
    })
}

/// Runs `n` steps in one `block_on`, dropping each output at once, inside the timed region.
pub(super) fn run_chunk_dropping<H, F, Fut>(rt: &Runtime, step: &mut F, n: u64) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        let t0 = Instant::now();
        for _ in 0..n {
            drop(step().await);
        }
        t0.elapsed()
    })
}

/// [`run_chunk`] for the bytes pass: also records each step's own bench-thread bytes and
/// allocations in `per_step` (pre-allocated too), to show how they vary step to step.
pub(super) fn run_chunk_counted<H, F, Fut>(
    rt: &Runtime,
    step: &mut F,
    n: u64,
    held: &mut Vec<H>,
    per_step: &mut Vec<(u64, u64)>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    rt.block_on(async {
        for _ in 0..n {
            let a = alloc::thread_counts().unwrap_or_default();
            held.push(step().await);
            let b = alloc::thread_counts().unwrap_or_default();
            per_step.push((b.bytes - a.bytes, b.allocs - a.allocs));
        }
    })
}
