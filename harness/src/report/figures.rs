//! The per-mode figures a reader sees, listed once: label, unit and where the value lives in
//! [`ModeSummary`]. The terminal table ([`crate::report::table`]) and the HTML page
//! ([`crate::report`]) both render this list through [`crate::vocab::units`], so a figure added
//! here appears in both, formatted the same way (ARCHITECTURE.md, "Figures").

use crate::contract::breakdown::Share;
use crate::contract::summary::{ModeSummary, ServerSummary};
use crate::vocab::owner::Owner;
use crate::vocab::units;

/// How a figure's numbers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// An exact count: `60,000`.
    Count,
    /// Bytes in binary units: `17.9 KiB`.
    Bytes,
    /// Microseconds, scaled: `850 µs`, `1.2 ms`.
    Micros,
    /// Seconds: `2.5 s`.
    Seconds,
    /// Requests per second: `100 req/s`.
    Rate,
    /// A share shown as a percentage: `1.23 %`.
    Percent,
    /// A plain number, three significant digits: `199`, `1.01`.
    Number,
}

impl Unit {
    /// The value in this unit.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Count => units::count(v.max(0.0).round() as u64),
            Unit::Bytes => units::bytes(v),
            Unit::Micros => units::micros(v),
            Unit::Seconds => units::seconds(v),
            Unit::Rate => units::rate(v),
            Unit::Percent => units::percent(v),
            Unit::Number => units::sig3(v),
        }
    }
}

/// Where a figure's value comes from.
#[derive(Clone, Copy)]
pub enum Get {
    /// One or more numbers in one unit, shown `a / b / c`; `None` is not measured.
    Numbers(Unit, fn(&ModeSummary) -> Vec<Option<f64>>),
    /// Words (`None`: nothing to say).
    Text(fn(&ModeSummary) -> Option<String>),
}

/// One row of the per-mode tables.
#[derive(Clone, Copy)]
pub struct Figure {
    pub label: &'static str,
    pub get: Get,
}

/// A rendered cell: each part formatted, `None` where not measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Parts(Vec<Option<String>>),
    Text(Option<String>),
}

/// The figures that describe one session, request or build (b and its cross-check, the
/// plateau, bytes and allocations per request and per build, build times, latency): in a leg
/// whose `per_session_unsound` is set, the table and the page mark them with [`UNSOUND_MARK`].
/// Listed by label (each label is one figure, `labels_are_distinct`).
pub const PER_SESSION: &[&str] = &[
    "bytes allocated / request",
    "  of which OpenSSL / request",
    "allocations / request",
    "build CPU p50 / p99",
    "build wall time p50 / p99",
    "bytes allocated / build",
    "  of which OpenSSL / build",
    "retained bytes / session (b)",
    "b cross-check: heap slope",
    "plateau: model R·b·T / measured",
    "plateau: measured ÷ model",
    "latency p50 / p99 / max",
];

/// What follows a per-session figure from a leg whose per-session figures are not sound.
pub const UNSOUND_MARK: &str = "!";

impl Figure {
    /// Whether this figure is one of [`PER_SESSION`].
    pub fn per_session(&self) -> bool {
        PER_SESSION.contains(&self.label)
    }

    /// Whether this figure's cell for `m` carries [`UNSOUND_MARK`]: a per-session figure of a
    /// leg marked `per_session_unsound`, when the leg measured it (`n/a` needs no mark).
    pub fn marked(&self, m: &ModeSummary) -> bool {
        self.per_session()
            && m.per_session_unsound.is_some()
            && !matches!(self.cell(m), Cell::Parts(p) if p.iter().all(Option::is_none))
    }

    /// This figure for one mode.
    pub fn cell(&self, m: &ModeSummary) -> Cell {
        match self.get {
            Get::Numbers(unit, f) => Cell::Parts(
                f(m).into_iter()
                    .map(|v| v.map(|v| unit.format(v)))
                    .collect(),
            ),
            Get::Text(f) => Cell::Text(f(m)),
        }
    }
}

impl Cell {
    /// The cell as plain text: parts joined by ` / `, [`units::NOT_MEASURED`] for each part
    /// not measured (once, when none was).
    pub fn plain(&self) -> String {
        self.render(|| units::NOT_MEASURED.to_string(), str::to_string)
    }

