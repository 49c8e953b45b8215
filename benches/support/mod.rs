//! What the criterion benches share: the server fixture, the request checks and the figures.

pub mod bench_tls;
pub mod checks;
pub mod figure;
pub mod fixture;
pub mod group;
