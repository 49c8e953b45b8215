//! The server's TLS session store policy: its name on the command line and its settled value.

use std::time::Duration;

crate::choice! {
    /// The server session store policy, as `--server-cache` names it.
    pub enum ServerCacheKind ("server cache") {
        /// rustls's default: count-bounded, oldest evicted first.
        Rustls = "rustls",
        /// OpenSSL's model: entries expire after a TTL, count-bounded.
        Ttl = "ttl",
    }
}

/// How the server keeps sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ServerCachePolicy {
    /// rustls's default: at most `capacity` entries, the oldest evicted first.
    Bounded { capacity: usize },
    /// OpenSSL's model: entries expire after `ttl`; at most `capacity`, oldest evicted first.
    Ttl { ttl: Duration, capacity: usize },
}

impl Default for ServerCachePolicy {
    fn default() -> Self {
        ServerCachePolicy::Bounded {
            capacity: crate::vocab::defaults::SERVER_CACHE_ENTRIES,
        }
    }
}

impl std::fmt::Display for ServerCachePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bounded { capacity } => write!(f, "rustls (count-bounded, {capacity} entries)"),
            Self::Ttl { ttl, capacity } => {
                write!(f, "ttl ({} s, {capacity} entries)", ttl.as_secs_f64())
            }
        }
    }
}

impl ServerCachePolicy {
    pub(crate) fn capacity(&self) -> usize {
        match *self {
            Self::Bounded { capacity } | Self::Ttl { capacity, .. } => capacity,
        }
    }
}
