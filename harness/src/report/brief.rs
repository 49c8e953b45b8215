//! The brief view: the headline, then a short grouped table of the figures a reader checks next.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{self as fig, Cell, Figure, Get, Provenance, UNSOUND_MARK};
use crate::report::grid::{grid, leg_labels, widest};
use crate::report::headline;

/// One row of the brief table.
pub struct Brief {
    pub figure: &'static Figure,
    pub label: &'static str,
    /// Which parts of the figure's value, by index (empty: all of them).
    pub parts: &'static [usize],
    /// Shown when a leg's value is above zero rather than when a leg measured it: a count whose
    /// zero says nothing worth a line (failed handshakes), and whose non-zero value must not be
    /// left to `--detail`.
    pub nonzero: bool,
}

const fn b(figure: &'static Figure, label: &'static str, parts: &'static [usize]) -> Brief {
    Brief {
        figure,
        label,
        parts,
        nonzero: false,
    }
}

/// A row of every part of `figure`, under the figure's own label.
const fn whole(figure: &'static Figure) -> Brief {
    b(figure, figure.label, &[])
}

/// The brief table's groups, each under its heading, in order; each row short enough that four
/// legs fit 120 columns.
pub const BRIEF: &[(&str, &[Brief])] = &[
    (
        "load",
        &[
            whole(&fig::REQUESTS_OK_FAILED),
            whole(&fig::ACHIEVED_RATE),
            b(&fig::LATE_STARTS, "late starts", &[]),
            b(&fig::LATENCY, "latency p50 / p99", &[0, 1]),
        ],
    ),
    (
        "sessions",
        &[
            b(&fig::HANDSHAKES, "handshakes full / resumed / reused", &[]),
            whole(&fig::SESSION_BUILDS),
            b(&fig::BUILD_CPU, "build CPU p50", &[0]),
            b(&fig::RETAINED_BYTES, "b: bytes a session holds", &[]),
            whole(&fig::RETAINED_BYTES_SLOPE),
            b(&fig::PLATEAU, "plateau, model R·b·T", &[0]),
            b(&fig::PLATEAU, "plateau, measured", &[1]),
        ],
    ),
    (
        "memory",
        &[
            whole(&fig::ALLOC_BYTES_PER_REQUEST),
            b(&fig::CLIENT_HEAP, "client heap peak", &[1]),
            b(&fig::CLIENT_RSS, "client RSS peak", &[1]),
        ],
    ),
    (
        "sockets",
        &[
            b(&fig::OPEN_FDS, "open fds peak", &[1]),
            b(&fig::CONNECTIONS, "connections opened / peak", &[]),
        ],
    ),
    (
        "server",
        &[
            b(
                &fig::SERVER_HANDSHAKES,
                "handshakes full / resumed",
                &[0, 1],
            ),
            Brief {
                nonzero: true,
                ..b(&fig::SERVER_HANDSHAKES, "handshakes failed", &[2])
            },
            b(&fig::SERVER_CACHE_BYTES, "session cache peak", &[]),
            b(&fig::SERVER_CONNECTIONS, "connections total / peak", &[]),
        ],
    ),
];

impl Brief {
    /// The parts of a value this row shows.
    fn pick<T: Clone>(&self, parts: &[T]) -> Vec<T> {
        match self.parts {
            [] => parts.to_vec(),
            idx => idx.iter().filter_map(|&i| parts.get(i).cloned()).collect(),
        }
    }

    /// The weakest kind of the parts shown: the row's one mark, in its own column.
    fn mark(&self) -> Option<Provenance> {
        self.pick(self.figure.provenance).into_iter().max()
    }

    /// Whether a part shown is above zero for `m`.
    fn above_zero(&self, m: &ModeSummary) -> bool {
        let Get::Numbers(_, get) = self.figure.get else {
            return false;
        };
        self.pick(&get(m)).into_iter().flatten().any(|v| v > 0.0)
    }

    /// The brief cell for one leg: the chosen parts as the table formats them, `!` after a
    /// per-session figure of an unsound leg; `None` when the leg measured none of them.
    fn cell(&self, m: &ModeSummary) -> Option<String> {
        let Cell::Parts(values) = self.figure.cell(m) else {
            return None;
        };
        let values = self.pick(&values);
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
/// [`Brief::nonzero`] row no leg counted above zero.
fn rows(modes: &[&ModeSummary]) -> Vec<(String, Vec<String>)> {
    let label_w = widest(BRIEF.iter().flat_map(|(_, rows)| *rows).map(|b| b.label));
    let mut out = Vec::new();
    for (group, rows) in BRIEF {
        let mut heading = Some(group);
        for b in rows.iter() {
            let cells: Vec<Option<String>> = modes.iter().map(|m| b.cell(m)).collect();
            let shown = match b.nonzero {
                false => cells.iter().any(Option::is_some),
                true => modes.iter().any(|m| b.above_zero(m)),
            };
            if !shown {
                continue;
            }
            if let Some(group) = heading.take() {
                out.push((group.to_string(), vec![String::new(); modes.len()]));
            }
            let mark = b.mark().map_or("", Provenance::mark);
            out.push((
                format!("  {:<label_w$}  {mark}", b.label),
                cells
                    .into_iter()
                    .map(|c| c.unwrap_or_else(|| crate::vocab::units::NOT_MEASURED.to_string()))
                    .collect(),
            ));
        }
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
        for b in BRIEF.iter().flat_map(|(_, rows)| rows.iter()) {
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
