//! The owners a `--breakdown` profile attributes bytes to.

crate::choice! {
    /// Who holds a heap allocation, judged from its call stack (`crate::measure::breakdown::rules::RULES`).
    pub enum Owner ("owner") {
        /// rustls's in-memory resumption store (`ClientSessionMemoryCache`): its maps and queues, not the tickets in them.
        ResumptionStore = "rustls_resumption_store",
        /// Stored tickets and TLS 1.2 sessions: the values a resumption store holds (`Tls13ClientSessionValue`, server certificate chain copies).
        Tickets = "rustls_tickets",
        /// rustls `ClientConfig`: the root store, the certificate verifier, the crypto provider, ALPN.
        Config = "rustls_config",
        /// The handshake's key exchange (key shares, ECDH/ML-KEM).
        KeyExchange = "rustls_kx",
        /// Verifying the server's certificate chain and handshake signature (webpki).
        Verify = "rustls_verify",
        /// The handshake transcript and the TLS 1.3 key schedule.
        KeySchedule = "rustls_key_schedule",
        /// rustls connection state, records and buffers (`ClientConnection`, deframer, send and receive buffers, handshake messages).
        Connection = "rustls_connection",
        /// The HTTP client: the hyper-util pool, the hyper connection and its buffers, the hyper-rustls connector, HTTP types.
        Http = "hyper",
        /// tokio's I/O registration (`ScheduledIo`, mio) for each socket.
        TokioIo = "tokio_io",
        /// tokio's runtime itself: scheduler queues, timer wheel, signal handling, blocking-pool threads (once per process, not per session).
        TokioRuntime = "tokio_runtime",
        /// reqwest's own state: its client, connector wrapper, request and response types.
        Reqwest = "reqwest",
        /// OpenSSL, in a foreign program under `harness exec --heap valgrind --breakdown`: every allocation made inside `libssl` or `libcrypto` (its contexts, connections, sessions and session cache, certificates, keys), whoever called it.
        OpenSsl = "openssl",
        /// Python's `_ssl` module itself (its `SSLContext` and `SSLSocket` objects and buffers), outside the OpenSSL calls it makes.
        PythonSsl = "python_ssl",
        /// The harness's own bookkeeping: the load driver, retention store container, sampler, histograms, wire messages.
        Harness = "harness",
        /// A stack no rule recognises: kept and counted, never dropped.
        Other = "other",
        /// The part of a measured figure the profile does not account for (allocated before the profiler started, or outside it); negative when the profile saw more.
        Remainder = "remainder",
    }
}
