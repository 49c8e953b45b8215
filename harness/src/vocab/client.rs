//! Which HTTP client implements a session, and whether this build has the OpenSSL one.

crate::choice! {
    /// Which HTTP client implements a session.
    pub enum ClientKind ("client", default = Hyper) {
        /// A hyper-util legacy client over the harness's counting rustls connector.
        Hyper = "hyper",
        /// A `reqwest::Client` with its default features (rustls + the platform verifier), as
        /// most Rust programs build one.
        Reqwest = "reqwest",
        /// A `reqwest::Client` on its native-tls backend (`tls_backend_native`): OpenSSL on
        /// Linux, whose heap the client worker counts through `CRYPTO_set_mem_functions`.
        /// Needs a build with `--features native-tls`.
        ReqwestNative = "reqwest-native",
    }
}

/// Whether this build has the `reqwest-native` client (the harness's `native-tls` feature).
pub const NATIVE_TLS_BUILT: bool = cfg!(feature = "native-tls");

/// What to do when `reqwest-native` is asked of a build without it: the plan's refusal, the
/// worker's and the benches' note all say this one sentence.
pub const NATIVE_TLS_NOT_BUILT: &str = "this build has no OpenSSL: rebuild with `cargo run --release -p harness --features native-tls -- …` (needs OpenSSL's headers and pkg-config; Debian: apt-get install libssl-dev pkg-config)";
