//! One pass of the probe (TCP or TLS): a listener and both sides, ending the other side when one
//! fails.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::measure::held::connections::{client_side, join, server_side, spawn_side, Delta};
use crate::measure::held::error::{HeldError, Pass, Side};
use crate::measure::held::establish::Establish;
use crate::measure::held::rendezvous::Rendezvous;

/// One pass: a fresh listener, the server side on one thread and the client side on another.
pub(super) fn run_pass<C, S>(
    pass: Pass,
    client: C,
    server: S,
    n: usize,
) -> Result<(Delta, Delta), HeldError>
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
        let listener = TcpListener::from_std(listener)
            .map_err(|source| cx.fail(HeldError::Bind { pass, source }))?;
        server_side(&cx, &server, &listener, n).await
    })?;
    let client = spawn_side(pass, Side::Client, rv.clone(), move |cx| async move {
        client_side(&cx, &client, addr, n).await
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

/// When the client side has stopped, the server side may be waiting in `accept` for a
/// connection that will never come: one connection, closed at once, ends that wait (the
/// server's handshake or read then fails). Refused when the server side has already ended.
fn unblock_accept(addr: SocketAddr) {
    let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
}
