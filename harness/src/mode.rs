//! The four session modes (DESIGN.md "Session modes").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the client uses sessions, per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A new session per request, invalidated (dropped with its connections) after it.
    Fresh,
    /// A new session per request, never invalidated: kept with its open connection.
    Leak,
    /// One session for the whole run; keep-alive connections reused.
    Shared,
    /// One session; a new connection per request, resumed from the session's ticket store.
    Resume,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Fresh, Mode::Leak, Mode::Shared, Mode::Resume];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Fresh => "fresh",
            Mode::Leak => "leak",
            Mode::Shared => "shared",
            Mode::Resume => "resume",
        }
    }

    /// Whether the mode builds a new session for every request.
    pub fn session_per_request(self) -> bool {
        matches!(self, Mode::Fresh | Mode::Leak)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown mode `{s}` (expected fresh, leak, shared or resume)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_rejects_others() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
        }
        assert!("Fresh".parse::<Mode>().is_err());
        assert!("".parse::<Mode>().is_err());
    }
}
