//! The memory guard of `harness handshakes`: a point that would not fit in `MemAvailable`.

use crate::vocab::tls::TlsLibrary;
use crate::vocab::units;

/// A worker's fixed cost: program image, runtime, configs, the scratch buffer.
pub const WORKER_BASE_BYTES: u64 = 64 * 1024 * 1024;

pub fn bytes_per_session(library: TlsLibrary) -> u64 {
    match library {
        TlsLibrary::Rustls => 32 * 1024,
        TlsLibrary::Openssl => 128 * 1024,
    }
}

pub fn need(library: TlsLibrary, sessions: u64) -> u64 {
    sessions
        .saturating_mul(bytes_per_session(library))
        .saturating_add(WORKER_BASE_BYTES)
}

/// The largest even N (both sides counted, ≥ 2) whose need fits in `available` bytes, or
/// `None` when not even one pair does.
pub fn largest_fitting(library: TlsLibrary, available: u64) -> Option<u64> {
    let n = available.checked_sub(WORKER_BASE_BYTES)? / bytes_per_session(library);
    let even = n - n % 2;
    (even >= 2).then_some(even)
}

/// A plan with a point that does not fit.
#[derive(Debug, thiserror::Error)]
#[error(
    "--sessions {}: one {library} point of that size needs about {} (an assumed bound of {} per session plus {} per worker) and MemAvailable is {}; {}",
    units::count(*sessions),
    units::bytes(need(*library, *sessions) as f64),
    units::bytes(bytes_per_session(*library) as f64),
    units::bytes(WORKER_BASE_BYTES as f64),
    units::bytes(*available as f64),
    match largest_fitting(*library, *available) {
        Some(n) => format!("the largest N that fits is {}", units::count(n)),
        None => "no N fits".to_string(),
    }
)]
pub struct MemoryError {
    pub sessions: u64,
    pub library: TlsLibrary,
    pub available: u64,
}

/// Refuses `sessions` × `libraries` when the largest point of the costliest library needs
/// more than `available` bytes. `None` (no `/proc/meminfo`) checks nothing.
pub fn check(
    sessions: &[u64],
    libraries: &[TlsLibrary],
    available: Option<u64>,
) -> Result<(), MemoryError> {
    let (Some(available), Some(&largest_n), Some(&library)) = (
        available,
        sessions.iter().max(),
        libraries.iter().max_by_key(|&&l| bytes_per_session(l)),
    ) else {
        return Ok(());
    };
    if need(library, largest_n) <= available {
        return Ok(());
    }
    Err(MemoryError {
        sessions: largest_n,
        library,
        available,
    })
}

/// `MemAvailable` now, in bytes; `None` where `/proc/meminfo` is missing or has no such line.
pub fn mem_available() -> Option<u64> {
    mem_available_in(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn mem_available_in(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn the_largest_n_is_even_leaves_room_for_the_worker_and_fits() {
        for library in TlsLibrary::ALL.iter().copied() {
            let per = bytes_per_session(library);
            // Room for exactly 1,001 sessions: the answer is the even 1,000.
            let available = WORKER_BASE_BYTES + 1_001 * per;
            assert_eq!(
                largest_fitting(library, available),
                Some(1_000),
                "{library}"
            );
            assert!(need(library, 1_000) <= available);
            assert!(need(library, 1_002) > available);
            // Not the worker's own cost: nothing fits; one pair just does.
            assert_eq!(largest_fitting(library, WORKER_BASE_BYTES - 1), None);
            assert_eq!(largest_fitting(library, WORKER_BASE_BYTES + per), None);
            assert_eq!(
                largest_fitting(library, WORKER_BASE_BYTES + 2 * per),
                Some(2)
            );
        }
    }

    #[test]
    fn the_costliest_library_and_the_largest_point_decide() {
        let both = [TlsLibrary::Rustls, TlsLibrary::Openssl];
        let available = 16 * GIB;
        let e = check(&[100, 100_000_000], &both, Some(available)).unwrap_err();
        assert_eq!((e.sessions, e.library), (100_000_000, TlsLibrary::Openssl));
        let largest = largest_fitting(TlsLibrary::Openssl, available).unwrap();
        assert!(e.to_string().contains(&format!(
            "the largest N that fits is {}",
            units::count(largest)
        )));
        // That N passes, one pair more does not; rustls alone fits more.
        assert!(check(&[100, largest], &both, Some(available)).is_ok());
        assert!(check(&[100, largest + 2], &both, Some(available)).is_err());
        assert!(check(&[100, largest + 2], &both[..1], Some(available)).is_ok());
        // Unknown memory checks nothing; a huge N cannot overflow the arithmetic.
        assert!(check(&[100, 100_000_000], &both, None).is_ok());
        assert!(check(&[2, u64::MAX], &both, Some(available)).is_err());
    }

    #[test]
    fn mem_available_is_read_in_kib() {
        let meminfo = "MemTotal:       24684544 kB\nMemFree:        21494836 kB\nMemAvailable:   23532704 kB\n";
        assert_eq!(mem_available_in(meminfo), Some(23_532_704 * 1024));
        assert_eq!(mem_available_in("MemTotal: 1 kB\n"), None);
    }
}
