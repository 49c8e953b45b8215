//! The published per-session tables, quoted: peak RSS (KiB, GNU `time -f %M`) of one process
//! holding N sessions (N/2 clients, N/2 servers) after lockstep handshakes. Quotations, not
//! measurements: the table labels every figure derived from them as such.

use crate::contract::lockstep::slope;
use crate::vocab::tls::{TlsLibrary, TlsVersion};

/// One published column: a library at a TLS version over N.
pub struct Published {
    pub source: &'static str,
    pub year: u16,
    pub library: TlsLibrary,
    /// The version string the source gives.
    pub build: &'static str,
    pub tls: TlsVersion,
    /// `(N, peak RSS KiB)`.
    pub points: &'static [(u64, u64)],
}

const JBP: &str = "jbp.io 2019-07-02";
const ADOLFO: &str = "aochagavia/rustls-bench-results 2024";

/// Every column quoted.
pub const PUBLISHED: &[Published] = &[
    Published {
        source: JBP,
        year: 2019,
        library: TlsLibrary::Rustls,
        build: "rustls 6a47cd5c (ring)",
        tls: TlsVersion::V12,
        points: &[(100, 6140), (1000, 29836), (5000, 135984)],
    },
    Published {
        source: JBP,
        year: 2019,
        library: TlsLibrary::Openssl,
        build: "OpenSSL fdbb3a86",
        tls: TlsVersion::V12,
        points: &[(100, 13452), (1000, 73668), (5000, 341604)],
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Rustls,
        build: "rustls 0.22.0, aws-lc-rs, jemalloc",
        tls: TlsVersion::V12,
        points: &[(100, 11540), (1000, 21044), (5000, 57124), (10000, 104932)],
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V12,
        points: &[(100, 15860), (1000, 83300), (5000, 382476), (10000, 756380)],
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Rustls,
        build: "rustls 0.22.0, aws-lc-rs, jemalloc",
        tls: TlsVersion::V13,
        points: &[(100, 11536), (1000, 21792), (5000, 70728), (10000, 131816)],
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V13,
        points: &[(100, 15544), (1000, 76712), (5000, 348640), (10000, 688436)],
    },
];

impl Published {
    /// Peak RSS slope per session between the smallest and largest N, bytes (derived).
    pub fn slope(&self) -> Option<f64> {
        let kib = |&(n, k): &(u64, u64)| (n, k as f64 * 1024.0);
        slope(kib(self.points.first()?), kib(self.points.last()?))
    }

    /// `N₀→N₁` of the slope.
    pub fn span(&self) -> String {
        match (self.points.first(), self.points.last()) {
            (Some(a), Some(b)) => format!("N {}→{}", a.0, b.0),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slopes_are_the_figures_the_sources_state() {
        // aochagavia: "a Rustls session costs ~13KiB and an OpenSSL session ~69KiB"; the
        // memorysafety.org post: 12.2 KB vs 68.0 KB per TLS 1.3 session.
        let kib = |lib, tls| {
            PUBLISHED
                .iter()
                .find(|p| p.source == ADOLFO && p.library == lib && p.tls == tls)
                .and_then(Published::slope)
                .unwrap()
                / 1024.0
        };
        assert!((kib(TlsLibrary::Rustls, TlsVersion::V13) - 12.15).abs() < 0.01);
        assert!((kib(TlsLibrary::Openssl, TlsVersion::V13) - 67.97).abs() < 0.01);
    }
}
