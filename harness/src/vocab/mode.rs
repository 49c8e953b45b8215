//! The four session modes (`fresh`, `leak`, `shared`, `resume`) and a leg's label.

use crate::vocab::client::ClientKind;

crate::choice! {
    /// How the client uses sessions, per request.
    pub enum Mode ("mode", default = Fresh) {
        /// A new session per request, invalidated (dropped with its connections) after it.
        Fresh = "fresh",
        /// A new session per request, never invalidated: kept with its open connection.
        Leak = "leak",
        /// One session for the whole run; keep-alive connections reused.
        Shared = "shared",
        /// One session; a new connection per request, resumed from the session's ticket store.
        Resume = "resume",
    }
}

impl Mode {
    /// How tables, legends and the progress bar name a (mode, client) leg: `fresh`, or
    /// `fresh/reqwest` when the run used several clients.
    pub fn leg_label(self, client: ClientKind, several_clients: bool) -> String {
        if several_clients {
            format!("{self}/{client}")
        } else {
            self.to_string()
        }
    }

    /// Whether the mode builds a new session for every request.
    pub fn session_per_request(self) -> bool {
        matches!(self, Mode::Fresh | Mode::Leak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_rejects_others() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>(), Ok(*m));
        }
        assert!("Fresh".parse::<Mode>().is_err());
        assert!("".parse::<Mode>().is_err());
    }
}
