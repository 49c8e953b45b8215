//! The published per-session tables, quoted: peak RSS (KiB, GNU `time -f %M`) over N sessions.

use crate::vocab::tls::TlsLibrary::{self, Openssl, Rustls};
use crate::vocab::tls::TlsVersion::{self, V12, V13};

/// One published column: a library at a TLS version over N.
pub struct Published {
    pub source: &'static str,
    pub year: u16,
    pub library: TlsLibrary,
    pub build: &'static str,
    pub tls: TlsVersion,
    /// The N of the table, ascending, and the peak RSS (KiB) at each.
    pub sessions: &'static [u64],
    pub kib: &'static [u64],
    /// The two N the slope is taken between when not the whole table, with the source's own
    /// words for leaving the rest out; `None`: the whole table.
    pub source_span: Option<((u64, u64), &'static str)>,
    /// The per-session figure the source's text states, if any, in its words ("~13KiB"): the
    /// table's peak RSS ÷ N at its largest N (the test holds the quote against the table).
    pub stated: Option<&'static str>,
}

/// Why every 2024 slope leaves N = 100 out; the OpenSSL rows take the rustls rows' span so both
/// compare over one.
const ADOLFO_SMALL_N: &str = "N = 100 left out of every 2024 row: at small N the source notes \"jemalloc reserving more memory than strictly necessary\" (its rustls build)";

/// A 2019 column (jbp.io): TLS 1.2, its slope over the whole table.
const fn jbp(library: TlsLibrary, build: &'static str, kib: &'static [u64]) -> Published {
    Published {
        source: "jbp.io 2019-07-02",
        year: 2019,
        library,
        build,
        tls: TlsVersion::V12,
        sessions: &[100, 1000, 5000],
        kib,
        source_span: None,
        stated: None,
    }
}

/// A 2024 column (rustls-bench-results), its slope over N 1,000→10,000.
const fn adolfo(
    library: TlsLibrary,
    tls: TlsVersion,
    kib: &'static [u64],
    stated: Option<&'static str>,
) -> Published {
    Published {
        source: "aochagavia/rustls-bench-results 2024",
        year: 2024,
        library,
        build: match library {
            Rustls => "rustls 0.22.0, aws-lc-rs, jemalloc",
            Openssl => "OpenSSL 3.2.0",
        },
        tls,
        sessions: &[100, 1000, 5000, 10000],
        kib,
        source_span: Some(((1000, 10000), ADOLFO_SMALL_N)),
        stated,
    }
}

/// Every column quoted.
pub const PUBLISHED: &[Published] = &[
    jbp(Rustls, "rustls 6a47cd5c (ring)", &[6140, 29836, 135984]),
    jbp(Openssl, "OpenSSL fdbb3a86", &[13452, 73668, 341604]),
    adolfo(Rustls, V12, &[11540, 21044, 57124, 104932], None),
    adolfo(Openssl, V12, &[15860, 83300, 382476, 756380], None),
    adolfo(Rustls, V13, &[11536, 21792, 70728, 131816], Some("~13KiB")),
    adolfo(
        Openssl,
        V13,
        &[15544, 76712, 348640, 688436],
        Some("~69KiB"),
    ),
];

impl Published {
    /// The N the slope is taken between: the source's own span, else its whole table.
    pub fn span_n(&self) -> (u64, u64) {
        let whole = (self.sessions[0], self.largest_n());
        self.source_span.map_or(whole, |(sp, _)| sp)
    }

    pub fn largest_n(&self) -> u64 {
        self.sessions[self.sessions.len() - 1]
    }

    pub fn points_bytes(&self) -> Vec<(u64, f64)> {
        let kib = self.kib.iter().map(|&k| k as f64 * 1024.0);
        self.sessions.iter().copied().zip(kib).collect()
    }

    /// Peak RSS ÷ N at `n`, bytes (derived, fixed costs included).
    pub fn rss_per_n(&self, n: u64) -> Option<f64> {
        let (_, bytes) = self.points_bytes().into_iter().find(|p| p.0 == n)?;
        Some(bytes / n as f64)
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
            let Some(quote) = p.stated else {
                continue;
            };
            let number: f64 = quote
                .trim_start_matches('~')
                .trim_end_matches("KiB")
                .parse()
                .unwrap();
            let kib = p.rss_per_n(p.largest_n()).unwrap() / 1024.0;
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
