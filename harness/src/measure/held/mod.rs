//! Held connections: the heap bytes one idle, established connection costs the **client side**
//! and the **server side**, for a TLS connection (tokio-rustls over a TCP stream, after the
//! handshake) and for a plain TCP connection held the same way. "TLS minus TCP" is then what
//! TLS adds to each connection a program keeps open (a pooled keep-alive connection, say), the
//! figure rustls's own measurement publishes per connection (jbp.io, 2019: one shared config,
//! N connections open at once).
//!
//! # Method
//!
//! - **Two passes, TCP then TLS**, each with a fresh listener on 127.0.0.1:0 and two fresh OS
//!   threads, one per side, each driving its own current-thread tokio runtime. The counting
//!   allocator keeps per-thread counters
//!   ([`alloc::thread_counts`](crate::measure::alloc::thread_counts)), so a side's live bytes
//!   (allocated − freed on its thread) are charged exactly that side's work, whatever the other
//!   thread does. Nothing allocated on one side's thread is freed on the other's: the sides
//!   share only sockets and a rendezvous (`std` mutex and condition variable), which never
//!   allocates.
//! - **Configs are shared, and not counted.** One `ClientConfig` (the caller's [`ClientTls`])
//!   and one `ServerConfig` ([`config::server_config`] with the caller's [`CertSet`], the same TLS
//!   version) are built on the calling thread before either side starts, and every connection
//!   holds them through an `Arc`: a program builds a config once, not per connection, so its
//!   cost is in neither figure.
//! - **Full handshakes, no tickets.** The server's session store caches nothing, so it issues
//!   no TLS 1.3 tickets and resumes no TLS 1.2 session. A stored ticket or session outlives its
//!   connection and its store is capped: that is a cache's cost per handshake, not a held
//!   connection's, and counting it would make the figure depend on N and on cache sizes
//!   (rustls's published measurement also has resumption off). The client's resumption store
//!   (the caller's setting) then keeps only a key-exchange hint for `localhost`, made by the
//!   warm-up connection and replaced in place after (rustls stores a TLS 1.2 session only when
//!   the server offers a session ID or a ticket, and this server offers neither).
//! - **One-time costs stay out** (ARCHITECTURE.md, "Measuring honestly"): each side first
//!   establishes one warm-up connection, exchanges, closes and drops it, and lets its runtime
//!   release the socket's registration; lazily made runtime and rustls state is paid there.
//! - **Then N connections, one after another.** The client connects and the server accepts;
//!   for TLS both then handshake (server name `localhost`, the server's certificate verified
//!   against the CA by the config's own webpki verifier). Then the same tiny exchange for both
//!   kinds: the client writes a [`REQUEST`](connections::REQUEST), the server reads it and
//!   writes a [`REPLY`](connections::REPLY), the client reads it, so each side has processed
//!   everything the other sent (in TLS 1.3, whatever follows the handshake). Each connection
//!   is then held idle in a `Box`, in a `Vec` whose N pointers were allocated before the first
//!   reading: the box counts the connection's own struct (rustls keeps much of a connection's
//!   state inline), the `Vec` is not counted.
//! - **Readings.** Each side reads its thread's live bytes just before its first held
//!   connection and again once both sides have finished all N exchanges (the rendezvous);
//!   per connection = (after − before) ÷ N. A second rendezvous, then everything is dropped.
//!
//! # Not counted
//!
//! - Kernel memory: the socket and its send and receive buffers are not heap. tokio's
//!   per-socket registration is heap and is counted.
//! - aws-lc's own allocations: rustls's crypto is aws-lc-rs, whose C code allocates with C
//!   `malloc`, which no Rust allocator sees (as "Measuring honestly" says). That includes each
//!   connection's record-protection keys: aws-lc-rs allocates each AEAD context
//!   (`EVP_AEAD_CTX`, 576 bytes: a 564-byte key state, a pointer, two bytes, padding) with
//!   `OPENSSL_malloc`, one per direction, so about 1.2 KB per connection per side (by those
//!   struct sizes, not measured) are outside both TLS figures. The small Rust boxes wrapping
//!   them are counted.
//! - The configs, the warm-up connection and the `Vec` holding the connections.
//!
//! In a process without the counting allocator
//! ([`alloc::is_installed`](crate::measure::alloc::is_installed) false, as in a unit-test binary)
//! the connections are still made, and every figure is `None` (not measured, never 0).
//!
//! # Modules
//!
//! [`probe`] (here) runs a TCP pass, then a TLS pass (`pass`). A pass starts each side on its
//! own thread (`side`), where it makes, exchanges on and holds its connections and takes its
//! readings ([`connections`]), through the pass's way of establishing a connection
//! ([`establish`]: the TCP stream itself, or TLS over it); the two sides meet at a rendezvous
//! (`rendezvous`). What can fail, and where, is in [`error`].

