//! The brief view (issue 21): the figures that answer "what does a session cost here" first,
//! then a few per group, each with a mark saying how it was obtained. What the terminal prints
//! by default; `--detail` prints every figure of [`MODE_FIGURES`](crate::report::figures::MODE_FIGURES)
//! instead, and `summary.json` and the page hold them all.
//!
//! The list is defined once here ([`BRIEF`]) with its groups ([`Group`]) and marks ([`Mark`]);
//! the terminal ([`render`]) and the page's headline read it.

use std::fmt::Write;

use crate::contract::summary::{ModeSummary, ServerSummary, Summary};
use crate::report::figures::{Cell, Figure, Get, Unit};
use crate::report::grid::{grid, leg_labels};

/// How a figure was obtained, as one letter beside it (the legend is [`LEGEND`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Read by an instrument in this run: the counting allocator, a counter, `/proc`.
    Measured,
    /// Computed from measured figures (a quotient, a slope).
    Derived,
    /// The retention model R·b·T: the configured rate and retention times the measured b.
    Model,
}

impl Mark {
    /// The letter shown beside the figure.
    pub fn letter(self) -> char {
        match self {
            Mark::Measured => 'm',
            Mark::Derived => 'd',
            Mark::Model => 'M',
        }
    }
}

/// The marks' legend, one line: where the full wording of each method is.
pub const LEGEND: &str =
    "m measured · d derived · M model (R·b·T); how each was measured: summary.json \"method\", the page";

/// The groups of the brief view, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The headline: what a session costs.
    Answer,
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
            Group::Answer => "what a session costs",
            Group::Load => "load",
            Group::Sessions => "sessions",
            Group::Memory => "memory",
            Group::Sockets => "sockets",
            Group::Server => "server",
        }
    }
}

/// One figure of the brief view.
pub struct Brief {
    pub group: Group,
    pub mark: Mark,
    pub figure: Figure,
}

fn o(v: Option<u64>) -> Option<f64> {
    v.map(|v| v as f64)
}

fn srv(m: &ModeSummary, f: fn(&ServerSummary) -> Option<u64>) -> Option<f64> {
    o(m.server.as_ref().and_then(f))
}

const fn brief(group: Group, mark: Mark, label: &'static str, get: Get) -> Brief {
    Brief {
        group,
        mark,
        figure: Figure { label, get },
    }
}

use Group::*;
use Mark::*;

/// The brief view's figures, in order, each short enough that four legs fit 120 columns.
pub const BRIEF: &[Brief] = &[
    brief(
        Answer,
        Measured,
        "b: held per session after use",
        Get::Numbers(Unit::Bytes, |m| vec![m.retained_bytes_per_session]),
    ),
    brief(
        Answer,
        Derived,
        "bytes allocated / request",
        Get::Numbers(Unit::Bytes, |m| vec![m.client_alloc_bytes_per_request]),
    ),
    brief(
        Answer,
        Measured,
        "handshakes full / resumed",
        Get::Numbers(Unit::Count, |m| {
            vec![o(m.load.handshakes_full), o(m.load.handshakes_resumed)]
        }),
    ),
    brief(
        Answer,
        Measured,
        "open fds peak",
        Get::Numbers(Unit::Count, |m| vec![o(m.open_fds_peak)]),
    ),
    brief(
        Answer,
        Model,
        "plateau R·b·T",
        Get::Numbers(Unit::Bytes, |m| vec![m.model_plateau_bytes]),
    ),
    brief(
        Answer,
        Measured,
        "plateau measured",
        Get::Numbers(Unit::Bytes, |m| vec![m.measured_plateau_bytes]),
    ),
    brief(
        Load,
        Measured,
        "requests ok / failed",
        Get::Numbers(Unit::Count, |m| {
            vec![
                Some(m.load.requests_ok as f64),
                Some(m.load.requests_failed as f64),
            ]
        }),
    ),
    brief(
        Load,
        Derived,
        "achieved rate",
        Get::Numbers(Unit::Rate, |m| vec![Some(m.achieved_rps)]),
    ),
    brief(
        Load,
        Measured,
        "late starts",
        Get::Numbers(Unit::Count, |m| vec![o(m.load.late_starts)]),
    ),
    brief(
        Load,
        Measured,
        "latency p50 / p99",
        Get::Numbers(Unit::Micros, |m| {
            let l = m.load.latency_us;
            vec![l.map(|l| l.p50 as f64), l.map(|l| l.p99 as f64)]
        }),
    ),
    brief(
        Sessions,
        Measured,
        "session builds",
        Get::Numbers(Unit::Count, |m| vec![Some(m.load.client_builds as f64)]),
    ),
    brief(
        Sessions,
        Measured,
        "build CPU p50",
        Get::Numbers(Unit::Micros, |m| {
            vec![m.load.client_build_cpu_us.map(|b| b.p50 as f64)]
        }),
    ),
    brief(
        Sessions,
        Derived,
        "b cross-check: heap slope",
        Get::Numbers(Unit::Bytes, |m| vec![m.retained_bytes_slope]),
    ),
    brief(
        Sessions,
        Measured,
        "retained sessions peak",
        Get::Numbers(Unit::Count, |m| vec![o(m.retained_sessions_peak)]),
    ),
    brief(
        Memory,
        Measured,
        "client heap peak",
        Get::Numbers(Unit::Bytes, |m| vec![o(m.client_heap_peak_bytes)]),
    ),
    brief(
        Memory,
        Measured,
        "client RSS peak",
        Get::Numbers(Unit::Bytes, |m| vec![o(m.client_rss_peak_bytes)]),
    ),
    brief(
        Sockets,
        Measured,
        "connections opened / peak",
        Get::Numbers(Unit::Count, |m| {
            vec![o(m.load.connections_opened), o(m.open_connections_peak)]
        }),
    ),
    brief(
        Server,
        Measured,
        "handshakes full / resumed",
        Get::Numbers(Unit::Count, |m| {
            vec![
                srv(m, |s| s.handshakes_full),
                srv(m, |s| s.handshakes_resumed),
            ]
        }),
    ),
    brief(
        Server,
        Measured,
        "session cache peak",
        Get::Numbers(Unit::Bytes, |m| {
            vec![srv(m, |s| s.session_cache_bytes_peak)]
        }),
    ),
    brief(
        Server,
        Measured,
        "connections peak open",
        Get::Numbers(Unit::Count, |m| vec![srv(m, |s| s.open_connections_peak)]),
    ),
];

