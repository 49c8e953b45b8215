//! The ground: every closed set of names, every default, the number formatter; imports no layer.

pub mod choice;
pub mod client;
pub mod clock;
pub mod defaults;
pub mod exec;
pub mod handshake;
pub mod mode;
pub mod owner;
pub mod runtime;
pub mod server_cache;
pub mod tls;
pub mod units;
