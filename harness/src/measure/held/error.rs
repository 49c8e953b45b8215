//! What can go wrong in the held-connection probe, naming the pass, side, connection and step.

use std::io;
use std::time::Duration;

use rustls::pki_types::InvalidDnsNameError;

use crate::tls::certs::SERVER_NAME;
use crate::tls::config::TlsError;

crate::choice! {
    pub enum Side ("side") {
        Client = "client",
        Server = "server",
    }
}

crate::choice! {
    /// Which pass: plain TCP connections or TLS over TCP.
    pub enum Pass ("pass") {
        Tcp = "TCP",
        Tls = "TLS",
    }
}

/// Which connection of a pass (thiserror writes its `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Which {
    /// The connection made and closed before the first reading.
    #[error("the warm-up connection")]
    WarmUp,
    /// Held connection `index` (from 1) of `of`.
    #[error("connection {index} of {of}")]
    Held { index: usize, of: usize },
}

crate::choice! {
    pub enum Step ("step") {
        Connect = "connect",
        Accept = "accept",
        /// The TLS handshake (nothing happens here in the TCP pass).
        Handshake = "handshake",
        WriteRequest = "write the request",
        ReadRequest = "read the request",
        WriteReply = "write the reply",
        ReadReply = "read the reply",
        /// Closing the warm-up connection (the client shuts it down, the server reads its end).
        Close = "close",
    }
}

/// Longest wait at a rendezvous for the other side: a guard against a hang, named by
/// [`HeldError::Stalled`].
pub(super) const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the probe could not measure.
#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("held-connection probe: at least one connection is needed")]
    NoConnections,
    #[error("held-connection probe: {0}")]
    Tls(#[from] TlsError),
    #[error("held-connection probe: {SERVER_NAME:?} is not a valid server name: {0}")]
    ServerName(#[from] InvalidDnsNameError),
    #[error("held-connection probe ({pass}): cannot listen on 127.0.0.1:0: {source}")]
    Bind { pass: Pass, source: io::Error },
    #[error("held-connection probe ({pass}): cannot start the {side} thread: {source}")]
    Spawn {
        pass: Pass,
        side: Side,
        source: io::Error,
    },
    #[error(
        "held-connection probe ({pass}): cannot build the {side} side's tokio runtime: {source}"
    )]
    Runtime {
        pass: Pass,
        side: Side,
        source: io::Error,
    },
    #[error("held-connection probe ({pass}, {side} side): {which}: {step}: {source}")]
    Io {
        pass: Pass,
        side: Side,
        which: Which,
        step: Step,
        source: io::Error,
    },
    /// The other side stopped (it failed, or its thread ended) while this side waited for it.
    #[error("held-connection probe ({pass}, {side} side): the other side stopped before all connections were held")]
    Abandoned { pass: Pass, side: Side },
    #[error("held-connection probe ({pass}, {side} side): the other side did not finish within {} s", RENDEZVOUS_TIMEOUT.as_secs())]
    Stalled { pass: Pass, side: Side },
    #[error("held-connection probe ({pass}): the {side} thread panicked: {message}")]
    Panicked {
        pass: Pass,
        side: Side,
        message: String,
    },
    /// Both sides failed; often one failure caused the other (a rejected certificate, then
    /// the alert), so both are kept.
    #[error("{client}; and {server}")]
    BothSides {
        client: Box<HeldError>,
        server: Box<HeldError>,
    },
}
