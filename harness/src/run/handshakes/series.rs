//! Slopes per session from the readings of one series, every process's fixed cost cancelled.

use crate::contract::lockstep::{self, LockstepReading, LockstepSeries};

/// Bytes per session between two readings; `None` if either figure is missing or the two
/// have the same N.
fn slope(
    a: &LockstepReading,
    b: &LockstepReading,
    f: impl Fn(&LockstepReading) -> Option<u64>,
) -> Option<f64> {
    lockstep::slope(
        (a.point.sessions, f(a)? as f64),
        (b.point.sessions, f(b)? as f64),
    )
}

/// The series of `readings` (all of one library, version, key exchange and config sharing),
/// or `None` for fewer than two distinct N.
pub fn series(readings: &[LockstepReading]) -> Option<LockstepSeries> {
    let mut sorted: Vec<&LockstepReading> = readings.iter().collect();
    sorted.sort_by_key(|r| r.point.sessions);
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    if first.point.sessions == last.point.sessions {
        return None;
    }
    let per_connection = |bytes: Option<u64>| {
        let pairs = last.point.pairs();
        bytes.filter(|_| pairs > 0).map(|b| b as f64 / pairs as f64)
    };
    Some(LockstepSeries {
        library: last.point.library,
        tls: last.point.tls,
        kx: last.point.kx,
        config: last.point.config,
        release_buffers: last.point.release_buffers,
        from_sessions: first.point.sessions,
        to_sessions: last.point.sessions,
        peak_rss_slope: slope(first, last, |r| r.peak_rss_bytes),
        peak_rss_per_session: last
            .peak_rss_bytes
            .map(|b| b as f64 / last.point.sessions as f64),
        malloc_peak_slope: slope(first, last, |r| r.malloc_peak_bytes),
        heap_peak_slope: slope(first, last, |r| r.heap_peak_bytes),
        heap_at_rest_slope: slope(first, last, |r| r.heap_at_rest_bytes),
        malloc_at_rest_slope: slope(first, last, |r| r.malloc_at_rest_bytes),
        malloc_free_at_rest_slope: slope(first, last, |r| r.malloc_free_at_rest_bytes),
        client_bytes_per_connection: per_connection(last.client_bytes),
        server_bytes_per_connection: per_connection(last.server_bytes),
        peak_rss_steps: sorted
            .windows(2)
            .map(|w| slope(w[0], w[1], |r| r.peak_rss_bytes))
            .collect(),
        sessions: sorted.iter().map(|r| r.point.sessions).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::lockstep::LockstepPoint;
    use crate::vocab::tls::{ConfigSharing, KxChoice, TlsLibrary, TlsVersion};

    fn reading(sessions: u64, rss: u64, heap: Option<u64>, client: u64) -> LockstepReading {
        LockstepReading {
            point: LockstepPoint {
                library: TlsLibrary::Rustls,
                tls: TlsVersion::V13,
                kx: KxChoice::Default,
                config: ConfigSharing::Shared,
                release_buffers: false,
                sessions,
                certs_dir: "certs".into(),
            },
            handshakes_completed: sessions / 2,
            rounds: 2,
            peak_rss_bytes: Some(rss),
            rss_at_rest_bytes: Some(rss),
            heap_before_bytes: Some(1000),
            heap_peak_bytes: heap,
            heap_at_rest_bytes: heap,
            malloc_before_bytes: None,
            malloc_peak_bytes: None,
            malloc_at_rest_bytes: None,
            malloc_free_at_rest_bytes: None,
            server_bytes: Some(client),
            client_bytes: Some(client),
        }
    }

    #[test]
    fn slopes_come_from_the_end_points_in_order_of_n_and_cancel_the_baseline() {
        // Not on one line: the end-point slope (100 → 10,000: 99 MB ÷ 9,900 = 10,000 B) differs
        // from either step (22,222 B, 8,778 B) and from a least-squares fit (about 9,100 B).
        let a = reading(100, 10_000_000, Some(2_000), 50);
        let b = reading(1000, 30_000_000, Some(50_000), 500);
        let c = reading(10_000, 109_000_000, Some(200_000), 5_000);
        // Given out of order: the slope is still first → last by N.
        let s = series(&[c, a, b]).unwrap();
        assert_eq!((s.from_sessions, s.to_sessions), (100, 10_000));
        assert_eq!(s.sessions, vec![100, 1000, 10_000]);
        assert_eq!(s.peak_rss_slope, Some(10_000.0));
        let steps: Vec<f64> = s
            .peak_rss_steps
            .iter()
            .map(|x| x.unwrap().round())
            .collect();
        assert_eq!(steps, vec![22_222.0, 8_778.0]);
        assert_eq!(s.heap_at_rest_slope, Some(20.0));
        // Per connection: a side's bytes ÷ pairs (5,000 pairs at N = 10,000).
        assert_eq!(s.client_bytes_per_connection, Some(1.0));
        // The published quick ratio keeps the baseline in.
        assert_eq!(s.peak_rss_per_session, Some(10_900.0));
        // Unmeasured stays unmeasured, never 0.
        assert_eq!(s.malloc_peak_slope, None);
    }

    #[test]
    fn a_missing_figure_at_either_end_gives_no_slope_and_one_n_gives_no_series() {
        let a = reading(100, 1, None, 1);
        let b = reading(1000, 2, Some(5), 1);
        assert_eq!(series(&[a.clone(), b]).unwrap().heap_at_rest_slope, None);
        assert!(series(std::slice::from_ref(&a)).is_none());
        assert!(series(&[a.clone(), a]).is_none());
    }
}
