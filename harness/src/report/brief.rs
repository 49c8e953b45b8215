//! The brief view (issue 21): the headline first ([`crate::report::headline`]: per leg, what a
//! session costs there), then a short table of the figures a reader checks next, grouped
//! (load · sessions · memory · sockets · server), each value marked measured, derived or model.
//! What the terminal prints by default; `--detail` prints every row of
//! [`MODE_FIGURES`](crate::report::figures::MODE_FIGURES) instead, and `summary.json` and the page hold them all.
//!
//! Each brief row is a row of [`MODE_FIGURES`](crate::report::figures::MODE_FIGURES) picked by its label, optionally only some of its
//! parts (the peak of `start / peak / end`): the value is that row's cell, formatted as the
//! table formats it, and a leg whose per-session figures are not sound is marked the same way.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{Cell, Figure, UNSOUND_MARK};
use crate::report::grid::{grid, leg_labels};
use crate::report::headline::{self, Provenance};
use Provenance::{Derived, Measured, Model};

/// The groups of the brief table, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Load,
    Sessions,
    Memory,
    Sockets,
    Server,
}

impl Group {
    /// The group's heading.
    pub fn title(self) -> &'static str {
        match self {
            Group::Load => "load",
            Group::Sessions => "sessions",
            Group::Memory => "memory",
            Group::Sockets => "sockets",
            Group::Server => "server",
        }
    }
}

/// One row of the brief table.
pub struct Brief {
    pub group: Group,
    /// The row of [`MODE_FIGURES`](crate::report::figures::MODE_FIGURES) shown, by its label.
    pub row: &'static str,
    /// The brief label.
    pub label: &'static str,
    /// Which parts of the row's value, by index (empty: all of them).
    pub parts: &'static [usize],
    /// How every part shown was obtained: one mark per row, in its own column.
    pub mark: Provenance,
}

const fn b(
    group: Group,
    row: &'static str,
    label: &'static str,
    parts: &'static [usize],
    mark: Provenance,
) -> Brief {
    Brief {
        group,
        row,
        label,
        parts,
        mark,
    }
}

use Group::*;

/// The brief table's rows, in order, each short enough that four legs fit 120 columns.
pub const BRIEF: &[Brief] = &[
    b(
        Load,
        "requests ok / failed",
        "requests ok / failed",
        &[],
        Measured,
    ),
    b(Load, "achieved rate", "achieved rate", &[], Derived),
    b(
        Load,
        "late starts (≥2 ms or no slot)",
        "late starts",
        &[],
        Measured,
    ),
    b(
        Load,
        "latency p50 / p99 / max",
        "latency p50 / p99",
        &[0, 1],
        Measured,
    ),
    b(
        Sessions,
        "handshakes full / resumed / reused conn",
        "handshakes full / resumed / reused",
        &[],
        Measured,
    ),
    b(Sessions, "session builds", "session builds", &[], Measured),
    b(
        Sessions,
        "build CPU p50 / p99",
        "build CPU p50",
        &[0],
        Measured,
    ),
    b(
        Sessions,
        "retained bytes / session (b)",
        "b: bytes a session holds",
        &[],
        Measured,
    ),
    b(
        Sessions,
        "b cross-check: heap slope",
        "b cross-check: heap slope",
        &[],
        Derived,
    ),
    b(
        Sessions,
        "plateau: model R·b·T / measured",
        "plateau, model R·b·T",
        &[0],
        Model,
    ),
    b(
        Sessions,
        "plateau: model R·b·T / measured",
        "plateau, measured",
        &[1],
        Measured,
    ),
    b(
        Memory,
        "bytes allocated / request",
        "bytes allocated / request",
        &[],
        Derived,
    ),
    b(
        Memory,
        "client heap start / peak / end",
        "client heap peak",
        &[1],
        Measured,
    ),
    b(
        Memory,
        "client RSS start / peak / end",
        "client RSS peak",
        &[1],
        Measured,
    ),
    b(
        Sockets,
        "open fds start / peak / end",
        "open fds peak",
        &[1],
        Measured,
    ),
    b(
        Sockets,
        "connections opened / peak open",
        "connections opened / peak",
        &[],
        Measured,
    ),
    b(
        Server,
        "server handshakes full / resumed / failed",
        "handshakes full / resumed",
        &[0, 1],
        Measured,
    ),
    b(
        Server,
        "server session cache peak bytes",
        "session cache peak",
        &[],
        Measured,
    ),
    b(
        Server,
        "server connections total / peak open",
        "connections total / peak",
        &[],
        Measured,
    ),
];

