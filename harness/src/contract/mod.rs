//! The values one part hands another: plan, worker configs, wire messages, summaries, timeline.

pub mod breakdown;
pub mod exec;
pub mod lockstep;
pub mod plan;
pub mod probes;
pub mod summary;
pub mod survey;
pub mod timeline;
pub mod wire;
pub mod worker;