/// The widest line the brief view aims at: 100 columns up to two legs, 120 with more. Legs
/// that would not fit are printed in blocks, the labels repeated.
pub fn width_for(legs: usize) -> usize {
    if legs <= 2 {
        100
    } else {
        120
    }
}

/// The brief view's rows for `modes`: per group, a heading row and its figures (label with
/// its mark, one cell per leg). A row no leg measured is left out: it says nothing here, and
/// `--detail` keeps it.
fn rows(modes: &[&ModeSummary]) -> Vec<(String, Vec<String>)> {
    let label_w = BRIEF
        .iter()
        .map(|b| b.figure.label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    let mut group = None;
    for b in BRIEF {
        let cells: Vec<Cell> = modes.iter().map(|m| b.figure.cell(m)).collect();
        if cells.iter().all(unmeasured) {
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
            format!("  {:<label_w$}  {}", b.figure.label, b.mark.letter()),
            cells.iter().map(Cell::plain).collect(),
        ));
    }
    out
}

fn unmeasured(c: &Cell) -> bool {
    match c {
        Cell::Parts(p) => p.iter().all(Option::is_none),
        Cell::Text(t) => t.is_none(),
    }
}

/// The brief view: the grouped figures (legs in blocks when they do not fit
/// [`width_for`]), the legend, then what the detailed view adds.
pub fn render(summary: &Summary) -> String {
    let names = leg_labels(summary);
    let modes: Vec<&ModeSummary> = summary.modes.iter().collect();
    let width = width_for(modes.len());
    let mut out = String::new();
    let mut start = 0;
    while start < modes.len() {
        // As many legs as fit, at least one.
        let mut end = modes.len();
        loop {
            let mut block = String::new();
            grid(&mut block, &names[start..end], &rows(&modes[start..end]));
            let widest = block.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            if widest <= width || end == start + 1 {
                if start > 0 {
                    out.push('\n');
                }
                for line in block.lines() {
                    let _ = writeln!(out, "{}", line.trim_end());
                }
                break;
            }
            end -= 1;
        }
        start = end;
    }
    let _ = writeln!(out, "{LEGEND}");
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

    #[test]
    fn two_legs_fit_100_columns_and_four_fit_120() {
        let mut s = fixture();
        assert!(s.modes.len() >= 2, "the fixture has legs");
        while s.modes.len() < 4 {
            let m = s.modes[0].clone();
            s.modes.push(m);
        }
        let four = render(&s);
        assert!(widest(&four) <= 120, "{four}");
        s.modes.truncate(2);
        let two = render(&s);
        assert!(widest(&two) <= 100, "{two}");
        // No block split for four legs of the fixture: one heading line with every leg.
        assert_eq!(four.matches("what a session costs").count(), 1, "{four}");
    }

    #[test]
    fn unmeasured_reads_n_a_and_an_unmeasured_row_is_left_out() {
        let mut s = fixture();
        for m in &mut s.modes {
            m.retained_bytes_per_session = None;
            m.model_plateau_bytes = None;
            m.measured_plateau_bytes = None;
        }
        let out = render(&s);
        assert!(!out.contains("b: held per session"), "{out}");
        s.modes[0].retained_bytes_per_session = Some(18_000.0);
        let out = render(&s);
        let line = out
            .lines()
            .find(|l| l.contains("b: held per session"))
            .expect("b's row");
        assert!(line.contains("17.6 KiB") && line.contains("n/a"), "{line}");
    }

    #[test]
    fn a_leg_that_does_not_fit_goes_to_a_block_of_its_own() {
        let mut s = fixture();
        while s.modes.len() < 8 {
            let m = s.modes[0].clone();
            s.modes.push(m);
        }
        let out = render(&s);
        assert!(widest(&out) <= 120, "{out}");
        assert!(out.matches("what a session costs").count() >= 2, "{out}");
    }
}