pub mod connections;
pub mod error;
pub mod establish;
mod pass;
mod rendezvous;
mod side;

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::contract::probes::HeldConnections;
use crate::measure::held::error::{HeldError, Pass};
use crate::measure::held::establish::{PlainTcp, TlsClient, TlsServer, SERVER_NAME};
use crate::measure::held::pass::run_pass;
use crate::tls::certs::CertSet;
use crate::tls::config::{self, ClientTls};
use crate::tls::store::SessionStore;
use crate::vocab::server_cache::ServerCachePolicy;

/// Connections each pass of a `--breakdown` run's probe holds: enough that the per-connection
/// figure is stable to a few bytes (N = 64 and N = 256 differed by at most 2 B per connection).
pub const CONNECTIONS: usize = 64;

/// Measures what one idle held connection costs each side, TLS and plain TCP, with
/// `connections` connections held at once per side and pass (see the module documentation).
///
/// Blocking: spawns its own threads and runtimes; call from a blocking context (e.g.
/// `tokio::task::spawn_blocking` or a plain thread).
pub fn probe(
    certs: &CertSet,
    tls: &ClientTls,
    connections: usize,
) -> Result<HeldConnections, HeldError> {
    if connections == 0 {
        return Err(HeldError::NoConnections);
    }
    let (tcp_client, tcp_server) = run_pass(Pass::Tcp, PlainTcp, PlainTcp, connections)?;

    let client_config = Arc::new(tls.client_config()?);
    // Caches nothing: no tickets, no resumption (module documentation, "Full handshakes").
    let store = Arc::new(SessionStore::new(ServerCachePolicy::Bounded {
        capacity: 0,
    }));
    let server_config = Arc::new(config::server_config(certs, tls.version, store)?);
    let client = TlsClient {
        connector: TlsConnector::from(client_config),
        name: ServerName::try_from(SERVER_NAME)?,
    };
    let server = TlsServer(TlsAcceptor::from(server_config));
    let (tls_client, tls_server) = run_pass(Pass::Tls, client, server, connections)?;

    let per = |delta: Option<i64>| delta.map(|d| d as f64 / connections as f64);
    Ok(HeldConnections {
        connections: connections as u64,
        tls_client_bytes: per(tls_client),
        tls_server_bytes: per(tls_server),
        tcp_client_bytes: per(tcp_client),
        tcp_server_bytes: per(tcp_server),
    })
}

#[cfg(test)]
mod tests {
    use super::error::{Side, Step, Which};
    use super::*;
    use crate::measure::alloc;
    use crate::vocab::tls::{KxChoice, RootsChoice, TlsVersion};

    fn client_tls(version: TlsVersion, trusted: &CertSet) -> ClientTls {
        ClientTls::new(
            version,
            KxChoice::Default,
            RootsChoice::Ca,
            vec![trusted.ca.clone()],
            256,
        )
    }

    #[test]
    fn without_the_allocator_connections_work_and_nothing_is_measured() {
        assert!(!alloc::is_installed());
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        for version in [TlsVersion::V13, TlsVersion::V12] {
            let held = probe(&certs, &client_tls(version, &certs), 4).expect("probe");
            assert_eq!(
                held,
                HeldConnections {
                    connections: 4,
                    tls_client_bytes: None,
                    tls_server_bytes: None,
                    tcp_client_bytes: None,
                    tcp_server_bytes: None,
                },
                "{version:?}"
            );
            assert_eq!(held.tls_minus_tcp_client(), None);
            assert_eq!(held.tls_minus_tcp_server(), None);
        }
    }

    #[test]
    fn the_client_verifies_the_server_and_a_failure_ends_both_sides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let other = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        let stranger = crate::tls::certs::generate(other.path()).expect("other CA");
        // The client trusts another CA: its handshake must fail, and the probe must end.
        let err = probe(&certs, &client_tls(TlsVersion::V13, &stranger), 4)
            .expect_err("an untrusted server certificate must fail the handshake");
        let client = match &err {
            HeldError::BothSides { client, .. } => client.as_ref(),
            e => e,
        };
        assert!(
            matches!(
                client,
                HeldError::Io {
                    pass: Pass::Tls,
                    side: Side::Client,
                    which: Which::WarmUp,
                    step: Step::Handshake,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn no_connections_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = crate::tls::certs::generate(dir.path()).expect("certificates");
        assert!(matches!(
            probe(&certs, &client_tls(TlsVersion::V13, &certs), 0),
            Err(HeldError::NoConnections)
        ));
    }

    #[test]
    fn tls_minus_tcp_is_derived_only_from_two_figures() {
        let held = HeldConnections {
            connections: 2,
            tls_client_bytes: Some(9000.0),
            tls_server_bytes: Some(8000.0),
            tcp_client_bytes: Some(500.0),
            tcp_server_bytes: None,
        };
        assert_eq!(held.tls_minus_tcp_client(), Some(8500.0));
        assert_eq!(held.tls_minus_tcp_server(), None);
    }
}
