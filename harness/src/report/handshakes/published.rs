//! The published per-session tables, quoted: peak RSS (KiB, GNU `time -f %M`) over N sessions.

use crate::vocab::tls::{TlsLibrary, TlsVersion};

/// One published column: a library at a TLS version over N.
pub struct Published {
    pub source: &'static str,
    pub year: u16,
    pub library: TlsLibrary,
    pub build: &'static str,
    pub tls: TlsVersion,
    /// `(N, peak RSS KiB)`.
    pub points: &'static [(u64, u64)],
    /// The two N the slope is taken between when not the whole table, with the source's own
    /// words for leaving the rest out; `None`: the whole table.
    pub source_span: Option<((u64, u64), &'static str)>,
    /// The per-session figure the source's text states, if any, in its words ("~13KiB"), and
    /// the N whose peak RSS ÷ N it matches (the test holds the quote against the table).
    pub stated: Option<(&'static str, u64)>,
}

/// Why every 2024 slope leaves N = 100 out; the OpenSSL rows take the rustls rows' span so both
/// compare over one.
const ADOLFO_SMALL_N: &str = "N = 100 left out of every 2024 row: at small N the source notes \"jemalloc reserving more memory than strictly necessary\" (its rustls build)";

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
        source_span: Some(((1000, 10000), ADOLFO_SMALL_N)),
        stated: None,
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V12,
        points: &[(100, 15860), (1000, 83300), (5000, 382476), (10000, 756380)],
        source_span: Some(((1000, 10000), ADOLFO_SMALL_N)),
        stated: None,
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Rustls,
        build: "rustls 0.22.0, aws-lc-rs, jemalloc",
        tls: TlsVersion::V13,
        points: &[(100, 11536), (1000, 21792), (5000, 70728), (10000, 131816)],
        source_span: Some(((1000, 10000), ADOLFO_SMALL_N)),
        stated: Some(("~13KiB", 10000)),
    },
    Published {
        source: ADOLFO,
        year: 2024,
        library: TlsLibrary::Openssl,
        build: "OpenSSL 3.2.0",
        tls: TlsVersion::V13,
        points: &[(100, 15544), (1000, 76712), (5000, 348640), (10000, 688436)],
        source_span: Some(((1000, 10000), ADOLFO_SMALL_N)),
        stated: Some(("~69KiB", 10000)),
    },
];

impl Published {
    /// The N the slope is taken between: the source's own span, else its whole table.
    pub fn span_n(&self) -> (u64, u64) {
        let whole = (self.points[0].0, self.points[self.points.len() - 1].0);
        self.source_span.map_or(whole, |(sp, _)| sp)
    }

    pub fn points_bytes(&self) -> Vec<(u64, f64)> {
        self.points
            .iter()
            .map(|&(n, k)| (n, k as f64 * 1024.0))
            .collect()
    }

    /// Peak RSS ÷ N at `n`, bytes (derived, fixed costs included).
    pub fn rss_per_n(&self, n: u64) -> Option<f64> {
        let &(_, kib) = self.points.iter().find(|p| p.0 == n)?;
        Some(kib as f64 * 1024.0 / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stated_figure_is_the_tables_rss_per_n_where_it_says() {
        // The 2024 README: "At peak, a Rustls session costs ~13KiB and an OpenSSL session
        // costs ~69KiB"; its TLS 1.3 tables at N = 10,000 give 13.2 and 68.8 KiB.
        let mut checked = 0;
        for p in PUBLISHED {
            let Some((quote, at)) = p.stated else {
                continue;
            };
            let number: f64 = quote
                .trim_start_matches('~')
                .trim_end_matches("KiB")
                .parse()
                .unwrap();
            let kib = p.rss_per_n(at).unwrap() / 1024.0;
            assert_eq!(
                kib.round(),
                number,
                "{} {} TLS {}",
                p.source,
                p.library,
                p.tls
            );
            checked += 1;
        }
        assert_eq!(checked, 2);
    }

    #[test]
    fn the_2024_slopes_leave_out_only_the_small_n_the_source_warns_of() {
        let p = PUBLISHED
            .iter()
            .find(|p| p.year == 2024 && p.library == TlsLibrary::Rustls && p.tls == TlsVersion::V13)
            .unwrap();
        assert_eq!(p.span_n(), (1000, 10000));
        // (131,816 − 21,792) KiB ÷ 9,000.
        let slope = super::super::between(&p.points_bytes(), 1000, 10000).unwrap();
        assert_eq!(format!("{:.2}", slope / 1024.0), "12.22");
    }
}
