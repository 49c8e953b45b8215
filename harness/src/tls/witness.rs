//! The server as witness (`harness exec` only): one record per accepted connection.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::contract::wire::ConnRecord;
use crate::vocab::handshake::Handshake;

/// The log of every connection the server accepted.
#[derive(Debug, Default)]
pub struct Witness {
    conns: Mutex<Vec<ConnRecord>>,
}

impl Witness {
    fn lock(&self) -> MutexGuard<'_, Vec<ConnRecord>> {
        // A panic while holding the lock leaves the records intact: keep using them.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn records(&self) -> Vec<ConnRecord> {
        self.lock().clone()
    }
}

/// A connection's handle on the log (its place in it), if the server keeps one.
#[derive(Debug, Clone)]
pub struct Witnessed(Option<(Arc<Witness>, usize)>);

impl Witnessed {
    /// Records an accepted connection.
    pub fn open(log: Option<&Arc<Witness>>, peer_port: u16) -> Witnessed {
        Witnessed(log.map(|w| {
            let mut conns = w.lock();
            conns.push(ConnRecord {
                peer_port,
                opened_ns: monotonic_ns(),
                closed_ns: None,
                handshake: Handshake::Pending,
                requests: 0,
                last_request_ns: None,
            });
            (w.clone(), conns.len() - 1)
        }))
    }

    fn edit(&self, f: impl FnOnce(&mut ConnRecord)) {
        if let Some((w, i)) = &self.0 {
            if let Some(c) = w.lock().get_mut(*i) {
                f(c);
            }
        }
    }

    pub fn handshake(&self, kind: Handshake) {
        self.edit(|c| c.handshake = kind);
    }

    /// Counts a request and stamps when it arrived: the order of requests and closes is what
    /// tells a connection kept to the end from one closed after use.
    pub fn request(&self) {
        let at = monotonic_ns();
        self.edit(|c| {
            c.requests += 1;
            c.last_request_ns = Some(at);
        });
    }

    pub fn closed(&self) {
        self.edit(|c| c.closed_ns = Some(monotonic_ns()));
    }
}

/// `CLOCK_MONOTONIC`, nanoseconds: one clock for every process on the machine, so the server
/// worker's stamps and the parent's can be compared.
pub fn monotonic_ns() -> u64 {
    use rustix::time::{clock_gettime_dynamic, ClockId, DynamicClockId};
    // It cannot fail on Linux; a failure gives 0, "long ago".
    clock_gettime_dynamic(DynamicClockId::Known(ClockId::Monotonic))
        .map_or(0, |ts| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_a_connection_through_its_life() {
        let w = Arc::new(Witness::default());
        let c = Witnessed::open(Some(&w), 40000);
        c.handshake(Handshake::Resumed);
        c.request();
        let first = w.records()[0].last_request_ns.expect("stamped");
        c.request();
        let second = w.records()[0].last_request_ns.expect("stamped");
        assert!(first <= second && first >= w.records()[0].opened_ns);
        assert_eq!(w.records()[0].closed_ns, None);
        c.closed();
        let r = &w.records()[0];
        assert_eq!(
            (r.peer_port, r.requests, r.handshake),
            (40000, 2, Handshake::Resumed)
        );
        assert!(r.closed_ns.expect("closed") >= second);
        // Without a log, nothing is kept and nothing fails.
        Witnessed::open(None, 1).closed();
    }
}