impl Brief {
    /// The [`MODE_FIGURES`](crate::report::figures::MODE_FIGURES) row it shows.
    fn figure(&self) -> Option<&'static Figure> {
        headline::row(self.row)
    }

    /// The brief cell for one leg: the chosen parts as the table formats them, `!` after a
    /// per-session figure of an unsound leg; `None` when the leg measured none of them.
    fn cell(&self, m: &ModeSummary) -> Option<String> {
        let f = self.figure()?;
        let Cell::Parts(values) = f.cell(m) else {
            return None;
        };
        let values: Vec<Option<String>> = match self.parts {
            [] => values,
            idx => idx
                .iter()
                .map(|&i| values.get(i).cloned().flatten())
                .collect(),
        };
        if values.iter().all(Option::is_none) {
            return None;
        }
        let text = Cell::Parts(values).plain();
        Some(match f.marked(m) {
            true => format!("{text} {UNSOUND_MARK}"),
            false => text,
        })
    }
}

/// The widest line the brief view aims at: 100 columns up to two legs, 120 with more. Legs
/// that would not fit are printed in blocks, the labels repeated.
pub fn width_for(legs: usize) -> usize {
    if legs <= 2 {
        100
    } else {
        120
    }
}

/// The brief table's rows for `modes`: per group, a heading row and its figures. A row no leg
/// measured is left out: it says nothing here, and `--detail` keeps it.
fn rows(modes: &[&ModeSummary]) -> Vec<(String, Vec<String>)> {
    let label_w = BRIEF
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut group = None;
    for b in BRIEF {
        let cells: Vec<Option<String>> = modes.iter().map(|m| b.cell(m)).collect();
        if cells.iter().all(Option::is_none) {
            continue;
        }
        if group != Some(b.group) {
            group = Some(b.group);
            out.push((
                b.group.title().to_string(),
                vec![String::new(); modes.len()],
            ));
        }
        out.push((
            format!("  {:<label_w$}  {}", b.label, b.mark.mark()),
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
    let name_w = legs
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let label_w = legs
        .iter()
        .flat_map(|l| l.figures.iter().map(|f| f.label.chars().count()))
        .max()
        .unwrap_or(0);
    for leg in &legs {
        for (i, f) in leg.figures.iter().enumerate() {
            let name = if i == 0 { leg.name.as_str() } else { "" };
            let _ = writeln!(out, "{name:<name_w$}  {:<label_w$}  {}", f.label, f.text());
        }
    }
}

/// The brief view: the headline, the grouped table (legs in blocks when they do not fit
/// [`width_for`]), the marks' legend.
pub fn render(summary: &Summary) -> String {
    let names = leg_labels(summary);
    let modes: Vec<&ModeSummary> = summary.modes.iter().collect();
    let width = width_for(modes.len());
    let mut out = String::new();
    headline_block(&mut out, summary);
    let mut start = 0;
    while start < modes.len() {
        // As many legs as fit, at least one.
        let mut end = modes.len();
        loop {
            let mut block = String::new();
            grid(&mut block, &names[start..end], &rows(&modes[start..end]));
            let widest = block.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            if widest <= width || end == start + 1 {
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
    fn every_row_names_a_table_row_and_parts_it_has() {
        let s = fixture();
        for b in BRIEF {
            let f = b
                .figure()
                .unwrap_or_else(|| panic!("{} is not a row of MODE_FIGURES", b.row));
            let Cell::Parts(parts) = f.cell(&s.modes[0]) else {
                panic!("{}: a brief figure is a number", b.row)
            };
            let shown = if b.parts.is_empty() {
                parts.len()
            } else {
                assert!(b.parts.iter().all(|&i| i < parts.len()), "{}", b.row);
                b.parts.len()
            };
            assert!(shown > 0, "{}", b.row);
        }
    }

    #[test]
    fn two_legs_fit_100_columns_and_four_fit_120() {
        let four = render(&with_legs(4));
        assert!(widest(&four) <= 120, "{four}");
        let two = render(&with_legs(2));
        assert!(widest(&two) <= 100, "{two}");
        // No block split for four legs of the fixture: one "load" heading.
        assert_eq!(four.lines().filter(|l| *l == "load").count(), 1, "{four}");
    }

    #[test]
    fn a_leg_that_does_not_fit_goes_to_a_block_of_its_own() {
        let out = render(&with_legs(8));
        assert!(widest(&out) <= 120, "{out}");
        assert!(out.lines().filter(|l| *l == "load").count() >= 2, "{out}");
    }

    #[test]
    fn parts_are_picked_and_marked_and_unmeasured_rows_are_left_out() {
        let mut s = with_legs(2);
        for m in &mut s.modes {
            m.retained_bytes_slope = None;
        }
        s.modes[0].client_heap_peak_bytes = Some(3 * 1024 * 1024);
        s.modes[1].client_heap_peak_bytes = None;
        let out = render(&s);
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
        let out = render(&s);
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
