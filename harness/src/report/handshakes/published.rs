//! The published per-session tables, quoted: peak RSS (KiB, GNU `time -f %M`) of one process
//! holding N sessions (N/2 clients, N/2 servers) after lockstep handshakes. Quotations, not
//! measurements: the table labels every figure derived from them as such.

use crate::contract::lockstep::{slope, span};
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
    /// The two N the source's own per-session figure is taken between; `None` when the source
    /// states none, and then the slope spans its whole table.
    pub source_span: Option<(u64, u64)>,
    /// The per-session figure as the source states it ("KB" is `time -f %M`'s unit, KiB): the
    /// 2024 comparison's figures over N 1,000→10,000 of its table, as docs/openssl.md quotes
    /// them; the test holds each against the slope over `source_span`.
    pub stated: Option<&'static str>,
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
        source_span: None,
        stated: None,
    },
    Published {
        source: JBP,
        year: 2019,
        library: TlsLibrary::Openssl,
        build: "OpenSSL fdbb3a86",
        tls: TlsVersion::V12,
        points: &[(100, 13452), (1000, 73668), (5000, 341604)],
        source_span: None,
        stated: None,
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Rustls,
        build: "rustls 0.22.0, aws-lc-rs, jemalloc",
        tls: TlsVersion::V12,
        points: &[(100, 11540), (1000, 21044), (5000, 57124), (10000, 104932)],
        source_span: Some((1000, 10000)),
        stated: Some("9.3 KB"),
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V12,
        points: &[(100, 15860), (1000, 83300), (5000, 382476), (10000, 756380)],
        source_span: Some((1000, 10000)),
        stated: Some("74.8 KB"),
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Rustls,
        build: "rustls 0.22.0, aws-lc-rs, jemalloc",
        tls: TlsVersion::V13,
        points: &[(100, 11536), (1000, 21792), (5000, 70728), (10000, 131816)],
        source_span: Some((1000, 10000)),
        stated: Some("12.2 KB"),
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V13,
        points: &[(100, 15544), (1000, 76712), (5000, 348640), (10000, 688436)],
        source_span: Some((1000, 10000)),
        stated: Some("68.0 KB"),
    },
];

impl Published {
    /// The N the slope is taken between: the source's own span, else its whole table.
    pub fn span_n(&self) -> Option<(u64, u64)> {
        self.source_span
            .or_else(|| Some((self.points.first()?.0, self.points.last()?.0)))
    }

    /// `(N, bytes)` of every point, ascending.
    pub fn points_bytes(&self) -> Vec<(u64, f64)> {
        self.points
            .iter()
            .map(|&(n, k)| (n, k as f64 * 1024.0))
            .collect()
    }

    /// Peak RSS slope per session over [`Self::span_n`], bytes (derived).
    pub fn slope(&self) -> Option<f64> {
        let (a, b) = self.span_n()?;
        let at = |n: u64| self.points_bytes().into_iter().find(|p| p.0 == n);
        slope(at(a)?, at(b)?)
    }

    /// The slope's span, as every slope names it.
    pub fn span(&self) -> String {
        self.span_n().map_or_else(String::new, |(a, b)| span(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slopes_are_the_figures_the_sources_state() {
        // Each stated figure ("12.2 KB") against the slope over the source's span, to the
        // stated figure's own precision: over N 100→10,000 rustls TLS 1.3 reads 12.1.
        let mut checked = 0;
        for p in PUBLISHED {
            let Some(stated) = p.stated else { continue };
            let number = stated.trim_end_matches(" KB");
            let decimals = number.split('.').nth(1).map_or(0, str::len);
            let kib = p.slope().unwrap() / 1024.0;
            assert_eq!(
                format!("{kib:.decimals$}"),
                number,
                "{} {} TLS {} over {}",
                p.source,
                p.library,
                p.tls,
                p.span()
            );
            checked += 1;
        }
        assert_eq!(checked, 4);
    }
}