    /// The one layout rule of a cell, for any output: `text` writes a value, `unmeasured`
    /// writes a part that was not measured (once for the cell when no part was).
    pub fn render(&self, unmeasured: impl Fn() -> String, text: impl Fn(&str) -> String) -> String {
        match self {
            Cell::Parts(parts) if parts.iter().all(Option::is_none) => unmeasured(),
            Cell::Parts(parts) => parts
                .iter()
                .map(|p| p.as_deref().map_or_else(&unmeasured, &text))
                .collect::<Vec<_>>()
                .join(" / "),
            Cell::Text(t) => t.as_deref().map_or_else(|| "–".to_string(), &text),
        }
    }
}

fn n(v: u64) -> Option<f64> {
    Some(v as f64)
}

fn o(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

fn srv(m: &ModeSummary, f: fn(&ServerSummary) -> Option<u64>) -> Option<f64> {
    o(m.server.as_ref().and_then(f))
}

/// One of the `--breakdown` tables: a figure by owner (rows), one column per mode.
pub struct OwnerTable {
    pub title: &'static str,
    /// Per owner (in [`Owner::ALL`] order, the remainder last), one cell per mode: the owner's
    /// bytes and share, `None` where that mode's breakdown does not list it.
    pub rows: Vec<(Owner, Vec<Option<String>>)>,
}

/// Where a breakdown lives in [`ModeSummary`].
pub type GetShares = fn(&ModeSummary) -> Option<&Vec<Share>>;

/// The breakdowns a reader sees, listed once: title and where each lives in [`ModeSummary`].
pub const OWNER_FIGURES: [(&str, GetShares); 2] = [
    ("b by owner (bytes retained per session)", |m| {
        m.retained_breakdown.as_ref()
    }),
    ("bytes allocated per request, by owner", |m| {
        m.request_breakdown.as_ref()
    }),
];

/// The tables of [`OWNER_FIGURES`] that some mode has (none without `--breakdown`). A cell
/// reads `16.1 KiB (87.3 %)`; the shares are of the measured figure, so the column adds up to
/// it, the remainder included.
pub fn owner_tables(modes: &[ModeSummary]) -> Vec<OwnerTable> {
    OWNER_FIGURES
        .iter()
        .filter(|(_, get)| modes.iter().any(|m| get(m).is_some()))
        .map(|(title, get)| OwnerTable {
            title,
            rows: Owner::ALL
                .iter()
                .filter_map(|&owner| {
                    let cells: Vec<Option<String>> = modes
                        .iter()
                        .map(|m| {
                            get(m)?.iter().find(|s| s.owner == owner).map(|s| {
                                format!("{} ({})", units::bytes(s.bytes), units::percent(s.share))
                            })
                        })
                        .collect();
                    cells.iter().any(Option::is_some).then_some((owner, cells))
                })
                .collect(),
        })
        .collect()
}

/// `--breakdown`, leak: the held-connection probe's figures ([`crate::measure::held`]) in one line, as
/// the terminal and the page show them under the owner tables.
pub fn held_line(m: &ModeSummary) -> Option<String> {
    let h = m.held_connection.as_ref()?;
    let b = |v: Option<f64>| units::opt(v, units::bytes);
    Some(format!(
        "one idle held connection, client / server: TLS {} / {}, plain TCP {} / {}, TLS − TCP {} / {} (measured: each side's thread heap with {} connections held, ÷ {}; configs shared and not counted; aws-lc's C allocations and kernel socket buffers are not heap the allocator sees)",
        b(h.tls_client_bytes),
        b(h.tls_server_bytes),
        b(h.tcp_client_bytes),
        b(h.tcp_server_bytes),
        b(h.tls_minus_tcp_client()),
        b(h.tls_minus_tcp_server()),
        h.connections,
        h.connections,
    ))
}

/// Every per-mode figure, in the order the tables show them.
pub const MODE_FIGURES: &[Figure] = &[
    Figure {
        label: "client / roots",
        get: Get::Text(|m| Some(format!("{} / {}", m.client, m.roots))),
    },
    Figure {
        label: "requests ok / failed",
        get: Get::Numbers(Unit::Count, |m| {
            vec![n(m.load.requests_ok), n(m.load.requests_failed)]
        }),
    },
    Figure {
        label: "requests planned / started",
        get: Get::Numbers(Unit::Count, |m| {
            vec![n(m.load.requests_planned), n(m.load.requests_started)]
        }),
    },
    Figure {
        label: "achieved rate",
        get: Get::Numbers(Unit::Rate, |m| vec![Some(m.achieved_rps)]),
    },
    Figure {
        label: "late starts (≥2 ms or no slot)",
        get: Get::Numbers(Unit::Count, |m| vec![o(m.load.late_starts)]),
    },
    Figure {
        label: "start lag p50 / p99",
        get: Get::Numbers(Unit::Micros, |m| {
            let l = m.load.start_lag_us;
            vec![l.map(|l| l.p50 as f64), l.map(|l| l.p99 as f64)]
        }),
    },
    Figure {
        label: "handshakes full / resumed / reused conn",
        get: Get::Numbers(Unit::Count, |m| {
            vec![
                o(m.load.handshakes_full),
                o(m.load.handshakes_resumed),
                o(m.load.requests_on_reused_connection),
            ]
        }),
    },
    Figure {
        label: "connections opened / peak open",
        get: Get::Numbers(Unit::Count, |m| {
            vec![o(m.load.connections_opened), o(m.open_connections_peak)]
        }),
    },
    Figure {
        label: "bytes allocated / request",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.client_alloc_bytes_per_request]),
    },
    Figure {
        label: "  of which OpenSSL / request",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.openssl_alloc_bytes_per_request]),
    },
    Figure {
        label: "allocations / request",
        get: Get::Numbers(Unit::Number, |m| vec![m.client_allocs_per_request]),
    },
    Figure {
        label: "session builds",
        get: Get::Numbers(Unit::Count, |m| vec![n(m.load.client_builds)]),
    },
    Figure {
        label: "build CPU p50 / p99",
        get: Get::Numbers(Unit::Micros, |m| {
            let b = m.load.client_build_cpu_us;
            vec![b.map(|b| b.p50 as f64), b.map(|b| b.p99 as f64)]
        }),
    },
    Figure {
        label: "build wall time p50 / p99",
        get: Get::Numbers(Unit::Micros, |m| {
            let b = m.load.client_build_us;
            vec![b.map(|b| b.p50 as f64), b.map(|b| b.p99 as f64)]
        }),
    },
    Figure {
        label: "building: share of one core (CPU)",
        get: Get::Numbers(Unit::Percent, |m| vec![m.client_build_core_share]),
    },
    Figure {
        label: "bytes allocated / build",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.client_build_alloc_bytes]),
    },
    Figure {
        label: "  of which OpenSSL / build",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.openssl_build_alloc_bytes]),
    },
    Figure {
        label: "building at the rate: cores needed / available",
        get: Get::Numbers(Unit::Number, |m| {
            vec![m.build_cores_needed, o(m.load.cores_available)]
        }),
    },
    Figure {
        label: "rate bound",
        get: Get::Text(|m| m.rate_bound.clone()),
    },
    Figure {
        label: "retained bytes / session (b)",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.retained_bytes_per_session]),
    },
    Figure {
        label: "b cross-check: heap slope",
        get: Get::Numbers(Unit::Bytes, |m| vec![m.retained_bytes_slope]),
    },
    Figure {
        label: "retained sessions peak",
        get: Get::Numbers(Unit::Count, |m| vec![o(m.retained_sessions_peak)]),
    },
    Figure {
        label: "plateau: model R·b·T / measured",
        get: Get::Numbers(Unit::Bytes, |m| {
            vec![m.model_plateau_bytes, m.measured_plateau_bytes]
        }),
    },
    Figure {
        label: "plateau: measured ÷ model",
        get: Get::Numbers(Unit::Number, |m| vec![m.plateau_ratio]),
    },
    Figure {
        label: "plateau reached at",
        get: Get::Numbers(Unit::Seconds, |m| vec![m.plateau_reached_s]),
    },
    Figure {
        label: "client heap start / peak / end",
        get: Get::Numbers(Unit::Bytes, |m| {
            vec![
                o(m.load.client_heap_start_bytes),
                o(m.client_heap_peak_bytes),
                o(m.load.client_heap_end_bytes),
            ]
        }),
    },
    Figure {
        label: "client RSS start / peak / end",
        get: Get::Numbers(Unit::Bytes, |m| {
            vec![
                o(m.load.client_rss_start_bytes),
                o(m.client_rss_peak_bytes),
                o(m.load.client_rss_end_bytes),
            ]
        }),
    },
    Figure {
        label: "open fds start / peak / end",
        get: Get::Numbers(Unit::Count, |m| {
            vec![
                o(m.load.open_fds_start),
                o(m.open_fds_peak),
                o(m.load.open_fds_end),
            ]
        }),
    },
    Figure {
        label: "latency p50 / p99 / max",
        get: Get::Numbers(Unit::Micros, |m| {
            let l = m.load.latency_us;
            vec![
                l.map(|l| l.p50 as f64),
                l.map(|l| l.p99 as f64),
                l.map(|l| l.max as f64),
            ]
        }),
    },
    Figure {
        label: "warm-up before the load",
        get: Get::Numbers(Unit::Micros, |m| vec![o(m.load.warmup_us)]),
    },
    Figure {
        label: "client CPU",
        get: Get::Numbers(Unit::Seconds, |m| vec![m.load.client_cpu_s]),
    },
    Figure {
        label: "sampler overhead",
        get: Get::Numbers(Unit::Percent, |m| vec![m.sampler_share]),
    },
    Figure {
        label: "server RSS peak / heap peak",
        get: Get::Numbers(Unit::Bytes, |m| {
            vec![srv(m, |s| s.rss_peak_bytes), srv(m, |s| s.heap_peak_bytes)]
        }),
    },
    Figure {
        label: "server session cache peak entries",
        get: Get::Numbers(Unit::Count, |m| {
            vec![srv(m, |s| s.session_cache_entries_peak)]
        }),
    },
    Figure {
        label: "server session cache peak bytes",
        get: Get::Numbers(Unit::Bytes, |m| {
            vec![srv(m, |s| s.session_cache_bytes_peak)]
        }),
    },
    Figure {
        label: "server handshakes full / resumed / failed",
        get: Get::Numbers(Unit::Count, |m| {
            vec![
                srv(m, |s| s.handshakes_full),
                srv(m, |s| s.handshakes_resumed),
                srv(m, |s| s.handshakes_failed),
            ]
        }),
    },
    Figure {
        label: "server connections total / peak open",
        get: Get::Numbers(Unit::Count, |m| {
            vec![
                srv(m, |s| s.connections_total),
                srv(m, |s| s.open_connections_peak),
            ]
        }),
    },
    Figure {
        label: "server accept errors",
        get: Get::Numbers(Unit::Count, |m| vec![srv(m, |s| s.accept_errors)]),
    },
    Figure {
        label: "server CPU",
        get: Get::Numbers(Unit::Seconds, |m| {
            vec![m.server.as_ref().and_then(|s| s.cpu_s)]
        }),
    },
    Figure {
        label: "worker lines not understood",
        get: Get::Numbers(Unit::Count, |m| vec![n(m.worker_lines_unparsed)]),
    },
    Figure {
        label: "failures by kind",
        get: Get::Text(|m| {
            (!m.load.failures_by_kind.is_empty()).then(|| {
                m.load
                    .failures_by_kind
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", units::count(*v)))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        }),
    },
    Figure {
        label: "stopped early",
        get: Get::Text(|m| m.load.stopped_early.clone()),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_parts_read_not_measured() {
        let c = Cell::Parts(vec![Some("1".into()), None]);
        assert_eq!(c.plain(), "1 / n/a");
        assert_eq!(Cell::Parts(vec![None, None]).plain(), "n/a");
    }

    #[test]
    fn every_per_session_label_is_a_figure() {
        for label in PER_SESSION {
            assert!(
                MODE_FIGURES.iter().any(|f| f.label == *label),
                "{label:?} is not a figure's label"
            );
        }
    }

    #[test]
    fn labels_are_distinct() {
        for (i, f) in MODE_FIGURES.iter().enumerate() {
            assert!(
                MODE_FIGURES[..i].iter().all(|g| g.label != f.label),
                "{} twice",
                f.label
            );
        }
    }
}
