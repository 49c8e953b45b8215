//! The top of the house: the command line; nothing below imports it.

pub mod args;
pub mod handshakes;
pub mod plan;
pub mod serve;
pub mod survey;
