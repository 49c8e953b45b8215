//! Whose connection counters a case settles on and reports: the client's own or the server's.

use std::sync::Arc;

use harness::tls::connector::ConnStats;
use harness::tls::session::SessionFactory;
use serde::{Deserialize, Serialize};

/// The connection counters a case settles on and reports per iteration: the client's own
/// (hyper sessions' connector) or, where the client's connections are not visible
/// (reqwest), the server's — the same connections seen from the other end. Both are
/// [`ConnStats`]; which end they belong to is only needed to label the table.
#[derive(Debug, Clone, Copy)]
pub enum Conns<'a> {
    Client(&'a ConnStats),
    Server(&'a ConnStats),
}

impl<'a> Conns<'a> {
    pub(super) fn stats(self) -> &'a ConnStats {
        match self {
            Conns::Client(s) | Conns::Server(s) => s,
        }
    }

    pub(super) fn side(self) -> Side {
        match self {
            Conns::Client(_) => Side::Client,
            Conns::Server(_) => Side::Server,
        }
    }
}

/// Whose counters a row's conns/full/res columns are (`connections_counted_by` in
/// `bytes.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

/// The connection counters of a factory of hyper sessions (the only kind the benches build).
pub fn conn_stats(factory: &SessionFactory) -> Arc<ConnStats> {
    factory
        .stats()
        .expect("hyper sessions have connection counters")
        .clone()
}
