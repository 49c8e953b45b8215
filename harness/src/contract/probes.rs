//! What the knob probe and the held-connection probe measured beside the load.

use serde::{Deserialize, Serialize};

use crate::vocab::tls::{KxChoice, RootsChoice};

/// A client setting the knob probe measures: one that changes what a session holds without
/// sharing the session. Listed once here, so the probe (which variants it measures) and the
/// advice (which setting moves an owner, and whether the run already uses it) agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// Resumption off: no resumption store, no tickets kept.
    NoResumption,
    /// A resumption store of [`Knob::SMALL_STORE`] entries instead of rustls's 256.
    SmallStore,
    /// Only the root that is needed (the harness CA or `--ca`), not a root set.
    RootsCa,
    /// X25519 alone: no post-quantum hybrid key share.
    KxX25519,
}

impl Knob {
    /// Every knob, in the order the probe measures them.
    pub const ALL: [Knob; 4] = [
        Knob::NoResumption,
        Knob::SmallStore,
        Knob::RootsCa,
        Knob::KxX25519,
    ];

    /// The resumption store size of [`Knob::SmallStore`].
    pub const SMALL_STORE: u64 = 8;

    /// The flags that select it, as [`KnobFigure::setting`] reads.
    pub fn setting(self) -> String {
        match self {
            Knob::NoResumption => "--client-cache 0".into(),
            Knob::SmallStore => format!("--client-cache {}", Knob::SMALL_STORE),
            Knob::RootsCa => "--roots ca".into(),
            Knob::KxX25519 => "--kx x25519".into(),
        }
    }

    /// True when settings `s` already go at least as far as this knob (so the probe has no
    /// variant to measure for it): the answer to "does this run already use it?", read from
    /// the run's settings, never from a missing figure.
    pub fn in_use(self, s: &Settings) -> bool {
        self.apply(s) == *s
    }

    /// Settings `s` with this knob applied (a store already smaller than
    /// [`Knob::SMALL_STORE`] is kept).
    pub fn apply(self, s: &Settings) -> Settings {
        let mut t = *s;
        match self {
            Knob::NoResumption => t.client_cache = 0,
            Knob::SmallStore => t.client_cache = t.client_cache.min(Knob::SMALL_STORE),
            Knob::RootsCa => t.roots = RootsChoice::Ca,
            Knob::KxX25519 => t.kx = KxChoice::X25519,
        }
        t
    }
}

/// The client settings the knobs turn: what a [`KnobFigure`] was measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub roots: RootsChoice,
    pub client_cache: u64,
    pub kx: KxChoice,
}

/// One variant's measured cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KnobFigure {
    /// The flags that select it, e.g. `--client-cache 0`; empty for the run's own settings.
    pub setting: String,
    pub roots: RootsChoice,
    pub client_cache: u64,
    pub kx: KxChoice,
    /// Sessions the figures cover: those whose build and request both succeeded.
    pub sessions: u64,
    /// Bytes one retained session's TLS state holds (exact, from its drop), over `sessions`.
    pub retained_bytes_per_session: Option<f64>,
    /// Bytes allocated building one session, over `sessions`.
    pub build_alloc_bytes: Option<f64>,
    /// Sessions whose build or request failed. They are left out of both figures (a session
    /// whose request failed holds no tickets, so it would lower the bytes per session) and
    /// counted here; the advice draws no conclusion from a variant with any.
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
