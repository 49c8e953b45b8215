//! The per-mode figures a reader sees: how one is declared and rendered into a [`Cell`].

mod list;
pub use list::*;

use crate::contract::breakdown::Share;
use crate::contract::summary::ModeSummary;
use crate::vocab::owner::Owner;
use crate::vocab::units;

/// How a figure's numbers read: one of [`units`]' formats.
pub type Format = fn(f64) -> String;

/// An exact count: `60,000`.
pub fn count(v: f64) -> String {
    units::count(v.max(0.0).round() as u64)
}

/// Where a figure's value comes from.
#[derive(Clone, Copy)]
pub enum Get {
    /// One or more numbers in one unit, shown `a / b / c`; `None` is not measured.
    Numbers(Format, Numbers),
    /// Words (`None`: nothing to say).
    Text(fn(&ModeSummary) -> Option<String>),
}

/// Where a figure comes from: the three kinds a reader must tell apart, ordered from the
/// strongest claim to the weakest (a derived figure rests on measured ones, a model on both),
/// so the `max` of a statement's kinds is what it can claim as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Provenance {
    /// Read off the run: a count, a sample, the bytes an allocator saw freed.
    Measured,
    /// Arithmetic on measured figures only (a total ÷ a count).
    Derived,
    /// A model fed with measured figures and settings: R·b·T, or measured growth extrapolated
    /// past the run.
    Model,
}

impl Provenance {
    /// Every kind, in the legend's order.
    pub const ALL: [Provenance; 3] = [Self::Measured, Self::Derived, Self::Model];

    /// Per kind, in [`Provenance::ALL`]'s order: its mark (one character, so it costs a column,
    /// not a sentence), its word (the page's tooltip on the mark), its meaning in the legend.
    const TEXT: [[&'static str; 3]; 3] = [
        ["●", "measured", "measured"],
        ["◐", "derived", "derived from measured figures"],
        [
            "○",
            "model",
            "model (R·b·T = rate × retention × b; extrapolation)",
        ],
    ];

    pub fn mark(self) -> &'static str {
        Self::TEXT[self as usize][0]
    }

    pub fn word(self) -> &'static str {
        Self::TEXT[self as usize][1]
    }

    pub fn meaning(self) -> &'static str {
        Self::TEXT[self as usize][2]
    }
}

/// One row of the per-mode tables, with everything the views need to know about it; the views
/// name it by its `const`, so a figure that does not exist does not compile.
#[derive(Clone, Copy)]
pub struct Figure {
    pub label: &'static str,
    pub get: Get,
    /// How each part of a [`Get::Numbers`] value is obtained, one kind per part (empty for
    /// words): the marks of the brief view and the headline.
    pub provenance: &'static [Provenance],
    /// It describes one session, request or build: in a leg whose `per_session_unsound` is
    /// set, the table and the page mark it with [`UNSOUND_MARK`].
    pub per_session: bool,
}

type Numbers = fn(&ModeSummary) -> Vec<Option<f64>>;

const fn numbers(
    label: &'static str,
    unit: Format,
    provenance: &'static [Provenance],
    get: Numbers,
) -> Figure {
    Figure {
        label,
        get: Get::Numbers(unit, get),
        provenance,
        per_session: false,
    }
}

const fn per_session(
    label: &'static str,
    unit: Format,
    provenance: &'static [Provenance],
    get: Numbers,
) -> Figure {
    Figure {
        per_session: true,
        ..numbers(label, unit, provenance, get)
    }
}

const fn words(label: &'static str, get: fn(&ModeSummary) -> Option<String>) -> Figure {
    Figure {
        label,
        get: Get::Text(get),
        provenance: &[],
        per_session: false,
    }
}

/// A rendered cell: each part formatted, `None` where not measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Parts(Vec<Option<String>>),
    Text(Option<String>),
}

/// What follows a per-session figure from a leg whose per-session figures are not sound.
pub const UNSOUND_MARK: &str = "!";

