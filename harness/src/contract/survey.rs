//! What `harness survey` publishes: `SurveySummary`, one row per runtime habit.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::exec::HeapOwner;
use crate::vocab::exec::{Habit, HeapTool};
use crate::vocab::runtime::{RowStatus, Runtime, SurveyEnd};

/// Version of the survey `summary.json` layout.
pub const SURVEY_SCHEMA: u32 = 1;

/// The whole of a survey `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SurveySummary {
    pub schema: u32,
    /// The harness command line, as typed.
    pub harness_command: String,
    pub run_id: String,
    pub started_at: String,
    /// Requests each habit's program was asked to make.
    pub requests_per_habit: u64,
    pub heap_tool: HeapTool,
    /// The runtimes chosen (`--runtime`), in the survey's order.
    pub runtimes: Vec<Runtime>,
    pub ended: SurveyEnd,
    /// Wall seconds from the first row's start to the last row's end.
    pub elapsed_s: f64,
    /// How each figure of a row was measured, in words.
    pub method: BTreeMap<String, String>,
    pub rows: Vec<SurveyRow>,
}

/// One runtime habit, checked under `harness exec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SurveyRow {
    pub runtime: Runtime,
    /// The client library, as its users name it.
    pub library: String,
    /// What the program does, in the runtime's own words.
    pub habit: String,
    /// The example program, relative to the examples directory.
    pub program: String,
    pub status: RowStatus,
    /// What to install to run this row (a missing row), or what it needed (others).
    pub needs: Vec<String>,
    /// Why the row is missing or failed, in one line.
    pub why: Option<String>,
    /// The command checked (`null`: not run).
    pub command: Option<Vec<String>>,
    /// The check's report directory, relative to the survey's.
    pub report: Option<String>,
    /// The command's exit code (`null`: not run, or ended by a signal).
    pub exit_code: Option<i32>,
    /// Wall seconds of the command.
    pub elapsed_s: Option<f64>,
    /// Requests the server answered (from the witness).
    pub requests: Option<u64>,
    /// Connections the server accepted (from the witness).
    pub connections: Option<u64>,
    pub handshakes_full: Option<u64>,
    pub handshakes_resumed: Option<u64>,
    /// Derived: connections ÷ requests.
    pub connections_per_request: Option<f64>,
    /// Connections the program held to the end (see `method`).
    pub connections_left_open: Option<u64>,
    /// Derived: `connections_left_open` ÷ requests.
    pub left_open_per_request: Option<f64>,
    /// Derived: RSS growth between the first and the last request ÷ requests between
    /// (`harness exec`'s `rss_growth_per_request_bytes`; `null` when fewer than two samples
    /// fell between them).
    pub rss_growth_per_request_bytes: Option<f64>,
    /// Derived: the command's CPU seconds (exact, start-up included) ÷ requests.
    pub cpu_per_request_s: Option<f64>,
    /// What the server saw, as `harness exec` names it.
    pub exec_habit: Option<Habit>,
    /// `--heap valgrind`: each process's heap at its peak, summed (derived; see `harness exec`).
    pub heap_peaks_summed_bytes: Option<u64>,
    /// Derived: `heap_peaks_summed_bytes` ÷ connections.
    pub heap_per_connection_bytes: Option<f64>,
    /// `--heap valgrind`: the heap by owner, per connection and per request.
    pub heap_breakdown: Option<Vec<HeapOwner>>,
    /// `--heap valgrind`: the memory valgrind cannot see in this runtime (its own heap).
    pub heap_blind_spot: Option<String>,
    /// The verdict, from the figures above only.
    pub verdict: String,
}
