//! The suite's criterion instances (time, and one per heap figure) and a group that runs each
//! case through all of them.

use std::future::Future;
use std::time::Duration;

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use harness::measure::settle;
use harness::tls::connector::ConnStats;
use tokio::runtime::Runtime;

use super::heap::{Heap, QUIESCE};

/// Steps per `block_on` at most, and so the most outputs (for example leaked sessions with
/// their open connections) held at once before they are dropped, untimed and uncounted.
const CHUNK: u64 = 256;

/// Time: 20 samples after 1 s of warm-up, 2 s of measurement. Heap figures are deterministic
/// or nearly (a handshake's vary by well under 1 % with its random values), so 10 short
/// samples show them and their spread. The command line overrides both (criterion's
/// `--warm-up-time`, `--measurement-time`, `--sample-size`, `--quick`).
pub struct Suite {
    time: Criterion,
    heap: Vec<(Heap, Criterion<Heap>)>,
}

impl Suite {
    pub fn from_args() -> Self {
        let time = Criterion::default()
            .without_plots()
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2))
            .configure_from_args();
        let heap = Heap::ALL.map(|h| {
            let c = Criterion::default()
                .with_measurement(h)
                .without_plots()
                .sample_size(10)
                .warm_up_time(Duration::from_millis(100))
                .measurement_time(if h == Heap::ServerBytes {
                    // Two quiesces per sample at the least.
                    QUIESCE * 2 * 12
                } else {
                    Duration::from_millis(300)
                })
                .configure_from_args();
            (h, c)
        });
        Self {
            time,
            heap: heap.into(),
        }
    }

    pub fn finish(self) {
        self.time.final_summary();
        self.heap.into_iter().for_each(|(_, c)| c.final_summary());
    }
}

/// What the timed run does with a step's output (the heap figures always hold outputs to the
/// end of their chunk, so that their size shows in [`Heap::ClientHeld`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    /// Dropped right away, the drop timed with the step. For cheap steps whose outputs are
    /// big (sessions): holding a chunk of them would time page faults and heap trimming
    /// rather than the step (a 256-session chunk of webpki sessions is ~15 MB).
    DropTimed,
    /// Held to the end of the chunk and dropped untimed.
    HoldUntimed,
}

/// One criterion group per figure: `name` for time, `<figure>/name` for each heap figure.
pub struct Group<'c> {
    time: BenchmarkGroup<'c, WallTime>,
    heap: Vec<(Heap, BenchmarkGroup<'c, Heap>)>,
}

impl<'c> Group<'c> {
    /// `server`: whether the group's cases talk to the server, and so measure its bytes.
    pub fn new(suite: &'c mut Suite, name: &str, server: bool) -> Self {
        let heap = suite
            .heap
            .iter_mut()
            .filter(|(h, _)| server || *h != Heap::ServerBytes)
            .map(|(h, c)| (*h, c.benchmark_group(format!("{}/{name}", h.name()))))
            .collect();
        Self {
            time: suite.time.benchmark_group(name),
            heap,
        }
    }

    /// Benchmarks `step` as `group/id` in every figure (an `id` of `a/b` becomes function
    /// `a`, parameter `b`).
    ///
    /// Steps run in chunks of at most [`CHUNK`] per `block_on`; `outputs` says whether the
    /// timed run drops each output inside the timed region or holds it to the end of the
    /// chunk. After each chunk the runtime runs (untimed, uncounted) until `conns` has no more
    /// connections open than before the case. A step that must include its own teardown in
    /// the figures (dropping a session, closing a connection) does it itself. `conns` are the
    /// client's connection counters where it has them, else the server's (reqwest).
    pub fn case<H, F, Fut>(
        &mut self,
        rt: &Runtime,
        id: &str,
        conns: &ConnStats,
        outputs: Outputs,
        mut step: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = H>,
    {
        let baseline = conns.open();
        let settle = || {
            rt.block_on(settle::connections(conns, baseline))
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        };
        let drop_timed = outputs == Outputs::DropTimed;
        bench(
            &mut self.time,
            &WallTime,
            rt,
            id,
            drop_timed,
            &mut step,
            settle,
        );
        for (m, g) in &mut self.heap {
            bench(g, m, rt, id, false, &mut step, settle);
        }
    }

    pub fn finish(self) {
        self.time.finish();
        self.heap.into_iter().for_each(|(_, g)| g.finish());
    }
}

/// [`Group::case`] in one figure, measured by `m`: chunks of at most [`CHUNK`] steps, each
/// chunk's outputs dropped in the measurement (`drop_timed`) or after it, then `settle`.
fn bench<M, H, F, Fut>(
    g: &mut BenchmarkGroup<'_, M>,
    m: &M,
    rt: &Runtime,
    id: &str,
    drop_timed: bool,
    step: &mut F,
    settle: impl Fn(),
) where
    M: Measurement,
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
{
    let bench_id = match id.split_once('/') {
        Some((f, p)) => BenchmarkId::new(f, p),
        None => BenchmarkId::from_parameter(id),
    };
    g.bench_function(bench_id, |b| {
        b.iter_custom(|iters| {
            let mut total = m.zero();
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let v = if drop_timed {
                    rt.block_on(async {
                        let start = m.start();
                        for _ in 0..n {
                            drop(step().await);
                        }
                        m.end(start)
                    })
                } else {
                    let mut held = Vec::with_capacity(n as usize);
                    let v = run_holding(rt, step, n, &mut held, m);
                    drop(held);
                    v
                };
                settle();
                total = m.add(&total, &v);
                left -= n;
            }
            total
        })
    });
}

/// Runs `n` steps in one `block_on`, measured by `m`, pushing each output into `held`
/// (allocated by the caller, so neither the timer nor the allocator counters see it; the
/// caller drops it outside the measurement).
fn run_holding<H, F, Fut, M>(
    rt: &Runtime,
    step: &mut F,
    n: u64,
    held: &mut Vec<H>,
    m: &M,
) -> M::Value
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
    M: Measurement,
{
    rt.block_on(async {
        let start = m.start();
        for _ in 0..n {
            held.push(step().await);
        }
        m.end(start)
    })
}
