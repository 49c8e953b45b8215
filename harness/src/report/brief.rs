//! The brief view: the headline, then a short grouped table of the figures a reader checks next.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{self as fig, Cell, Figure, Get, Provenance, UNSOUND_MARK};
use crate::report::grid::{grid, leg_labels, widest};
use crate::report::headline;

/// The headings of the brief table's groups, in order.
const LOAD: &str = "load";
const SESSIONS: &str = "sessions";
const MEMORY: &str = "memory";
const SOCKETS: &str = "sockets";
const SERVER: &str = "server";

/// One row of the brief table.
pub struct Brief {
    /// The group's heading.
    pub group: &'static str,
    pub figure: &'static Figure,
    /// The brief label.
    pub label: &'static str,
    /// Which parts of the figure's value, by index (empty: all of them).
    pub parts: &'static [usize],
    /// When the row is shown.
    pub show: Show,
}

/// When a brief row is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// When a leg measured it.
    Measured,
    /// When a leg's value is above zero: a count whose zero says nothing worth a line (failed
    /// handshakes), and whose non-zero value must not be left to `--detail`.
    NonZero,
}

const fn b(
    group: &'static str,
    figure: &'static Figure,
    label: &'static str,
    parts: &'static [usize],
) -> Brief {
    Brief {
        group,
        figure,
        label,
        parts,
        show: Show::Measured,
    }
}

/// A row of every part of `figure`, under the figure's own label.
const fn whole(group: &'static str, figure: &'static Figure) -> Brief {
    b(group, figure, figure.label, &[])
}

/// The brief table's rows, in order, each short enough that four legs fit 120 columns.
pub const BRIEF: &[Brief] = &[
    whole(LOAD, &fig::REQUESTS_OK_FAILED),
    whole(LOAD, &fig::ACHIEVED_RATE),
    b(LOAD, &fig::LATE_STARTS, "late starts", &[]),
    b(LOAD, &fig::LATENCY, "latency p50 / p99", &[0, 1]),
    b(
        SESSIONS,
        &fig::HANDSHAKES,
        "handshakes full / resumed / reused",
        &[],
    ),
    whole(SESSIONS, &fig::SESSION_BUILDS),
    b(SESSIONS, &fig::BUILD_CPU, "build CPU p50", &[0]),
    b(
        SESSIONS,
        &fig::RETAINED_BYTES,
        "b: bytes a session holds",
        &[],
    ),
    whole(SESSIONS, &fig::RETAINED_BYTES_SLOPE),
    b(SESSIONS, &fig::PLATEAU, "plateau, model R·b·T", &[0]),
    b(SESSIONS, &fig::PLATEAU, "plateau, measured", &[1]),
    whole(MEMORY, &fig::ALLOC_BYTES_PER_REQUEST),
    b(MEMORY, &fig::CLIENT_HEAP, "client heap peak", &[1]),
    b(MEMORY, &fig::CLIENT_RSS, "client RSS peak", &[1]),
    b(SOCKETS, &fig::OPEN_FDS, "open fds peak", &[1]),
    b(SOCKETS, &fig::CONNECTIONS, "connections opened / peak", &[]),
    b(
        SERVER,
        &fig::SERVER_HANDSHAKES,
        "handshakes full / resumed",
        &[0, 1],
    ),
    Brief {
        show: Show::NonZero,
        ..b(SERVER, &fig::SERVER_HANDSHAKES, "handshakes failed", &[2])
    },
    b(SERVER, &fig::SERVER_CACHE_BYTES, "session cache peak", &[]),
    b(
        SERVER,
        &fig::SERVER_CONNECTIONS,
        "connections total / peak",
        &[],
    ),
];

impl Brief {
    /// The indices of the parts shown, of a value of `len` parts.
    fn shown(&self, len: usize) -> Vec<usize> {
        match self.parts {
            [] => (0..len).collect(),
            idx => idx.to_vec(),
        }
    }

    /// The weakest kind of the parts shown: the row's one mark, in its own column.
    fn mark(&self) -> Option<Provenance> {
        let kinds = self.figure.provenance;
        Provenance::weakest(
            self.shown(kinds.len())
                .iter()
                .filter_map(|&i| kinds.get(i))
                .copied(),
        )
    }

