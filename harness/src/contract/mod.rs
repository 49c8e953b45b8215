//! The contract: the values one part of the harness hands another. [`plan::RunPlan`] is what
//! the CLI decides and every worker reads; [`wire`] is what workers send the parent;
//! [`summary`], [`timeline`] and [`exec`] are what a run or a check writes and the report
//! reads back. Data and the arithmetic on it only: no I/O beyond reading and writing these
//! files, no measuring (ARCHITECTURE.md, "Layers").

pub mod breakdown;
pub mod exec;
pub mod lockstep;
pub mod plan;
pub mod probes;
pub mod summary;
pub mod timeline;
pub mod wire;
pub mod worker;
