//! The frame rules: which owner holds an allocation, read off its stack.

use crate::vocab::owner::Owner;

/// The frame rules, `(owner, substrings of a frame)`: the first row that matches **any** frame
/// of the stack decides, so the order is the precedence (docs/method-breakdown.md); not the
/// innermost frame, often a data type's `clone` or decoder whatever the context it runs in.
pub const RULES: &[(Owner, &[&str])] = &[
    (
        Owner::ResumptionStore,
        &[
            "ClientSessionMemoryCache",
            "rustls::limited_cache",
            "Resumption::in_memory_sessions",
        ],
    ),
    (
        Owner::Tickets,
        &[
            "handle_new_ticket",
            "NewSessionTicketPayload",
            "Tls13ClientSessionValue",
            "Tls12ClientSessionValue",
            "ClientSessionCommon",
            "rustls::msgs::persist",
        ],
    ),
    (
        Owner::Verify,
        &[
            "verify_server_cert",
            "verify_tls13_signature",
            "verify_tls12_signature",
            "verify_server_name",
            "rustls::webpki::verify",
            "webpki::end_entity",
            "webpki::verify_cert",
            "webpki::cert::Cert",
        ],
    ),
    (
        Owner::KeyExchange,
        &[
            "rustls::crypto::aws_lc_rs::kx",
            "rustls::crypto::aws_lc_rs::pq",
            "ActiveKeyExchange",
            "SupportedKxGroup",
            "KeyExchange",
            "key_share",
            "KeyShare",
            "aws_lc_rs::agreement",
            "aws_lc_rs::kem",
        ],
    ),
    (
        Owner::KeySchedule,
        &[
            "rustls::hash_hs",
            "HandshakeHash",
            "rustls::tls13::key_schedule",
            "KeySchedule",
            "rustls::tls12::prf",
            "ConnectionSecrets",
        ],
    ),
    (
        Owner::Config,
        &[
            "RootCertStore",
            "rustls::client::builder",
            "rustls::builder",
            "ClientConfig",
            "WebPkiServerVerifier",
            "ServerCertVerifierBuilder",
            "webpki::trust_anchor",
            "anchor_from_trusted_cert",
            "CryptoProvider",
            "default_provider",
            "webpki_roots",
            "rustls_native_certs",
            "rustls_platform_verifier::",
            "harness::tls::config::ClientTls::client_config",
            "harness::tls::config::provider",
        ],
    ),
    (
        Owner::Connection,
        &[
            // `rustls::conn::`, not `rustls::conn`: `hyper_rustls::connector` (whose stacks
            // reach tokio's I/O registration) contains that.
            "rustls::conn::",
            "rustls::client::client_conn",
            "rustls::client::hs",
            "rustls::client::tls13",
            "rustls::client::tls12",
            "rustls::client::common",
            "rustls::common_state",
            "rustls::record_layer",
            "rustls::msgs",
            "rustls::vecbuf",
            "rustls::check",
            "rustls::compress",
            "tokio_rustls::",
        ],
    ),
    (
        Owner::TokioIo,
        &[
            "tokio::runtime::io",
            "tokio::io::poll_evented",
            "tokio::net::tcp",
            "ScheduledIo",
            "mio::",
        ],
    ),
    // reqwest's connector (its connection wrappers) runs inside hyper-util's pool.
    (Owner::Reqwest, &["reqwest::connect::"]),
    (
        Owner::Http,
        &["hyper_util::", "hyper::", "hyper_rustls::", "want::"],
    ),
    (Owner::Reqwest, &["reqwest::"]),
    // The `Arc` holding a hyper session's `ClientConfig`.
    (
        Owner::Config,
        &["harness::tls::session::SessionFactory::build_hyper"],
    ),
    // Anchored at the symbol's start: tokio's `tokio::runtime::task::harness::…` sits below
    // every task. Before tokio's runtime, whose thread spawn is below every task too.
    (
        Owner::Harness,
        &[": harness::", ": <harness::", "hdrhistogram::"],
    ),
    (
        Owner::TokioRuntime,
        &[
            "tokio::runtime::builder",
            "tokio::runtime::scheduler::multi_thread::worker::create",
            "tokio::runtime::scheduler::multi_thread::park",
            "tokio::runtime::time::",
            "tokio::runtime::driver",
            "tokio::runtime::blocking::pool::Spawner::spawn_thread",
            "tokio::runtime::blocking::pool::BlockingPool::new",
            "tokio::signal::",
        ],
    ),
];

