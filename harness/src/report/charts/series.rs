//! One series per leg, with a fixed label and colour, so every chart and table name a leg alike.

use plotters::style::RGBColor;

use crate::contract::summary::{ModeSummary, Summary};
use crate::contract::timeline::TimelineRow;
use crate::vocab::client::ClientKind;
use crate::vocab::clock::Clock;
use crate::vocab::mode::Mode;

/// A series colour and the word a caption names it by, declared together so a caption can
/// only name the colour its line is drawn in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hue {
    pub(crate) name: &'static str,
    pub(crate) rgb: RGBColor,
}

const fn hue(name: &'static str, r: u8, g: u8, b: u8) -> Hue {
    Hue {
        name,
        rgb: RGBColor(r, g, b),
    }
}

/// Fixed palette (matplotlib's tab10), assigned in series order; cycles past ten series.
pub(crate) const PALETTE: [Hue; 10] = [
    hue("blue", 0x1f, 0x77, 0xb4),
    hue("red", 0xd6, 0x27, 0x28),
    hue("green", 0x2c, 0xa0, 0x2c),
    hue("orange", 0xff, 0x7f, 0x0e),
    hue("purple", 0x94, 0x67, 0xbd),
    hue("brown", 0x8c, 0x56, 0x4b),
    hue("pink", 0xe3, 0x77, 0xc2),
    hue("cyan", 0x17, 0xbe, 0xcf),
    hue("grey", 0x7f, 0x7f, 0x7f),
    hue("olive", 0xbc, 0xbd, 0x22),
];

/// One (mode, client) pair: its summary (if the summary has it) and its timeline rows.
pub(crate) struct Series<'a> {
    pub(crate) mode: Mode,
    pub(crate) label: String,
    pub(crate) colour: RGBColor,
    pub(crate) summary: Option<&'a ModeSummary>,
    pub(crate) rows: Vec<&'a TimelineRow>,
}

impl Series<'_> {
    /// `(time, value)` for every row where `value` was measured, time on `axis`'s clock in
    /// seconds.
    pub(crate) fn points(
        &self,
        axis: &TimeAxis,
        value: impl Fn(&TimelineRow) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter_map(|row| {
                let y = value(row)?;
                let x = row_time(axis.virtual_clock, row);
                (x.is_finite() && y.is_finite()).then_some((x, y))
            })
            .collect();
        // Stable sort: rows already in time order keep it; equal times keep file order.
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    }
}

/// The summary's modes in run order, then any pair only the timeline has; labels name the client
/// only when the run used more than one.
pub(crate) fn collect<'a>(summary: &'a Summary, timeline: &'a [TimelineRow]) -> Vec<Series<'a>> {
    let mut keys: Vec<(Mode, ClientKind)> = Vec::new();
    let summary_keys = summary.modes.iter().map(|m| (m.mode, m.client));
    for key in summary_keys.chain(timeline.iter().map(|r| (r.mode, r.client))) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let show_client = keys.iter().any(|k| k.1 != keys[0].1);

    keys.iter()
        .enumerate()
        .map(|(i, &(mode, client))| Series {
            mode,
            label: mode.leg_label(client, show_client),
            colour: PALETTE[i % PALETTE.len()].rgb,
            summary: summary
                .modes
                .iter()
                .find(|m| (m.mode, m.client) == (mode, client)),
            rows: timeline
                .iter()
                .filter(|r| (r.mode, r.client) == (mode, client))
                .collect(),
        })
        .collect()
}

/// The x axis every timeline chart shares: which clock, which unit, how far.
pub(crate) struct TimeAxis {
    virtual_clock: bool,
    /// Right end of the axis, seconds: the planned duration or the last sample, whichever is
    /// later, so a run that stopped half-way visibly stops half-way.
    pub(crate) max_s: f64,
    /// Seconds per axis unit (1 or 60).
    pub(crate) divisor: f64,
    /// Axis title.
    pub(crate) desc: String,
}

impl TimeAxis {
    /// Virtual time when the run used `--clock virtual` (its wall time is meaningless for the
    /// scenario), minutes when the run is longer than three minutes.
    pub(crate) fn new(summary: &Summary, timeline: &[TimelineRow]) -> Self {
        let virtual_clock = summary.clock == Clock::Virtual;
        let times = timeline.iter().map(|r| row_time(virtual_clock, r));
        let data_max = times.filter(|t| t.is_finite()).fold(0.0_f64, f64::max);
        let planned = Some(summary.scenario.duration_s).filter(|d| d.is_finite());
        let clock = if virtual_clock {
            "virtual time"
        } else {
            "time"
        };
        let what = format!("{clock} since load start");
        Self::spanning(data_max.max(planned.unwrap_or(0.0)), virtual_clock, &what)
    }

