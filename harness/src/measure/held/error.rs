//! What can go wrong in the held-connection probe, naming the pass, side, connection and step.

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::pki_types::InvalidDnsNameError;

use crate::tls::certs::SERVER_NAME;
use crate::tls::config::TlsError;

crate::choice! {
    /// Which side of a connection.
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

/// Which connection of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The connection made and closed before the first reading.
    WarmUp,
    /// Held connection `index` (from 1) of `of`.
    Held { index: usize, of: usize },
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Which::WarmUp => f.write_str("the warm-up connection"),
            Which::Held { index, of } => write!(f, "connection {index} of {of}"),
        }
    }
}

crate::choice! {
    /// A step of one connection.
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
    #[error("held-connection probe ({pass}, {side} side): the other side did not finish within {} s", .waited.as_secs())]
    Stalled {
        pass: Pass,
        side: Side,
        waited: Duration,
    },
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
