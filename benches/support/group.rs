//! A criterion group with the suite's settings: each case is benchmarked by criterion, then
//! run through the bytes pass into the [`Book`].

use std::future::Future;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use harness::measure::settle;
use tokio::runtime::Runtime;

use super::chunk::{run_chunk, run_chunk_counted, run_chunk_dropping, CHUNK};
use super::conns::Conns;
use super::pass::{snapshot, Book, PassMode, Round, Row, PASS_ITERS, PASS_ROUNDS};

/// What the timed run does with a step's output (the bytes pass always holds outputs to the
/// end of its round, so that their size shows as "held").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    /// Dropped right away, the drop timed with the step. For cheap steps whose outputs are
    /// big (sessions): holding a chunk of them would time page faults and heap trimming
    /// rather than the step (a 256-session chunk of webpki sessions is ~15 MB).
    DropTimed,
    /// Held to the end of the chunk (at most `CHUNK` steps) and dropped untimed.
    HoldUntimed,
}

/// A criterion group with the suite's settings, and the book its bytes go to.
pub struct Group<'c, 'b> {
    g: BenchmarkGroup<'c, WallTime>,
    name: &'static str,
    book: &'b mut Book,
}

impl<'c, 'b> Group<'c, 'b> {
    /// Sample size 20, 1 s warm-up, 2 s measurement: about 3.5 s per benchmark, analysis
    /// included, plus ~2 s for the bytes pass of the slowest (handshaking) cases.
    pub fn new(c: &'c mut Criterion, name: &'static str, book: &'b mut Book) -> Self {
        let mut g = c.benchmark_group(name);
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2));
        Self { g, name, book }
    }

    /// Benchmarks `step` as `group/id` (an `id` of `a/b` becomes function `a`, parameter
    /// `b`), then — if criterion ran it (it passed the filter) — runs the bytes pass on it.
    ///
    /// Steps run in chunks of at most `CHUNK` per `block_on`; `outputs` says whether each
    /// step's output is dropped inside the timed region or held to the end of the chunk and
    /// dropped outside it. After each chunk the runtime runs (untimed) until `stats` has no
    /// more than `baseline` connections open again. A step that must include its own
    /// teardown in the figures (dropping a session, closing a connection) does it itself.
    ///
    /// `conns` are the connection counters to settle on and report: the client's own where
    /// it has them, else the server's (see [`Conns`]).
    pub fn case<H, F, Fut>(
        &mut self,
        rt: &Runtime,
        id: &str,
        conns: Conns<'_>,
        outputs: Outputs,
        mut step: F,
    ) where
        F: FnMut() -> Fut,
        Fut: Future<Output = H>,
    {
        let stats = conns.stats();
        let baseline = stats.open();
        let wait_closed = || {
            rt.block_on(settle::connections(stats, baseline))
                .unwrap_or_else(|e| panic!("{}/{id}: {e}", self.name));
        };
        let (bench_id, dir) = match id.split_once('/') {
            Some((f, p)) => (BenchmarkId::new(f, p), format!("{}/{f}/{p}", self.name)),
            None => (
                BenchmarkId::from_parameter(id),
                format!("{}/{id}", self.name),
            ),
        };
        let mut ran = false;
        self.g.bench_function(bench_id, |b| {
            ran = true;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    if outputs == Outputs::DropTimed {
                        total += run_chunk_dropping(rt, &mut step, n);
                    } else {
                        let mut held = Vec::with_capacity(n as usize);
                        total += run_chunk(rt, &mut step, n, &mut held);
                        drop(held);
                    }
                    wait_closed();
                    left -= n;
                }
                total
            })
        });
        if !ran || self.book.mode == PassMode::Off {
            return;
        }
        let (iters, rounds) = match self.book.mode {
            PassMode::Full => (PASS_ITERS, PASS_ROUNDS),
            _ => (3, 1),
        };
        let mut out = Vec::with_capacity(rounds);
        let mut steps = Vec::with_capacity(rounds * iters as usize);
        for _ in 0..rounds {
            let mut held = Vec::with_capacity(iters as usize);
            let Some(before) = snapshot(stats) else {
                return; // the counting allocator is not installed: nothing to report
            };
            run_chunk_counted(rt, &mut step, iters, &mut held, &mut steps);
            let Some(after) = snapshot(stats) else {
                return;
            };
            drop(held);
            wait_closed();
            out.push(Round::between(&before, &after, iters));
        }
        self.book.rows.push(Row {
            id: format!("{}/{id}", self.name),
            dir,
            rounds: out,
            steps,
            conns_side: conns.side(),
        });
    }

    pub fn finish(self) {
        self.g.finish();
    }
}
