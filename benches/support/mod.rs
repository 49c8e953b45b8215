//! What the criterion benches share: the server fixture, the request checks, and the heap
//! figures measured as criterion measurements beside time.
//!
//! The servers run on their own runtime's threads; every client runs on the bench thread, on a
//! current-thread runtime where hyper-util (hyper's and reqwest's) spawns its connection tasks,
//! so the bench thread's allocator counters charge the client and nothing else. Why, and how
//! the server readings check it: docs/benchmarks.md, "Benchmarks".

pub mod checks;
pub mod fixture;
pub mod group;
pub mod heap;
