//! What the client worker's probes measured beside the load: the knob probe's cost per client
//! setting (`crate::run::knobs`) and the held-connection probe's bytes per side
//! (`crate::measure::held`). They travel in `ClientFinal` and are published in the summary.

use serde::{Deserialize, Serialize};

use crate::vocab::tls::{KxChoice, RootsChoice};

/// One variant's measured cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KnobFigure {
    /// The flags that select it, e.g. `--client-cache 0`; empty for the run's own settings.
    pub setting: String,
    pub roots: RootsChoice,
    pub client_cache: u64,
    pub kx: KxChoice,
    pub sessions: u64,
    /// Bytes one retained session's TLS state holds (exact, from its drop).
    pub retained_bytes_per_session: Option<f64>,
    /// Bytes allocated building one session.
    pub build_alloc_bytes: Option<f64>,
    /// Requests that failed during the probe (then the figures cover fewer sessions).
    pub failed: u64,
}

/// Bytes one idle held connection costs each side (per-thread heap, counting allocator),
/// derived: live-bytes delta ÷ connections. See the module documentation for the method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeldConnections {
    /// Connections held at once on each side, in each pass.
    pub connections: u64,
    /// Derived: the client thread's live-heap growth over `connections` TLS connections
    /// (tokio-rustls over TCP, handshake and exchange done), ÷ `connections`.
    pub tls_client_bytes: Option<f64>,
    /// Derived: the same on the server thread, ÷ `connections`.
    pub tls_server_bytes: Option<f64>,
    /// Derived: the client thread's live-heap growth over `connections` plain TCP connections
    /// held the same way, ÷ `connections`.
    pub tcp_client_bytes: Option<f64>,
    /// Derived: the same on the server thread, ÷ `connections`.
    pub tcp_server_bytes: Option<f64>,
}

impl HeldConnections {
    /// Derived: TLS minus TCP, client side: what TLS adds to one held connection.
    pub fn tls_minus_tcp_client(&self) -> Option<f64> {
        self.tls_client_bytes
            .zip(self.tcp_client_bytes)
            .map(|(tls, tcp)| tls - tcp)
    }

    /// Derived: TLS minus TCP, server side: what TLS adds to one held connection.
    pub fn tls_minus_tcp_server(&self) -> Option<f64> {
        self.tls_server_bytes
            .zip(self.tcp_server_bytes)
            .map(|(tls, tcp)| tls - tcp)
    }
}
