//! The suite's criterion instances, one per figure, and a group that runs each case through all.

use std::future::Future;

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use harness::measure::settle;
use harness::tls::connector::ConnStats;
use tokio::runtime::Runtime;

use super::figure::Figure;

/// Steps per `block_on` at most, and so the most outputs (for example leaked sessions with
/// their open connections) held at once before they are dropped, unmeasured.
const CHUNK: u64 = 256;

/// One criterion instance per [`Figure`].
pub struct Suite(Vec<(Figure, Criterion<Figure>)>);

impl Suite {
    pub fn from_args() -> Self {
        Self(Figure::ALL.map(|f| (f, f.criterion())).into())
    }

    pub fn finish(self) {
        self.0.into_iter().for_each(|(_, c)| c.final_summary());
    }
}

/// What the time figure does with a step's output (the heap figures hold them to the end of
/// their chunk, so their size shows in [`Figure::ClientHeld`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    /// Dropped right away, the drop timed with the step: for cheap steps with big outputs,
    /// where holding a chunk would time page faults and heap trimming instead.
    DropTimed,
    /// Held to the end of the chunk and dropped untimed.
    HoldUntimed,
}

/// One criterion group per figure, and the runtime that runs its steps.
pub struct Group<'c> {
    rt: &'c Runtime,
    groups: Vec<(Figure, BenchmarkGroup<'c, Figure>)>,
}

impl<'c> Group<'c> {
    /// `server`: whether the group's cases talk to the server, and so measure its bytes.
    pub fn new(suite: &'c mut Suite, rt: &'c Runtime, name: &str, server: bool) -> Self {
        let groups = suite.0.iter_mut();
        let groups = groups.filter(|(f, _)| server || *f != Figure::ServerBytes);
        let groups = groups.map(|(f, c)| (*f, c.benchmark_group(f.group(name))));
        Self {
            rt,
            groups: groups.collect(),
        }
    }

    /// Benchmarks `step` as `group/id` in every figure, in chunks of at most [`CHUNK`] steps
    /// per `block_on`. After each chunk the runtime runs, unmeasured, until `conns` has no
    /// more connections open than before the case; a step whose figures include its own
    /// teardown does it itself.
    pub fn case<H, F, Fut>(&mut self, id: &str, conns: &ConnStats, outputs: Outputs, mut step: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = H>,
    {
        let (rt, baseline) = (self.rt, conns.open());
        let bench_id = match id.split_once('/') {
            Some((f, p)) => BenchmarkId::new(f, p),
            None => BenchmarkId::from_parameter(id),
        };
        for (m, g) in &mut self.groups {
            let m = *m;
            let drop_timed = m == Figure::Time && outputs == Outputs::DropTimed;
            g.bench_function(bench_id.clone(), |b| {
                b.iter_custom(|iters| {
                    let mut total = 0.0;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(CHUNK);
                        let mut held = Vec::with_capacity(if drop_timed { 0 } else { n as usize });
                        total += rt.block_on(async {
                            let start = m.start();
                            for _ in 0..n {
                                let out = step().await;
                                if !drop_timed {
                                    held.push(out);
                                }
                            }
                            m.end(start)
                        });
                        drop(held);
                        rt.block_on(settle::connections(conns, baseline))
                            .unwrap_or_else(|e| panic!("{id}: {e}"));
                        left -= n;
                    }
                    total
                })
            });
        }
    }

    pub fn finish(self) {
        self.groups.into_iter().for_each(|(_, g)| g.finish());
    }
}
