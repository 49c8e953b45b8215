//! A run: orchestrator and workers, the load, retention, knob probe, assembly, `handshakes`.

pub mod analysis;
pub mod assemble;
pub mod handshakes;
pub mod knobs;
pub mod load;
pub mod method_text;
pub mod orchestrator;
pub mod process;
pub mod retention;
pub mod soundness;
pub mod worker;
