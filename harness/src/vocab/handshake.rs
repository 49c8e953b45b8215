//! How one connection's TLS handshake went, as the server's witness records it.

crate::choice! {
    /// How a connection's TLS handshake ended, as the server saw it.
    pub enum Handshake ("handshake", default = Pending) {
        /// Still in progress when the record was read.
        Pending = "pending",
        /// A full handshake: a new TLS session.
        Full = "full",
        /// Resumed from a ticket or session id the client kept.
        Resumed = "resumed",
        /// The handshake failed (for example the client does not trust the CA).
        Failed = "failed",
    }
}
