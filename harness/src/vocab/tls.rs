//! The TLS settings a run chooses, and the lockstep scenario's library and config sharing.

crate::choice! {
    /// TLS protocol version, offered alone by both sides.
    pub enum TlsVersion ("TLS version", default = V13) {
        /// TLS 1.2.
        V12 = "1.2",
        /// TLS 1.3.
        V13 = "1.3",
    }
}

crate::choice! {
    /// Key-exchange groups the client offers.
    pub enum KxChoice ("key exchange", default = Default) {
        /// rustls's default list (with aws-lc-rs: X25519MLKEM768, X25519, secp256r1, secp384r1).
        Default = "default",
        /// X25519 alone: smaller key shares, no post-quantum hybrid.
        X25519 = "x25519",
    }
}

crate::choice! {
    /// Which roots a client session trusts.
    pub enum RootsChoice ("roots", default = Ca) {
        /// Only the harness CA (or the `--ca` file).
        Ca = "ca",
        /// The Mozilla root set from `webpki-roots`, plus the CA so the local server still verifies.
        Webpki = "webpki",
        /// The operating system's root store (loaded anew per session, as a default client does),
        /// plus the CA. For reqwest: its default platform verifier with the CA merged in.
        System = "system",
    }
}

crate::choice! {
    /// The TLS library of an in-memory lockstep scenario (`harness handshakes`).
    pub enum TlsLibrary ("TLS library") {
        /// rustls with aws-lc-rs, as every other figure of this tool.
        Rustls = "rustls",
        /// OpenSSL through the `openssl` crate (a `native-tls` build only).
        Openssl = "openssl",
    }
}

crate::choice! {
    /// Whether the clients of a lockstep scenario share one `ClientConfig` (the published
    /// benchmarks' setup) or each builds its own (what a per-request client does).
    pub enum ConfigSharing ("client config") {
        /// One config for every client, resumption off: rustls-bench's `memory` setup.
        Shared = "shared",
        /// A config per client, with its root store and default resumption store.
        PerConnection = "per-connection",
    }
}