/// A foreign library a program under `harness exec --heap valgrind --breakdown` may allocate
/// in, recognised by the object or source file valgrind names (`(in …/libssl.so.3)`,
/// `(_ssl.c:700)`) or by a C symbol's prefix (`SSL_new`, for one linked into the program).
pub struct ForeignRule {
    pub owner: Owner,
    /// Substrings of a frame naming the library's object file or source file.
    pub files: &'static [&'static str],
    /// Prefixes of the frame's symbol. Matched at the symbol's start and only in a frame that
    /// is not Rust source (`.rs:`), so an inlined Rust function named `tls_…` is not C's.
    pub symbols: &'static [&'static str],
}

/// The foreign libraries' rows, tried **before** [`RULES`]: OpenSSL first, whose allocations
/// are its own whoever calls it, then Python's `_ssl` module (docs/exec.md). rustls's aws-lc
/// never matches: its symbols are prefixed (`aws_lc_0_28_0_EVP_…`).
pub const FOREIGN_RULES: &[ForeignRule] = &[
    ForeignRule {
        owner: Owner::OpenSsl,
        files: &["/libssl.so", "/libcrypto.so"],
        // Its public API only: its internal names (`ssl3_…`, `tls_…`) are shared by its forks'
        // static functions, aws-lc's included, which a rustls program links.
        symbols: &[
            "SSL_", "DTLS_", "TLS_", "X509", "EVP_", "OPENSSL_", "CRYPTO_", "OSSL_", "BIO_",
            "ASN1_", "PEM_", "BN_", "ERR_", "CONF_", "OBJ_", "RSA_", "EC_", "ECDSA_", "DH_",
            "HMAC_", "RAND_", "d2i_", "i2d_", "PKCS7_", "PKCS12_", "OCSP_",
        ],
    },
    ForeignRule {
        owner: Owner::PythonSsl,
        files: &["/_ssl.cpython-", "(_ssl.c:", "(_ssl.c.h:"],
        symbols: &["_ssl_", "PySSL", "newPySSL", "sslmodule_"],
    },
];

impl ForeignRule {
    /// Whether `frame` (`0xADDR: symbol (location)`) is in this library.
    pub fn matches(&self, frame: &str) -> bool {
        if self.files.iter().any(|f| frame.contains(f)) {
            return true;
        }
        let symbol = frame.split_once(": ").map_or(frame, |(_, rest)| rest);
        !frame.contains(".rs:") && self.symbols.iter().any(|p| symbol.starts_with(p))
    }
}

/// Allocator frames, innermost in every stack and never an owner: dhat's, the counting
/// allocator's, the allocation shims and valgrind's own `malloc` (`vgpreload_dhat-*.so`).
pub const ALLOCATOR_FRAMES: &[&str] = &[
    "/vgpreload_",
    "dhat::",
    "harness::measure::alloc::",
    "__rustc::__rust_",
    "__rust_alloc",
    "__rust_realloc",
    "__rg_",
];

/// The owner of one stack (allocation site first): the first row of [`FOREIGN_RULES`], then of
/// [`RULES`], that matches a frame not the allocator's; [`Owner::Other`] when none does.
pub fn classify<'a>(frames: impl IntoIterator<Item = &'a str>) -> Owner {
    let frames: Vec<&str> = frames
        .into_iter()
        .filter(|f| !ALLOCATOR_FRAMES.iter().any(|p| f.contains(p)))
        .collect();
    if let Some(rule) = FOREIGN_RULES
        .iter()
        .find(|r| frames.iter().any(|f| r.matches(f)))
    {
        return rule.owner;
    }
    let rust: Vec<&str> = frames.into_iter().filter(|f| is_rust(f)).collect();
    RULES
        .iter()
        .find(|(_, patterns)| rust.iter().any(|f| patterns.iter().any(|p| f.contains(p))))
        .map_or(Owner::Other, |(owner, _)| *owner)
}

