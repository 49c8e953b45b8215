//! The published method in one process: N/2 clients, N/2 servers, lockstep handshakes in memory.

#[cfg(feature = "native-tls")]
mod with_openssl;
mod with_rustls;

use crate::contract::lockstep::{LockstepPoint, LockstepReading};
use crate::measure::{alloc, procstat};
use crate::tls::certs::{self, CertError};
use crate::tls::config::TlsError;
use crate::vocab::defaults::LOCKSTEP_DATA_BYTES;
use crate::vocab::tls::TlsLibrary;

/// Rounds after which a pair still handshaking is a failure: a full TLS 1.2 handshake takes 3
/// rounds here, TLS 1.3 2 (rustls-bench runs 5).
const MAX_ROUNDS: u32 = 8;

/// Size of the scratch buffer between the sides (rustls-bench's `TempBuffers`: 256 KiB).
const SCRATCH_BYTES: usize = 256 * 1024;

/// What can stop a point.
#[derive(Debug, thiserror::Error)]
pub enum LockstepError {
    #[error(transparent)]
    Certs(#[from] CertError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("rustls, pair {0}: {1}")]
    Rustls(usize, #[source] rustls::Error),
    #[error("rustls, pair {0}: {1}")]
    Io(usize, #[source] std::io::Error),
    #[error("OpenSSL, pair {0}: {1}")]
    Openssl(usize, String),
    #[error("OpenSSL, configuring the contexts: {0}")]
    OpensslSetup(String),
    #[error("{}", crate::vocab::client::NATIVE_TLS_NOT_BUILT)]
    OpensslNotBuilt,
    #[error("cannot count OpenSSL's allocations: {0}")]
    OpensslCount(#[from] alloc::OpensslCountError),
    /// Pairs completed, pairs, rounds run.
    #[error("{0} of {1} handshakes completed after {2} rounds")]
    Incomplete(u64, u64, u32),
    /// The pair, bytes its server received, bytes sent.
    #[error("server {0} received {1} of {2} bytes of data")]
    ShortData(usize, usize, usize),
    /// The side dropped, the live heap before and after.
    #[error("dropping the {0} raised the live heap from {1} B to {2} B: something else allocated meanwhile, so the {0}' bytes at rest are not known")]
    HeapGrew(&'static str, u64, u64),
    #[error("a lockstep point needs at least 2 sessions (one pair), got {0}")]
    TooFew(u64),
}

/// One library's pairs: how to make a pair, move it one flight, and send the data.
trait Pairs {
    type Client;
    type Server;
    /// A new client and server, not yet connected.
    fn pair(&mut self, index: usize) -> Result<(Self::Client, Self::Server), LockstepError>;
    /// One flight each way; returns whether either side is still handshaking after it.
    fn step(
        &mut self,
        index: usize,
        client: &mut Self::Client,
        server: &mut Self::Server,
        scratch: &mut [u8],
    ) -> Result<bool, LockstepError>;
    /// The client writes `data`, the server reads it all; returns the bytes the server read.
    fn deliver(
        &mut self,
        index: usize,
        client: &mut Self::Client,
        server: &mut Self::Server,
        data: &[u8],
        scratch: &mut [u8],
    ) -> Result<usize, LockstepError>;
}

/// Measures one point in this process, a fresh one: peak RSS only grows within a process.
pub fn measure(point: &LockstepPoint) -> Result<LockstepReading, LockstepError> {
    if point.pairs() == 0 {
        return Err(LockstepError::TooFew(point.sessions));
    }
    let set = certs::ensure(&point.certs_dir)?.0;
    match point.key.library {
        TlsLibrary::Rustls => drive(point, with_rustls::RustlsPairs::new(point, &set)?),
        #[cfg(feature = "native-tls")]
        TlsLibrary::Openssl => {
            // Before OpenSSL allocates anything: it refuses new allocator functions afterwards.
            alloc::count_openssl()?;
            let pairs = with_openssl::OpensslPairs::new(point, &set)
                .map_err(|e| LockstepError::OpensslSetup(e.to_string()))?;
            drive(point, pairs)
        }
        #[cfg(not(feature = "native-tls"))]
        TlsLibrary::Openssl => Err(LockstepError::OpensslNotBuilt),
    }
}

/// All pairs made first, then one flight each way per round until none is handshaking, then
/// the data.
fn drive<P: Pairs>(point: &LockstepPoint, mut lib: P) -> Result<LockstepReading, LockstepError> {
    let pairs = point.pairs() as usize;
    let mut scratch = vec![0u8; SCRATCH_BYTES];
    let data = vec![0u8; LOCKSTEP_DATA_BYTES];
    let live = || alloc::heap().map(|h| h.live_bytes);
    let heap_now = || (live(), procstat::malloc_in_use_bytes());
    let (heap_before, malloc_before) = heap_now();
    // The largest of the readings; `None < Some`, so a reading not taken never wins.
    let mut peak = (heap_before, malloc_before);
    let mut read = || {
        let now = heap_now();
        peak = (peak.0.max(now.0), peak.1.max(now.1));
        now
    };
    // Each side's connections live inline in its vector, given back with the side.
    let mut clients = Vec::with_capacity(pairs);
    let mut servers = Vec::with_capacity(pairs);

    for i in 0..pairs {
        let (c, s) = lib.pair(i)?;
        clients.push(c);
        servers.push(s);
    }
    // A rustls client writes its ClientHello, key shares included, when it is made: every
    // client holds them before the first round.
    read();
    let mut rounds = 0;
    let mut handshaking = pairs;
    while handshaking > 0 && rounds < MAX_ROUNDS {
        handshaking = 0;
        for (i, (c, s)) in clients.iter_mut().zip(servers.iter_mut()).enumerate() {
            if lib.step(i, c, s, &mut scratch)? {
                handshaking += 1;
            }
        }
        rounds += 1;
        read();
    }
    if handshaking > 0 {
        let completed = (pairs - handshaking) as u64;
        return Err(LockstepError::Incomplete(completed, pairs as u64, rounds));
    }
    for (i, (c, s)) in clients.iter_mut().zip(servers.iter_mut()).enumerate() {
        let got = lib.deliver(i, c, s, &data, &mut scratch)?;
        if got != data.len() {
            return Err(LockstepError::ShortData(i, got, data.len()));
        }
    }
    let (heap_at_rest, malloc_at_rest) = read();
    let rss_at_rest = procstat::rss_bytes();
    let malloc_free = procstat::malloc_free_bytes();

    // Each side's bytes at rest: what dropping it, its vector's buffer included, gives back.
    let before_servers = live();
    drop(servers);
    let after_servers = live();
    drop(clients);
    let after_clients = live();
    // Last: freeing never raises the peak, and nothing after this allocates much.
    let peak_rss = procstat::peak_rss_bytes();

    Ok(LockstepReading {
        point: point.clone(),
        handshakes_completed: pairs as u64,
        rounds,
        peak_rss_bytes: peak_rss,
        rss_at_rest_bytes: rss_at_rest,
        heap_before_bytes: heap_before,
        heap_peak_bytes: peak.0,
        heap_at_rest_bytes: heap_at_rest,
        malloc_before_bytes: malloc_before,
        malloc_peak_bytes: peak.1,
        malloc_at_rest_bytes: malloc_at_rest,
        malloc_free_at_rest_bytes: malloc_free,
        server_bytes: freed(before_servers, after_servers, "servers")?,
        client_bytes: freed(after_servers, after_clients, "clients")?,
    })
}

/// The live bytes dropping one side gave back, `before − after` (`None`: not counted); an
/// error, not 0 B, when the heap grew meanwhile.
fn freed(
    before: Option<u64>,
    after: Option<u64>,
    side: &'static str,
) -> Result<Option<u64>, LockstepError> {
    let (Some(before), Some(after)) = (before, after) else {
        return Ok(None);
    };
    let grew = LockstepError::HeapGrew(side, before, after);
    before.checked_sub(after).map(Some).ok_or(grew)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::lockstep::fixture::rustls as point;

    /// Pairs whose handshake takes `flights` rounds, except pair `stuck`, which never ends.
    struct Fake {
        flights: u32,
        stuck: Option<usize>,
    }

    impl Pairs for Fake {
        type Client = u32;
        type Server = ();
        fn pair(&mut self, _: usize) -> Result<(u32, ()), LockstepError> {
            Ok((0, ()))
        }
        fn step(
            &mut self,
            index: usize,
            client: &mut u32,
            _: &mut (),
            _: &mut [u8],
        ) -> Result<bool, LockstepError> {
            *client += 1;
            Ok(self.stuck == Some(index) || *client < self.flights)
        }
        fn deliver(
            &mut self,
            _: usize,
            _: &mut u32,
            _: &mut (),
            data: &[u8],
            _: &mut [u8],
        ) -> Result<usize, LockstepError> {
            Ok(data.len())
        }
    }

    #[test]
    fn a_pair_that_never_finishes_fails_the_point_with_the_count_that_did() {
        let r = drive(
            &point(20),
            Fake {
                flights: 2,
                stuck: Some(3),
            },
        );
        match r {
            Err(LockstepError::Incomplete(completed, pairs, rounds)) => {
                assert_eq!((completed, pairs, rounds), (9, 10, MAX_ROUNDS))
            }
            other => panic!("expected Incomplete, got {other:?}"),
        }
        let ok = drive(
            &point(20),
            Fake {
                flights: 3,
                stuck: None,
            },
        )
        .unwrap();
        assert_eq!((ok.handshakes_completed, ok.rounds), (10, 3));
    }

    #[test]
    fn a_side_is_what_dropping_it_gave_back_and_a_heap_that_grew_is_no_figure() {
        assert_eq!(
            freed(Some(5_000), Some(1_200), "servers").unwrap(),
            Some(3_800)
        );
        assert_eq!(freed(Some(5_000), Some(5_000), "servers").unwrap(), Some(0));
        // Not counted stays not counted.
        assert_eq!(freed(None, Some(1), "clients").unwrap(), None);
        let grew = freed(Some(1_000), Some(1_064), "clients").unwrap_err();
        assert!(grew.to_string().contains("from 1000 B to 1064 B"), "{grew}");
    }
}
