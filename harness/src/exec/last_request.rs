//! Which connections were open at the program's last request, by the server's order of events.

use crate::contract::wire::ConnRecord;

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
