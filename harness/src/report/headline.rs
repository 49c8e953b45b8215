//! The answer first: per leg, the two or three figures that say what a session costs there.

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::figures::{self as fig, Cell, Figure, Provenance};
use crate::vocab::mode::Mode::{self, Fresh, Leak, Resume, Shared};
use crate::vocab::units;

/// The one-line legend of the marks: `● measured · ◐ derived from measured figures · ○ model
/// (…)`. The full wording of how each figure was measured is in the summary's `method`.
pub fn legend() -> String {
    Provenance::ALL
        .iter()
        .map(|p| format!("{} {}", p.mark(), p.meaning()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One figure of a leg's headline: a short label and its parts (`model / measured`), each
/// formatted as the table formats it (`None`: not measured) and of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadlineFigure {
    pub label: &'static str,
    pub values: Vec<Option<String>>,
    pub provenance: &'static [Provenance],
}

impl HeadlineFigure {
    /// The value as plain text, marked: `4.05 KiB ●`, `1 / 0 / 299 ●` (parts of one kind share
    /// one mark), `608 KiB ○ / 625 KiB ●` (each part its own). A part not measured reads
    /// [`units::NOT_MEASURED`]; a figure with no part measured reads it once, unmarked.
    pub fn text(&self) -> String {
        self.render(
            || units::NOT_MEASURED.to_string(),
            str::to_string,
            |p| p.mark().to_string(),
        )
    }

    /// The value through a writer for each piece (the page escapes values and wraps marks in
    /// markup); the layout rule is [`HeadlineFigure::text`]'s.
    pub fn render(
        &self,
        unmeasured: impl Fn() -> String,
        value: impl Fn(&str) -> String,
        mark: impl Fn(Provenance) -> String,
    ) -> String {
        let measured = self.values.iter().any(Option::is_some);
        let Some(&first) = self.provenance.first().filter(|_| measured) else {
            return unmeasured();
        };
        let one_kind = self.provenance.iter().all(|&p| p == first);
        let parts = self.values.iter().zip(self.provenance);
        let values = parts.map(|(v, &p)| match v {
            None => unmeasured(),
            Some(v) if one_kind => value(v),
            Some(v) => format!("{} {}", value(v), mark(p)),
        });
        let joined = values.collect::<Vec<_>>().join(" / ");
        if one_kind {
            format!("{joined} {}", mark(first))
        } else {
            joined
        }
    }
}

/// One leg's headline: its name (the table's column name) and its figures.
#[derive(Debug, Clone)]
pub struct HeadlineLeg<'a> {
    pub name: String,
    /// The leg in the summary (the page finds its chart colour by it).
    pub leg: &'a ModeSummary,
    pub figures: Vec<HeadlineFigure>,
}

/// One entry of [`HEADLINE`]: a figure, the headline's shorter label, the legs it answers for.
struct Pick(&'static Figure, &'static str, &'static [Mode]);

/// The headline's figures, in the order shown.
const HEADLINE: &[Pick] = &[
    Pick(
        &fig::RETAINED_BYTES,
        "b: bytes a session holds",
        &[Fresh, Leak],
    ),
    Pick(&fig::PLATEAU, "plateau: model / measured", &[Fresh]),
    Pick(&fig::OPEN_FDS, fig::OPEN_FDS.label, &[Leak]),
    Pick(
        &fig::ALLOC_BYTES_PER_REQUEST,
        fig::ALLOC_BYTES_PER_REQUEST.label,
        Mode::ALL,
    ),
    Pick(&fig::HANDSHAKES, fig::HANDSHAKES.label, &[Shared, Resume]),
];

/// Per leg of the run, in the summary's order, the figures of the headline list that answer
/// for its mode. A figure the run did not measure stays, reading "n/a": the headline hides
/// nothing the table would show.
pub fn headline(summary: &Summary) -> Vec<HeadlineLeg<'_>> {
    let names = crate::report::grid::leg_labels(summary);
    summary
        .modes
        .iter()
        .zip(names)
        .map(|(m, name)| HeadlineLeg {
            name,
            leg: m,
            figures: HEADLINE
                .iter()
                .filter(|Pick(_, _, modes)| modes.contains(&m.mode))
                .filter_map(|&Pick(figure, label, _)| match figure.cell(m) {
                    Cell::Parts(values) => Some(HeadlineFigure {
                        label,
                        values,
                        provenance: figure.provenance,
                    }),
                    Cell::Text(_) => None,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Provenance::{Measured, Model};

    /// The report tests' hand-built run (fresh and shared), with a leak leg cloned from fresh.
    fn fixture() -> Summary {
        let mut s: Summary =
            serde_json::from_str(include_str!("../../tests/fixtures/report/summary.json"))
                .expect("fixture summary");
        let mut leak = s.modes[0].clone();
        leak.mode = Mode::Leak;
        leak.model_plateau_bytes = None;
        leak.measured_plateau_bytes = None;
        s.modes.push(leak);
        s
    }

    #[test]
    fn every_pick_is_a_figure_of_numbers() {
        let s = fixture();
        for Pick(figure, label, _) in HEADLINE {
            assert!(
                matches!(figure.cell(&s.modes[0]), Cell::Parts(_)),
                "{label}"
            );
        }
    }

    #[test]
    fn each_leg_gets_its_own_figures_marked() {
        let s = fixture();
        let h = headline(&s);
        let names: Vec<&str> = h.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["fresh", "shared", "leak"]);
        let labels = |i: usize| h[i].figures.iter().map(|f| f.label).collect::<Vec<_>>();
        assert_eq!(
            labels(0),
            [
                "b: bytes a session holds",
                "plateau: model / measured",
                "bytes allocated / request"
            ]
        );
        assert_eq!(
            labels(1),
            [
                "bytes allocated / request",
                "handshakes full / resumed / reused conn"
            ]
        );
        assert_eq!(
            labels(2),
            [
                "b: bytes a session holds",
                "open fds start / peak / end",
                "bytes allocated / request"
            ]
        );
        assert_eq!(h[0].figures[0].text(), "4.05 KiB ◐");
        assert_eq!(h[0].figures[1].text(), "608 KiB ○ / 625 KiB ●");
        assert_eq!(h[0].figures[2].text(), "59.8 KiB ◐");
        assert_eq!(h[1].figures[1].text(), "1 / 0 / 299 ●");
        // shared measured no allocations: n/a, and no mark on what was not measured.
        assert_eq!(h[1].figures[0].text(), "n/a");
        assert_eq!(h[2].figures[1].text(), "12 / 15 / 13 ●");
    }

    #[test]
    fn a_part_not_measured_reads_na_unmarked() {
        let f = |values: Vec<Option<&str>>| HeadlineFigure {
            label: "x",
            values: values.into_iter().map(|v| v.map(str::to_string)).collect(),
            provenance: &[Model, Measured],
        };
        assert_eq!(f(vec![None, None]).text(), "n/a");
        assert_eq!(f(vec![Some("1 B"), None]).text(), "1 B ○ / n/a");
    }

    #[test]
    fn the_legend_names_every_mark_on_one_line() {
        let l = legend();
        for p in Provenance::ALL {
            assert!(l.contains(p.mark()), "{l}");
        }
        assert!(l.chars().count() <= 100, "one line: {l}");
    }
}
