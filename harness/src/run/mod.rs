//! A run: the parent's orchestrator and the workers it starts, the load each client worker
//! drives, the retention store, the knob probe, whether a leg kept its rate (`soundness`), and the pure assembly and analysis of what the
//! workers sent into the summary (ARCHITECTURE.md, "Layers", "Data flow").

pub mod analysis;
pub mod assemble;
pub mod handshakes;
pub mod knobs;
pub mod leg;
pub mod load;
pub mod methods;
pub mod orchestrator;
pub mod process;
pub mod retention;
pub mod soundness;
pub mod worker;
