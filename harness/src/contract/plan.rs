//! The run plan: the checked command line every part of a run reads (built by `cli::plan`).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;
use crate::vocab::server_cache::ServerCachePolicy;
use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

/// Where the load goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// The harness's own server, one per mode, on 127.0.0.1:`port` (0: ephemeral).
    Builtin { port: u16 },
    /// An external HTTPS server: no server-side figures.
    External {
        url: String,
        /// PEM file of the CA(s) that sign its certificate.
        ca: Option<PathBuf>,
    },
}

/// What a server worker needs: the built-in server's settings, shared by a run's legs and by
/// `harness exec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerPlan {
    /// Port on 127.0.0.1 (0: ephemeral).
    pub port: u16,
    pub tls: TlsVersion,
    pub body_bytes: u32,
    pub sample_interval: Duration,
    pub cache: ServerCachePolicy,
    pub certs_dir: PathBuf,
}

/// A checked run: every option valid on its own and in combination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPlan {
    pub rate: f64,
    pub duration: Duration,
    /// Modes, each distinct, run one after another.
    pub modes: Vec<Mode>,
    /// Clients, each distinct; each mode runs with each.
    pub clients: Vec<ClientKind>,
    pub tls: TlsVersion,
    pub kx: KxChoice,
    pub roots: RootsChoice,
    pub client_cache: usize,
    pub max_in_flight: u32,
    pub sample_interval: Duration,
    pub body_bytes: u32,
    pub target: Target,
    pub clock: Clock,
    pub retention: Option<RetentionSpec>,
    pub server_cache: ServerCachePolicy,
    /// `--breakdown`: each client worker profiles its load with dhat (see `breakdown`).
    pub breakdown: bool,
    pub max_open: Option<u64>,
    pub out: PathBuf,
    pub certs_dir: PathBuf,
}

impl RunPlan {
    /// Requests the schedule calls for per mode: one every 1/R.
    pub fn planned(&self) -> u64 {
        ((self.rate * self.duration.as_secs_f64()).ceil() as u64).max(1)
    }

    /// Every (mode, client) pair, in run order: modes outer, clients inner.
    pub fn legs(&self) -> Vec<(Mode, ClientKind)> {
        self.modes
            .iter()
            .flat_map(|m| self.clients.iter().map(move |c| (*m, *c)))
            .collect()
    }

    /// The built-in server's settings, listening on `port`.
    pub fn server_plan(&self, port: u16) -> ServerPlan {
        ServerPlan {
            port,
            tls: self.tls,
            body_bytes: self.body_bytes,
            sample_interval: self.sample_interval,
            cache: self.server_cache,
            certs_dir: self.certs_dir.clone(),
        }
    }
}

/// What to retain, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetentionSpec {
    pub ttl: Duration,
    /// At most this many entries; the oldest is evicted first.
    pub cap: Option<usize>,
}
