//! The top of the house: the command line. [`args`] spells the options (clap), [`plan`] checks
//! them together into the run plan, [`serve`] is `harness serve`. Nothing below imports it
//! (ARCHITECTURE.md, "Layers").

pub mod args;
pub mod handshakes;
pub mod plan;
pub mod serve;
