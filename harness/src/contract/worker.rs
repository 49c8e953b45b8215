//! What the parent hands a worker process: its role and its JSON configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::contract::plan::{RunPlan, ServerPlan};
use crate::vocab::client::ClientKind;
use crate::vocab::mode::Mode;

crate::choice! {
    /// The kinds of worker process.
    pub enum WorkerRole ("worker role") {
        Server = "server",
        Client = "client",
        /// One point of `harness handshakes` (`crate::contract::lockstep`).
        Handshakes = "handshakes",
    }
}

/// Everything the client worker needs, passed as JSON on its command line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientWorkerConfig {
    pub plan: RunPlan,
    pub mode: Mode,
    pub client: ClientKind,
    /// The URL requests go to (the mode's own server, or `--target`).
    pub target: String,
    /// PEM files whose certificates the client trusts.
    pub ca_files: Vec<PathBuf>,
    /// Write a dhat heap profile here.
    pub dhat_file: Option<PathBuf>,
    /// Where the harness certificates are, for the fresh mode's knob probe (`None`: no probe).
    pub probe_certs_dir: Option<PathBuf>,
}

/// Everything the server worker needs: its port, TLS version, body size, sample interval,
/// session store and certificates directory, and whether it keeps a record per connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerWorkerConfig {
    pub server: ServerPlan,
    /// Keep one record per connection and send them before `ServerDone` (`harness exec`).
    pub witness: bool,
}