/// Why a leg's per-session cells carry [`UNSOUND_MARK`], said under the table in every view.
pub fn unsound_note(m: &ModeSummary) -> Option<String> {
    let why = m.per_session_unsound.as_ref()?;
    Some(format!(
        "per-session figures marked {UNSOUND_MARK} are not sound: {why}"
    ))
}

impl Figure {
    /// Whether this figure's cell for `m` carries [`UNSOUND_MARK`]: a per-session figure of a
    /// leg marked `per_session_unsound`, when the leg measured it (`n/a` needs no mark).
    pub fn marked(&self, m: &ModeSummary) -> bool {
        self.per_session
            && m.per_session_unsound.is_some()
            && !matches!(self.cell(m), Cell::Parts(p) if p.iter().all(Option::is_none))
    }

    pub fn cell(&self, m: &ModeSummary) -> Cell {
        match self.get {
            Get::Numbers(unit, f) => Cell::Parts(f(m).into_iter().map(|v| v.map(unit)).collect()),
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

/// One of the `--breakdown` tables: a figure by owner (rows), one column per mode.
pub struct OwnerTable {
    pub title: &'static str,
    /// Per owner (in [`Owner::ALL`] order, the remainder last), one cell per mode: the owner's
    /// bytes and share, `–` where that mode's breakdown does not list it.
    pub rows: Vec<(&'static str, Vec<String>)>,
}

/// A breakdown a reader sees: the measured figure it splits by owner, as the `--breakdown`
/// tables and `breakdown.svg` both name it.
pub struct OwnerFigure {
    pub title: &'static str,
    /// The chart panel's caption and value axis.
    pub caption: &'static str,
    pub axis: &'static str,
    pub shares: fn(&ModeSummary) -> Option<&Vec<Share>>,
    /// The measured figure the shares are of.
    pub measured: fn(&ModeSummary) -> Option<f64>,
}

/// The breakdowns a reader sees, listed once, in the order the tables and the chart show them.
pub const OWNER_FIGURES: [OwnerFigure; 2] = [
    OwnerFigure {
        title: "b by owner (bytes retained per session)",
        caption: "Bytes retained per session (b), by owner",
        axis: "bytes / session",
        shares: |m| m.retained_breakdown.as_ref(),
        measured: |m| m.retained_bytes_per_session,
    },
    OwnerFigure {
        title: "bytes allocated per request, by owner",
        caption: "Heap bytes allocated per request, by owner",
        axis: "bytes / request",
        shares: |m| m.request_breakdown.as_ref(),
        measured: |m| m.client_alloc_bytes_per_request,
    },
];

/// The tables of [`OWNER_FIGURES`] that some mode has (none without `--breakdown`). A cell
/// reads `16.1 KiB (87.3 %)`; the shares are of the measured figure, so the column adds up to
/// it, the remainder included.
pub fn owner_tables(modes: &[ModeSummary]) -> Vec<OwnerTable> {
    OWNER_FIGURES
        .iter()
        .filter(|f| modes.iter().any(|m| (f.shares)(m).is_some()))
        .map(|f| OwnerTable {
            title: f.title,
            rows: Owner::ALL
                .iter()
                .filter_map(|&owner| {
                    let cells: Vec<Option<String>> = modes
                        .iter()
                        .map(|m| {
                            (f.shares)(m)?.iter().find(|s| s.owner == owner).map(|s| {
                                format!("{} ({})", units::bytes(s.bytes), units::percent(s.share))
                            })
                        })
                        .collect();
                    let listed = cells.iter().any(Option::is_some);
                    let cells = cells.into_iter().map(|c| c.unwrap_or("–".into()));
                    listed.then(|| (owner.as_str(), cells.collect()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_parts_read_not_measured() {
        let c = Cell::Parts(vec![Some("1".into()), None]);
        assert_eq!(c.plain(), "1 / n/a");
        assert_eq!(Cell::Parts(vec![None, None]).plain(), "n/a");
    }
}