    /// Whether a part shown is above zero for `m`.
    fn nonzero(&self, m: &ModeSummary) -> bool {
        let Get::Numbers(_, get) = self.figure.get else {
            return false;
        };
        let values = get(m);
        self.shown(values.len())
            .into_iter()
            .any(|i| values.get(i).copied().flatten().is_some_and(|v| v > 0.0))
    }

    /// The brief cell for one leg: the chosen parts as the table formats them, `!` after a
    /// per-session figure of an unsound leg; `None` when the leg measured none of them.
    fn cell(&self, m: &ModeSummary) -> Option<String> {
        let Cell::Parts(values) = self.figure.cell(m) else {
            return None;
        };
        let values: Vec<Option<String>> = (self.shown(values.len()).iter())
            .map(|&i| values.get(i).cloned().flatten())
            .collect();
        if values.iter().all(Option::is_none) {
            return None;
        }
        let text = Cell::Parts(values).plain();
        Some(match self.figure.marked(m) {
            true => format!("{text} {UNSOUND_MARK}"),
            false => text,
        })
    }
}

/// The brief table's rows for `modes`: per group, a heading row and its figures. A row no leg
/// measured is left out (it says nothing here, and `--detail` keeps it), and so is a
/// [`Show::NonZero`] row no leg counted above zero.
fn rows(modes: &[&ModeSummary]) -> Vec<(String, Vec<String>)> {
    let label_w = widest(BRIEF.iter().map(|b| b.label));
    let mut out = Vec::new();
    let mut group = None;
    for b in BRIEF {
        let cells: Vec<Option<String>> = modes.iter().map(|m| b.cell(m)).collect();
        let shown = match b.show {
            Show::Measured => cells.iter().any(Option::is_some),
            Show::NonZero => modes.iter().any(|m| b.nonzero(m)),
        };
        if !shown {
            continue;
        }
        if group != Some(b.group) {
            group = Some(b.group);
            out.push((b.group.to_string(), vec![String::new(); modes.len()]));
        }
        out.push((
            format!(
                "  {:<label_w$}  {}",
                b.label,
                b.mark().map_or("", Provenance::mark)
            ),
            cells
                .into_iter()
                .map(|c| c.unwrap_or_else(|| crate::vocab::units::NOT_MEASURED.to_string()))
                .collect(),
        ));
    }
    out
}

/// The headline as text: per leg, one figure per line under the leg's name.
fn headline_block(out: &mut String, summary: &Summary) {
    let legs = headline::headline(summary);
    let name_w = widest(legs.iter().map(|l| l.name.as_str()));
    let label_w = widest(legs.iter().flat_map(|l| l.figures.iter().map(|f| f.label)));
    for leg in &legs {
        for (i, f) in leg.figures.iter().enumerate() {
            let name = if i == 0 { leg.name.as_str() } else { "" };
            let _ = writeln!(out, "{name:<name_w$}  {:<label_w$}  {}", f.label, f.text());
        }
    }
}

