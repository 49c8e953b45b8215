//! What a leg left when it ended (`LegRecord`, `LegEnd`, `LegOutcome`) and how a run exits.

use crate::contract::wire::{ClientFinal, ClientSample, ServerSample};
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

/// How one leg (a mode with a client) ended.
#[derive(Debug, Clone, PartialEq)]
pub enum LegEnd {
    /// The client worker sent its final report.
    Completed,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The client worker died; the text says how.
    ClientDied(String),
    /// The server worker died; the text says how.
    ServerDied(String),
}

/// What supervising one leg produced.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    pub mode: Mode,
    pub client: ClientKind,
    /// Each client sample with the server's latest sample at the time.
    pub samples: Vec<(ClientSample, Option<ServerSample>)>,
    /// The server's last sample (its final one when it stopped cleanly).
    pub last_server: Option<ServerSample>,
    /// The client worker's final report, if it sent one.
    pub fin: Option<ClientFinal>,
    pub end: LegEnd,
    /// Lines from the workers that were not valid messages.
    pub unparsed_lines: u64,
}

/// How supervising one leg went.
#[derive(Debug, Clone, PartialEq)]
pub enum LegOutcome {
    /// A worker could not be started; nothing was measured.
    NotStarted(String),
    Ran(Box<LegRecord>),
}

impl LegOutcome {
    /// Whether the run goes on to the next leg.
    pub fn carry_on(&self) -> bool {
        matches!(self, LegOutcome::Ran(r) if r.end == LegEnd::Completed)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// Every request succeeded.
    Clean,
    /// Some requests failed or a mode stopped early; the report says which.
    Failures,
    /// A worker process died (or never started); what it measured so far was kept.
    WorkerDied,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}