    /// A wall-clock axis from 0 to `max_s` seconds (minutes past three), titled
    /// `time since <since> (unit)`: for `harness exec`, whose rows are not a run's.
    pub(crate) fn wall(max_s: f64, since: &str) -> Self {
        Self::spanning(max_s, false, &format!("time since {since}"))
    }

    /// An axis from 0 to `max_s` seconds (1 when that spans nothing), in minutes past three,
    /// titled `<what> (unit)`.
    fn spanning(max_s: f64, virtual_clock: bool, what: &str) -> Self {
        let max_s = Some(max_s)
            .filter(|m| m.is_finite() && *m > 0.0)
            .unwrap_or(1.0);
        let (divisor, unit) = if max_s > 180.0 {
            (60.0, "min")
        } else {
            (1.0, "s")
        };
        TimeAxis {
            virtual_clock,
            max_s,
            divisor,
            desc: format!("{what} ({unit})"),
        }
    }
}

/// A row's time in seconds on the virtual clock or the real one.
fn row_time(virtual_clock: bool, row: &TimelineRow) -> f64 {
    if virtual_clock {
        row.sample.virtual_t_s
    } else {
        row.sample.t_s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::summary::Summary;

    fn summary(clock: &str, duration_s: f64) -> Summary {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report/summary.json"
        );
        let mut s = Summary::read(std::path::Path::new(path)).expect("fixture");
        s.clock = clock.parse().expect("clock");
        s.scenario.duration_s = duration_s;
        s
    }

    fn row(mode: &str, client: &str, t: f64) -> TimelineRow {
        TimelineRow {
            mode: mode.parse().expect("mode"),
            client: client.parse().expect("client"),
            sample: crate::contract::wire::ClientSample {
                t_s: t,
                virtual_t_s: t * 10.0,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn summary_modes_come_first_and_labels_name_clients_only_when_several() {
        let s = summary("real", 6.0);
        let one = [row("leak", "hyper", 1.0), row("fresh", "hyper", 1.0)];
        let series = collect(&s, &one);
        let labels: Vec<&str> = series.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(labels, ["fresh", "shared", "leak"]);
        assert!(series[2].summary.is_none());
        assert_ne!(series[0].colour, series[1].colour);

        let two = [row("fresh", "reqwest", 1.0)];
        let labels: Vec<String> = collect(&s, &two).into_iter().map(|x| x.label).collect();
        assert_eq!(labels, ["fresh/hyper", "shared/hyper", "fresh/reqwest"]);
    }

    #[test]
    fn each_palette_name_is_the_word_for_its_colour() {
        for h in PALETTE {
            let RGBColor(r, g, b) = h.rgb;
            assert_eq!(
                crate::report::charts::colour_words::word(r, g, b),
                h.name,
                "#{r:02x}{g:02x}{b:02x}"
            );
        }
    }

    #[test]
    fn time_axis_follows_the_clock_and_switches_to_minutes() {
        let rows = [row("fresh", "hyper", 30.0)];
        let real = TimeAxis::new(&summary("real", 6.0), &rows);
        assert_eq!((real.max_s, real.divisor), (30.0, 1.0));
        assert_eq!(real.desc, "time since load start (s)");

        let virt = TimeAxis::new(&summary("virtual", 6.0), &rows);
        assert_eq!((virt.max_s, virt.divisor), (300.0, 60.0));
        assert_eq!(virt.desc, "virtual time since load start (min)");

        let empty = TimeAxis::new(&summary("real", 0.0), &[]);
        assert!(empty.max_s > 0.0, "a zero-width axis would divide by zero");
    }

    #[test]
    fn points_skip_unmeasured_and_sort_by_time() {
        let s = summary("real", 6.0);
        let mut late = row("fresh", "hyper", 2.0);
        late.sample.client_rss_bytes = Some(20);
        let mut early = row("fresh", "hyper", 1.0);
        early.sample.client_rss_bytes = Some(10);
        let gap = row("fresh", "hyper", 1.5);
        let rows = [late, gap, early];
        let series = collect(&s, &rows);
        let axis = TimeAxis::new(&s, &rows);
        let pts = series[0].points(&axis, |r| r.sample.client_rss_bytes.map(|v| v as f64));
        assert_eq!(pts, [(1.0, 10.0), (2.0, 20.0)]);
    }
}