/// The brief view: the headline, the grouped table (legs in blocks of as many as fit `width`
/// columns, the labels repeated), the marks' legend.
pub fn render(summary: &Summary, width: usize) -> String {
    let names = leg_labels(summary);
    let modes: Vec<&ModeSummary> = summary.modes.iter().collect();
    let mut out = String::new();
    headline_block(&mut out, summary);
    let mut start = 0;
    while start < modes.len() {
        // As many legs as fit, at least one.
        let mut end = modes.len();
        loop {
            let mut block = String::new();
            grid(&mut block, &names[start..end], &rows(&modes[start..end]));
            if widest(block.lines()) <= width || end == start + 1 {
                out.push('\n');
                for line in block.lines() {
                    let _ = writeln!(out, "{}", line.trim_end());
                }
                break;
            }
            end -= 1;
        }
        start = end;
    }
    let _ = writeln!(out, "{}", headline::legend());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Provenance::Measured;

    fn fixture() -> Summary {
        let text = include_str!("../../tests/fixtures/report/summary.json");
        serde_json::from_str(text).expect("fixture summary")
    }

    fn widest(s: &str) -> usize {
        s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    fn with_legs(n: usize) -> Summary {
        let mut s = fixture();
        assert!(!s.modes.is_empty(), "the fixture has legs");
        while s.modes.len() < n {
            let m = s.modes[0].clone();
            s.modes.push(m);
        }
        s.modes.truncate(n);
        s
    }

    #[test]
    fn every_row_shows_parts_its_figure_has() {
        let s = fixture();
        for b in BRIEF {
            let Cell::Parts(parts) = b.figure.cell(&s.modes[0]) else {
                panic!("{}: a brief figure is a number", b.label)
            };
            assert!(b.parts.iter().all(|&i| i < parts.len()), "{}", b.label);
            assert!(b.mark().is_some(), "{}", b.label);
        }
    }

    #[test]
    fn four_legs_fit_120_columns_in_one_block_and_100_in_two() {
        let wide = render(&with_legs(4), 120);
        assert!(widest(&wide) <= 120, "{wide}");
        // No block split for four legs of the fixture in 120 columns: one "load" heading.
        assert_eq!(wide.lines().filter(|l| *l == "load").count(), 1, "{wide}");
        let narrow = render(&with_legs(4), 100);
        assert!(widest(&narrow) <= 100, "{narrow}");
        assert_eq!(
            narrow.lines().filter(|l| *l == "load").count(),
            2,
            "{narrow}"
        );
    }

    #[test]
    fn a_leg_that_does_not_fit_goes_to_a_block_of_its_own() {
        let out = render(&with_legs(8), 120);
        assert!(widest(&out) <= 120, "{out}");
        assert!(out.lines().filter(|l| *l == "load").count() >= 2, "{out}");
    }

    #[test]
    fn server_failed_handshakes_are_a_row_when_a_leg_counted_any() {
        let row = |out: &str| {
            out.lines()
                .find(|l| l.starts_with("  handshakes failed"))
                .map(str::to_string)
        };
        let mut s = with_legs(2);
        for m in &mut s.modes {
            m.server.as_mut().expect("fixture server").handshakes_failed = Some(0);
        }
        let none = render(&s, 100);
        assert_eq!(row(&none), None, "zero failed: no row\n{none}");
        s.modes[1]
            .server
            .as_mut()
            .expect("fixture server")
            .handshakes_failed = Some(7);
        let out = render(&s, 100);
        let failed = row(&out).unwrap_or_else(|| panic!("a failed-handshake row:\n{out}"));
        assert!(failed.contains(Measured.mark()), "{failed}");
        let cells: Vec<&str> = failed.split_whitespace().rev().take(2).collect();
        assert_eq!(cells, ["7", "0"], "{failed}");
        // Under the server's heading, after its handshakes.
        let at = |text: &str| out.find(text).unwrap_or_else(|| panic!("{text}"));
        assert!(at("\nserver") < at("handshakes failed"), "{out}");
    }

    #[test]
    fn parts_are_picked_and_marked_and_unmeasured_rows_are_left_out() {
        let mut s = with_legs(2);
        for m in &mut s.modes {
            m.retained_bytes_slope = None;
        }
        s.modes[0].client_heap_peak_bytes = Some(3 * 1024 * 1024);
        s.modes[1].client_heap_peak_bytes = None;
        let out = render(&s, 100);
        assert!(!out.contains("b cross-check"), "{out}");
        let heap = out
            .lines()
            .find(|l| l.starts_with("  client heap peak"))
            .expect("heap row");
        assert!(heap.contains("●") && heap.contains("3 MiB"), "{heap}");
        assert!(heap.ends_with("n/a"), "{heap}");
    }

    #[test]
    fn an_unsound_leg_is_marked_in_its_per_session_cells_only() {
        let mut s = with_legs(2);
        s.modes[0].per_session_unsound = Some("rate-bound".into());
        let out = render(&s, 100);
        let row = |label: &str| {
            out.lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("{label} in {out}"))
                .to_string()
        };
        let bytes = row("  bytes allocated / request");
        assert_eq!(bytes.matches(UNSOUND_MARK).count(), 1, "{bytes}");
        assert!(
            !row("  requests ok / failed").contains(UNSOUND_MARK),
            "{out}"
        );
    }
}
