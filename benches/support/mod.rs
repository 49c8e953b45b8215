//! What the criterion benches share: the server fixture, the groups and the figures.

pub mod bench_tls;
pub mod figure;
pub mod fixture;
pub mod group;