/// Whether a frame (`0xADDR: symbol (location)`) can be Rust's, the only frames [`RULES`] are
/// matched against: Rust source (`.rs:`), or a path (`::`) with no parameter list, unlike C
/// (`tls_construct_ctos_key_share`) and C++ (`node::crypto::NewRootCertStore()`).
pub fn is_rust(frame: &str) -> bool {
    let rest = frame.split_once(": ").map_or(frame, |(_, rest)| rest);
    let (symbol, location) = rest.rsplit_once(" (").unwrap_or((rest, ""));
    location.contains(".rs:") || (symbol.contains("::") && !symbol.ends_with(')'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rule_in_the_table_wins_over_any_frame() {
        // A certificate chain copied for a ticket: the data type's clone is in rustls::msgs
        // (the connection's rule), the context is the ticket.
        let ticket = [
            "0x1: <rustls::msgs::handshake::CertificateChain as core::clone::Clone>::clone (src/msgs/handshake.rs:1683:40)",
            "0x2: rustls::client::tls13::ExpectTraffic::handle_new_ticket_impl (src/client/tls13.rs:1525:18)",
            "0x3: rustls::conn::ConnectionCore<Data>::process_msg (rustls-0.23.46/src/conn.rs:1216:14)",
            "0x4: <hyper_util::rt::tokio::TokioIo<T> as hyper::rt::io::Read>::poll_read (src/rt/tokio.rs:173:19)",
        ];
        assert_eq!(classify(ticket), Owner::Tickets);
        // The store growing while a ticket is put in it is the store's.
        let store = [
            "0x1: rustls::limited_cache::LimitedCache<K,V>::get_or_insert_default_and_edit (rustls-0.23.46/src/limited_cache.rs:40:28)",
            "0x2: <rustls::client::handy::cache::ClientSessionMemoryCache as rustls::client::client_conn::ClientSessionStore>::insert_tls13_ticket (src/client/handy.rs:150:9)",
            "0x3: rustls::client::tls13::ExpectTraffic::handle_new_ticket_impl (src/client/tls13.rs:1540:9)",
        ];
        assert_eq!(classify(store), Owner::ResumptionStore);
        // rustls's buffers filled from hyper's read are rustls's; hyper's own buffer is hyper's.
        let record = [
            "0x1: rustls::vecbuf::ChunkVecBuffer::append (rustls-0.23.46/src/vecbuf.rs:60:9)",
            "0x2: <hyper::proto::h1::io::Buffered<T,B>>::poll_read_from_io (proto/h1/io.rs:249:38)",
            "0x3: harness::run::load::Ctx::request::{{closure}} (harness/src/run/load.rs:261:23)",
        ];
        assert_eq!(classify(record), Owner::Connection);
        assert_eq!(classify(record[1..].iter().copied()), Owner::Http);
        assert_eq!(classify(record[2..].iter().copied()), Owner::Harness);
        // A release build's stack (inlined frames, from a `--breakdown` run) reaches the root
        // of the worker thread, tokio's thread spawn: the harness's histogram growing while a
        // request is recorded is the harness's, not the runtime's.
        let histogram = [
            "0x1: hdrhistogram::Histogram<T>::resize (hdrhistogram-7.6.0/src/lib.rs:1777:21)",
            "0x2: harness::run::load::Ctx::request::{{closure}} (harness/src/run/load.rs:293:47)",
            "0x3: tokio::runtime::task::harness::poll_future (runtime/task/harness.rs:525:18)",
            "0x4: tokio::runtime::scheduler::multi_thread::worker::run (runtime/scheduler/multi_thread/worker.rs:513:21)",
            "0x5: tokio::runtime::blocking::pool::Spawner::spawn_thread::{{closure}} (runtime/blocking/pool.rs:475:13)",
        ];
        assert_eq!(classify(histogram), Owner::Harness);
        assert_eq!(
            classify(histogram[2..].iter().copied()),
            Owner::TokioRuntime
        );
    }

    /// Stacks as valgrind's DHAT writes them (from `harness exec --heap valgrind` over the
    /// example clients): the foreign libraries by object file, source file or C symbol, and
    /// never a Rust frame.
    #[test]
    fn foreign_libraries_are_recognised_before_the_rust_rules() {
        let malloc = "0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_dhat-amd64-linux.so)";
        // OpenSSL called by Python's `_ssl`: OpenSSL's, whoever called it.
        let ssl_new = [
            malloc,
            "0x5F7B1C9: CRYPTO_zalloc (in /usr/lib/x86_64-linux-gnu/libcrypto.so.3)",
            "0x5D0A6B2: SSL_new (in /usr/lib/x86_64-linux-gnu/libssl.so.3)",
            "0x5C6A1F0: newPySSLSocket (_ssl.c:812)",
            "0x5C6B2D1: _ssl__SSLContext__wrap_socket_impl (_ssl.c:4700)",
        ];
        assert_eq!(classify(ssl_new), Owner::OpenSsl);
        // `_ssl` allocating for itself.
        assert_eq!(classify([malloc, ssl_new[3], ssl_new[4]]), Owner::PythonSsl);
        assert_eq!(
            classify([malloc, "0x5C658B1: sslmodule_init_types (in /x/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so)"]),
            Owner::PythonSsl
        );
        // OpenSSL with debug information, or linked into the program: by its public entry
        // point. Its key-share function is not rustls's key exchange.
        let key_share = [
            malloc,
            "0x4A1B2C: tls_construct_ctos_key_share (extensions_clnt.c:640)",
            "0x4A1C00: tls_construct_extensions (extensions.c:800)",
            "0x4A2000: SSL_do_handshake (ssl_lib.c:4600)",
        ];
        assert_eq!(classify(key_share), Owner::OpenSsl);
        assert_eq!(
            classify([
                malloc,
                "0x1: ossl_default_provider_init (in /usr/bin/node)",
                "0x2: OPENSSL_init_ssl (in /usr/bin/node)"
            ]),
            Owner::OpenSsl
        );
        // rustls's aws-lc is linked into the program with prefixed public symbols and
        // unprefixed static ones (from a real profile of the reqwest example), and an inlined
        // Rust frame named like a C function is Rust's: the Rust rules decide.
        let aws_lc = [
            malloc,
            "0x7D4D8E: aws_lc_0_47_0_OPENSSL_malloc (mem.c:138)",
            "0x79AEC3: evp_pkey_ctx_new (evp_ctx.c:70)",
            "0x9A1C00: aws_lc_0_47_0_EVP_PKEY_keygen (in /target/debug/examples/reqwest_client)",
            "0x5A0000: rustls::crypto::aws_lc_rs::kx::KxGroup::start (src/crypto/aws_lc_rs/kx.rs:50)",
        ];
        assert_eq!(classify(aws_lc), Owner::KeyExchange);
        assert_eq!(
            classify([
                malloc,
                "0x1: SSL_shim (src/conn.rs:10)",
                "0x2: rustls::conn::ConnectionCommon<T>::new (src/conn.rs:20)"
            ]),
            Owner::Connection
        );
        // C and C++ frames are not matched against the Rust rules: Node.js's own root store
        // is not rustls's config, nor a C library's key share rustls's key exchange.
        assert_eq!(
            classify([
                malloc,
                "0xE537F9: node::crypto::NewRootCertStore() (in /usr/bin/node)"
            ]),
            Owner::Other
        );
        assert_eq!(
            classify([
                malloc,
                "0x1: gnutls_key_share_init (in /usr/lib/libgnutls.so.30)"
            ]),
            Owner::Other
        );
        // A release Rust binary without debug information is still Rust.
        assert_eq!(
            classify([
                malloc,
                "0x2: rustls::webpki::anchors::RootCertStore::add (in /app/client)"
            ]),
            Owner::Config
        );
        // valgrind's malloc alone, or a C library no rule names: other.
        assert_eq!(classify([malloc]), Owner::Other);
        assert_eq!(
            classify([malloc, "0x49D21FA: __fopen_internal (iofopen.c:65)"]),
            Owner::Other
        );
    }

    #[test]
    fn every_owner_a_stack_can_have_has_a_rule() {
        for o in Owner::ALL {
            let has_rule =
                RULES.iter().any(|(r, _)| r == o) || FOREIGN_RULES.iter().any(|r| r.owner == *o);
            let expected = !matches!(o, Owner::Other | Owner::Remainder);
            assert_eq!(has_rule, expected, "{o}");
        }
        for (o, patterns) in RULES {
            assert!(!patterns.is_empty(), "{o}: a row without patterns");
            assert!(
                patterns.iter().all(|p| !p.is_empty()),
                "{o}: an empty pattern matches every frame"
            );
        }
    }

    /// The rules that name the harness's own functions name them where they are: a module
    /// moved without its rule would leave its bytes to a broader owner unnoticed.
    #[test]
    fn the_harness_paths_in_the_rules_exist() {
        use crate::measure::alloc::CountingAlloc;
        use crate::tls::config::{provider, ClientTls};
        use crate::tls::session::SessionFactory;
        let named: Vec<&str> = RULES
            .iter()
            .flat_map(|(_, p)| p.iter())
            .chain(ALLOCATOR_FRAMES)
            .copied()
            .filter(|p| p.trim_start_matches('<').starts_with("harness::"))
            .collect();
        let real = [
            std::any::type_name_of_val(&ClientTls::client_config).to_string(),
            std::any::type_name_of_val(&provider).to_string(),
            format!("{}::build_hyper", std::any::type_name::<SessionFactory>()),
            std::any::type_name::<CountingAlloc>().replace("CountingAlloc", ""),
        ];
        for p in &named {
            assert!(
                real.iter().any(|r| r == p),
                "{p} names no function here: {real:#?}"
            );
        }
        assert_eq!(named.len(), real.len(), "{named:#?}");
    }
}
