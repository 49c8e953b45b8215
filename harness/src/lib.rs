//! tls-session-cost: what a TLS client session costs a program; its layers in ARCHITECTURE.md.

pub mod cli;
pub mod contract;
pub mod exec;
pub mod measure;
pub mod report;
pub mod run;
pub mod survey;
pub mod tls;
pub mod vocab;
