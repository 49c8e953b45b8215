//! The ground: the project's vocabulary. Every closed set of names (modes, clients, clocks,
//! TLS settings, server cache kinds, owners, handshake kinds, exec outcomes), every default
//! and the one number formatter. It imports no other layer, so every layer above may use
//! it (ARCHITECTURE.md, "Layers").

pub mod choice;
pub mod client;
pub mod clock;
pub mod defaults;
pub mod exec;
pub mod handshake;
pub mod mode;
pub mod owner;
pub mod server_cache;
pub mod tls;
pub mod units;
