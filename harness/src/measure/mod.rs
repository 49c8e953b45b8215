//! The instruments: the counting allocator (and OpenSSL's hook), `/proc` readers, the process
//! tree and a foreign process's sockets, waiting for connections to settle, the dhat breakdown by owner and the
//! held-connection probe. Each reads one thing and says how (ARCHITECTURE.md, "Layers").

pub mod alloc;
pub mod breakdown;
pub mod held;
pub mod lockstep;
pub mod procstat;
pub mod proctree;
pub mod settle;
pub mod sockets;
