//! When the command's connections closed, and which were open at its last request (docs/exec.md).

use std::collections::BTreeSet;

use crate::contract::exec::ConnectionRow;
use crate::contract::wire::ConnRecord;

/// The tree's last `/proc` sample before the command ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LastSample {
    /// `CLOCK_MONOTONIC` ns when the sample began (its reads all came after).
    pub at_ns: u64,
    /// The local ports of the tree's TCP connections to the server then (`None`: not all read).
    pub held: Option<BTreeSet<u16>>,
}

/// The command's end as the harness stamped it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct End {
    /// `CLOCK_MONOTONIC` ns when the waiter thread, woken by the exit, stamped it.
    pub at_ns: u64,
    /// `CLOCK_MONOTONIC` ns the command was last seen running, not exiting (`None`: never).
    pub running_at_ns: Option<u64>,
}

/// The rows of `connections.csv`, times relative to the command's start, each connection
/// classified against the command's end and the tree's last sample.
pub fn rows(
    conns: &[ConnRecord],
    start_ns: u64,
    end: End,
    last: Option<&LastSample>,
) -> Vec<ConnectionRow> {
    let rel = |t: u64| t.saturating_sub(start_ns) as f64 / 1e9;
    let last_request = last_request_ns(conns);
    conns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let held_at_last_sample = last.and_then(|l| {
                let existed = c.opened_ns < l.at_ns && c.closed_ns.is_none_or(|t| t >= l.at_ns);
                Some(l.held.as_ref().filter(|_| existed)?.contains(&c.peer_port))
            });
            // Never seen closing: it outlived the command (or the server's record).
            let closed_by_program = c.closed_ns.is_some_and(|t| {
                end.running_at_ns.is_some_and(|r| t < r)
                    || last.is_some_and(|l| t < l.at_ns)
                    || held_at_last_sample == Some(false)
            });
            ConnectionRow {
                conn: i as u64 + 1,
                peer_port: c.peer_port,
                opened_s: rel(c.opened_ns),
                closed_s: c.closed_ns.map(rel),
                handshake: c.handshake,
                requests: c.requests,
                closed_before_end_ms: c.closed_ns.map(|t| (end.at_ns as f64 - t as f64) / 1e6),
                held_at_last_sample,
                open_at_exit: !closed_by_program,
                open_at_last_request: last_request.map(|t| open_at(c, t)),
            }
        })
        .collect()
}

/// `CLOCK_MONOTONIC` ns of the program's last request (`None`: the server received none).
pub fn last_request_ns(conns: &[ConnRecord]) -> Option<u64> {
    conns.iter().filter_map(|c| c.last_request_ns).max()
}

/// Whether the server had accepted `c` by `at_ns` and had not seen it close before then.
pub fn open_at(c: &ConnRecord, at_ns: u64) -> bool {
    c.opened_ns <= at_ns && c.closed_ns.is_none_or(|t| t >= at_ns)
}

