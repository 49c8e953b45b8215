//! The held-connection probe: the heap one idle connection costs each side, TLS and plain TCP.

mod connections;
pub mod error;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::contract::probes::HeldConnections;
use crate::measure::held::connections::{join, side, spawn_side, Delta, Source};
use crate::measure::held::connections::{Establish, PlainTcp, Rendezvous, TlsClient};
use crate::measure::held::error::{HeldError, Pass, Side};
use crate::tls::certs::{CertSet, SERVER_NAME};
use crate::tls::config::{self, ClientTls};
use crate::tls::store::SessionStore;
use crate::vocab::server_cache::ServerCachePolicy;

/// Connections each pass of a `--breakdown` run's probe holds: enough that the per-connection
/// figure is stable to a few bytes (docs/method-breakdown.md).
pub const CONNECTIONS: usize = 64;

/// Measures what one idle held connection costs each side, TLS and plain TCP, with
/// `connections` held at once per side and pass (docs/method-breakdown.md). Blocking: it
/// spawns its own threads and runtimes.
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
    // Caches nothing: no tickets, no resumption (docs/method-breakdown.md, "Full handshakes").
    let store = Arc::new(SessionStore::new(ServerCachePolicy::Bounded {
        capacity: 0,
    }));
    let server_config = Arc::new(config::server_config(certs, tls.version, store)?);
    let client = TlsClient {
        connector: TlsConnector::from(client_config),
        name: ServerName::try_from(SERVER_NAME)?,
    };
    let server = TlsAcceptor::from(server_config);
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

/// One pass: a fresh listener, the server side on one thread and the client side on another.
fn run_pass<C, S>(pass: Pass, client: C, server: S, n: usize) -> Result<(Delta, Delta), HeldError>
where
    C: Establish + Send + 'static,
    S: Establish + Send + 'static,
{
    let bind = |source| HeldError::Bind { pass, source };
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let rv = Arc::new(Rendezvous::default());

    let server = spawn_side(pass, Side::Server, rv.clone(), move |cx| async move {
        // Registered on the server's own thread, before its first reading.
        let listener =
            TcpListener::from_std(listener).map_err(|source| HeldError::Bind { pass, source })?;
        side(&cx, &server, Source::Accept(&listener), n).await
    })?;
    let client = spawn_side(pass, Side::Client, rv.clone(), move |cx| async move {
        side(&cx, &client, Source::Connect(addr), n).await
    });
    let client = match client {
        Ok(handle) => join(pass, Side::Client, handle),
        Err(e) => {
            rv.abandon();
            unblock_accept(addr);
            let _ = join(pass, Side::Server, server);
            return Err(e);
        }
    };
    if client.is_err() {
        unblock_accept(addr);
    }
    let server = join(pass, Side::Server, server);
    match (client, server) {
        (Ok(c), Ok(s)) => Ok((c, s)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(c), Err(s)) => Err(primary(c, s)),
    }
}

/// The error to report when both sides failed: a panic first, then any failure that is not
/// merely "the other side stopped", both when both are real.
fn primary(client: HeldError, server: HeldError) -> HeldError {
    match (&client, &server) {
        (HeldError::Panicked { .. }, _) => client,
        (_, HeldError::Panicked { .. }) => server,
        (HeldError::Abandoned { .. }, _) => server,
        (_, HeldError::Abandoned { .. }) => client,
        _ => HeldError::BothSides {
            client: Box::new(client),
            server: Box::new(server),
        },
    }
}

/// Ends a server side's wait in `accept` for a client side that has stopped: one connection,
/// closed at once (refused when the server side has already ended).
fn unblock_accept(addr: SocketAddr) {
    let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
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
