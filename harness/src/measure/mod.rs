//! The instruments: the counting allocator, `/proc`, settling, the breakdown, the probes.

pub mod alloc;
pub mod breakdown;
pub mod held;
pub mod lockstep;
pub mod procstat;
pub mod proctree;
pub mod settle;
