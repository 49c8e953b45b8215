//! The instruments: counting allocator and OpenSSL's hook, `/proc`, the process tree and its
//! sockets, settling, the dhat breakdown, the held and lockstep probes.

pub mod alloc;
pub mod breakdown;
pub mod held;
pub mod lockstep;
pub mod procstat;
pub mod proctree;
pub mod settle;
