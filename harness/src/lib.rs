//! tls-session-cost: what a TLS client session costs a program (bytes, sockets, time); the crate's
//! nine layers, each a folder.
//!
//! It measures how that cost grows when code builds a fresh session per request instead of
//! sharing one. The README says what it answers; ARCHITECTURE.md defines its terms.
//!
//! Each layer imports only the layers below it (vocab < contract < tls, report < measure < run <
//! exec < survey < cli): ARCHITECTURE.md draws them, `tests/layers.rs` keeps it so, and each module's
//! first doc line says what it holds.

pub mod cli;
pub mod contract;
pub mod exec;
pub mod measure;
pub mod report;
pub mod run;
pub mod survey;
pub mod tls;
pub mod vocab;
