//! tls-session-cost: what a TLS client session costs a program (bytes, sockets, time); the crate's
//! nine layers, each a folder.
//!
//! It measures how that cost grows when code builds a fresh session per request instead of
//! sharing one. The README says what it answers; ARCHITECTURE.md defines its terms.
//!
//! The crate is a house of layers, each a folder, each importing only the layers below it
//! (ARCHITECTURE.md; `tests/layers.rs` keeps it so):
//!
//! | layer | holds |
//! |---|---|
//! | [`cli`] | the command line: options, the plan built from them, `harness serve` |
//! | [`survey`] | `harness survey`: every runtime habit's example checked through `exec` |
//! | [`exec`] | `harness exec`: a foreign program checked from outside |
//! | [`run`] | a run: orchestrator, workers, load, retention, knob probe, assembly |
//! | [`measure`] | the instruments: allocator counts, `/proc`, process tree, dhat breakdown |
//! | [`tls`], [`report`] | rustls and hyper on both sides; the table, advice, charts and page |
//! | [`contract`] | the plan, the wire messages, the summary and timeline types |
//! | [`vocab`] | every closed set of names, every default, units |

pub mod cli;
pub mod contract;
pub mod exec;
pub mod measure;
pub mod report;
pub mod run;
pub mod survey;
pub mod tls;
pub mod vocab;