/// Connections open at the program's last request (`None`: no request, so no last one).
pub fn open_at_last_request(conns: &[ConnRecord]) -> Option<u64> {
    let at = last_request_ns(conns)?;
    Some(conns.iter().filter(|c| open_at(c, at)).count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::handshake::Handshake;

    const MS: u64 = 1_000_000;

    /// One connection's row, classified against `end` and `last`.
    fn closing(c: &ConnRecord, end: End, last: Option<&LastSample>) -> ConnectionRow {
        rows(std::slice::from_ref(c), 0, end, last).remove(0)
    }

    fn conn(port: u16, open_ms: u64, close_ms: Option<u64>) -> ConnRecord {
        ConnRecord {
            peer_port: port,
            opened_ns: open_ms * MS,
            closed_ns: close_ms.map(|t| t * MS),
            handshake: Handshake::Full,
            requests: 1,
            last_request_ns: Some(open_ms * MS),
        }
    }

    fn last(at_ms: u64, held: Option<&[u16]>) -> LastSample {
        LastSample {
            at_ns: at_ms * MS,
            held: held.map(|h| h.iter().copied().collect()),
        }
    }

    /// Ended at 1000 ms, last seen running `before_ms` before that (None: never seen).
    fn end(before_ms: Option<u64>) -> End {
        End {
            at_ns: 1000 * MS,
            running_at_ns: before_ms.map(|b| (1000 - b) * MS),
        }
    }

    #[test]
    fn a_close_before_the_last_sample_is_the_programs() {
        let l = last(900, Some(&[]));
        let k = closing(&conn(1, 0, Some(500)), end(None), Some(&l));
        assert!(!k.open_at_exit);
        assert_eq!(k.closed_before_end_ms, Some(500.0));
        assert_eq!(k.held_at_last_sample, None, "closed before it: not asked");
    }

    #[test]
    fn a_connection_the_tree_no_longer_held_was_closed_by_the_program() {
        // The server saw the close late (after the sample), but the tree had let it go.
        let l = last(900, Some(&[7]));
        let k = closing(&conn(1, 0, Some(990)), end(None), Some(&l));
        assert!(!k.open_at_exit);
        assert_eq!(k.held_at_last_sample, Some(false));
    }

    #[test]
    fn a_close_while_the_command_still_ran_is_the_programs() {
        let l = last(900, Some(&[1]));
        // Held at the last sample; closed 3 ms before the end, and the command was seen
        // running 1 ms before the end: the program's close.
        let k = closing(&conn(1, 0, Some(997)), end(Some(1)), Some(&l));
        assert!(!k.open_at_exit);
        // Last seen running 5 ms before the end: the same close may be the exit's.
        let late = closing(&conn(1, 0, Some(997)), end(Some(5)), Some(&l));
        assert!(late.open_at_exit);
        // Never seen running: only the tree's evidence counts, and it held the connection.
        assert!(closing(&conn(1, 0, Some(997)), end(None), Some(&l)).open_at_exit);
    }

    #[test]
    fn held_at_the_last_sample_and_closed_at_the_end_is_open_at_exit() {
        let l = last(900, Some(&[1]));
        let k = closing(&conn(1, 0, Some(1000)), end(Some(0)), Some(&l));
        assert!(k.open_at_exit);
        assert_eq!(k.held_at_last_sample, Some(true));
        // Closed after the end was stamped: still open at exit.
        let after = closing(&conn(1, 0, Some(1020)), end(Some(0)), Some(&l));
        assert!(after.open_at_exit);
        assert_eq!(after.closed_before_end_ms, Some(-20.0));
    }

    #[test]
    fn never_closed_or_unknown_is_open_at_exit() {
        let l = last(900, Some(&[]));
        assert!(closing(&conn(1, 0, None), end(Some(0)), Some(&l)).open_at_exit);
        // Opened after the last sample, closed after the command was last seen running.
        let after = closing(&conn(1, 950, Some(990)), end(Some(20)), Some(&l));
        assert!(after.open_at_exit);
        assert_eq!(after.held_at_last_sample, None);
        // The sample could not read the sockets: only the close times count.
        let blind = last(900, None);
        assert!(closing(&conn(1, 0, Some(950)), end(None), Some(&blind)).open_at_exit);
        assert!(!closing(&conn(1, 0, Some(850)), end(None), Some(&blind)).open_at_exit);
        // No sample and no measured delay: nothing shows a close before the end.
        assert!(closing(&conn(1, 0, Some(10)), end(None), None).open_at_exit);
        assert!(!closing(&conn(1, 0, Some(10)), end(Some(2)), None).open_at_exit);
    }

    #[test]
    fn rows_carry_the_gap_and_the_trees_view() {
        let l = last(900, Some(&[2]));
        let r = rows(
            &[conn(1, 100, Some(400)), conn(2, 200, None)],
            100 * MS,
            end(Some(1)),
            Some(&l),
        );
        assert_eq!((r[0].conn, r[0].open_at_exit), (1, false));
        assert_eq!(r[0].closed_before_end_ms, Some(600.0));
        assert_eq!(r[0].opened_s, 0.0);
        assert!(r[1].open_at_exit && r[1].closed_s.is_none());
        assert_eq!(r[1].held_at_last_sample, Some(true));
        // The last request (on the second, at 200 ms) came before the first closed (400 ms).
        assert_eq!(r[0].open_at_last_request, Some(true));
        assert_eq!(r[1].open_at_last_request, Some(true));
        let apart = rows(
            &[conn(1, 100, Some(150)), conn(2, 200, None)],
            0,
            end(Some(1)),
            None,
        );
        assert_eq!(apart[0].open_at_last_request, Some(false));
        let no_request = ConnRecord {
            last_request_ns: None,
            ..conn(1, 100, None)
        };
        assert_eq!(
            rows(&[no_request], 0, end(Some(1)), None)[0].open_at_last_request,
            None
        );
    }
}

#[cfg(test)]
mod last_request_tests {
    use super::*;
    use crate::vocab::handshake::Handshake;

    const MS: u64 = 1_000_000;

    /// A connection accepted at `open_ms` that carried requests until `last_ms` and that the
    /// server saw close at `close_ms`.
    fn conn(open_ms: u64, last_ms: Option<u64>, close_ms: Option<u64>) -> ConnRecord {
        ConnRecord {
            peer_port: 1,
            opened_ns: open_ms * MS,
            closed_ns: close_ms.map(|t| t * MS),
            handshake: Handshake::Full,
            requests: u64::from(last_ms.is_some()),
            last_request_ns: last_ms.map(|t| t * MS),
        }
    }

    const N: u64 = 40;

    #[test]
    fn a_program_that_closes_each_connection_after_its_request_reads_1() {
        let conns: Vec<_> = (0..N)
            .map(|i| conn(i * 10, Some(i * 10 + 2), Some(i * 10 + 5)))
            .collect();
        assert_eq!(last_request_ns(&conns), Some(((N - 1) * 10 + 2) * MS));
        assert_eq!(open_at_last_request(&conns), Some(1));
    }

    #[test]
    fn a_program_that_keeps_each_connection_reads_n() {
        // Never closed while the server watched.
        let kept: Vec<_> = (0..N)
            .map(|i| conn(i * 10, Some(i * 10 + 2), None))
            .collect();
        assert_eq!(open_at_last_request(&kept), Some(N));
    }

    /// The runtime's teardown closes them after the last request, early or late relative to
    /// the exit: the count is the same whichever way the exit races.
    #[test]
    fn teardown_closes_after_the_last_request_still_count_as_open() {
        let last = (N - 1) * 10 + 2;
        for teardown_ms in [last + 1, last + 3, last + 500] {
            let conns: Vec<_> = (0..N)
                .map(|i| conn(i * 10, Some(i * 10 + 2), Some(teardown_ms)))
                .collect();
            assert_eq!(open_at_last_request(&conns), Some(N), "{teardown_ms}");
        }
        // Half closed by the program along the way, half (the last among them) at teardown.
        let mixed: Vec<_> = (0..N)
            .map(|i| {
                let close = if i % 2 == 0 { i * 10 + 5 } else { last + 2 };
                conn(i * 10, Some(i * 10 + 2), Some(close))
            })
            .collect();
        assert_eq!(open_at_last_request(&mixed), Some(N / 2));
    }

    #[test]
    fn a_shared_client_reads_1() {
        assert_eq!(open_at_last_request(&[conn(0, Some(400), None)]), Some(1));
        assert_eq!(
            open_at_last_request(&[conn(0, Some(400), Some(401))]),
            Some(1)
        );
    }

    #[test]
    fn no_request_means_no_last_request() {
        assert_eq!(open_at_last_request(&[]), None);
        // Connected, even failed a handshake, but never asked for anything.
        assert_eq!(open_at_last_request(&[conn(0, None, None)]), None);
    }

    #[test]
    fn connections_without_requests_count_by_their_times() {
        let conns = [
            // Open and idle when the last request came: held.
            conn(0, None, None),
            conn(10, Some(50), Some(60)),
            // Accepted after the last request (a connection made during teardown): not open
            // at it.
            conn(70, None, Some(80)),
        ];
        assert_eq!(open_at_last_request(&conns), Some(2));
    }
}
