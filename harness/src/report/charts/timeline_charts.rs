//! The charts drawn from `timeline.csv`: memory, session caches and sockets over time.

use crate::contract::summary::Summary;
use crate::contract::wire::{ClientSample, ServerSample};
use crate::report::chart_title;
use crate::report::charts::canvas::{render_svg, titled, Drawn, INK};
use crate::report::charts::legend::{self, Dash, LegendEntry, Swatch};
use crate::report::charts::lines::{draw_panel, Line, LinePanel, Quantity};
use crate::report::charts::series::{Series, TimeAxis};
use crate::vocab::mode::Mode;

/// Width of every chart, pixels; wide enough for ten time ticks and a legend column.
pub(crate) const WIDTH: u32 = 1100;
pub(crate) const LEGEND_WIDTH: u32 = 230;
const LINE: u32 = 2;
/// The leak mode's line width in the sockets chart.
const EMPHASIS: u32 = 4;

/// A client figure and the server's figure of the same thing, drawn solid and dashed.
type Pair = (
    fn(&ClientSample) -> Option<u64>,
    fn(&ServerSample) -> Option<u64>,
);
const RSS: Pair = (|c| c.client_rss_bytes, |s| s.server_rss_bytes);
const HEAP: Pair = (|c| c.client_heap_live_bytes, |s| s.server_heap_live_bytes);
const CACHE: Pair = (|c| c.retained_sessions, |s| Some(s.server_cache_entries));
const FDS: Pair = (|c| c.client_open_fds, |s| s.server_open_fds);
const CONNS: Pair = (|c| c.client_open_conns, |s| Some(s.server_open_conns));

/// `memory.svg`: RSS (top) and live heap with the R·b·min(t, T) model (bottom).
pub(crate) fn memory(summary: &Summary, series: &[Series<'_>], time: &TimeAxis) -> Drawn<String> {
    let mut rss = LinePanel::new("Resident set size (RSS)", Quantity::Bytes, "RSS");
    let mut heap = LinePanel::new("Live heap", Quantity::Bytes, "live heap");
    let mut any_model = false;
    for s in series {
        push_pair(&mut rss, s, LINE, time, RSS);
        let has_samples = push_pair(&mut heap, s, LINE, time, HEAP);
        if let Some(points) = model_line(summary, s, time).filter(|_| has_samples) {
            any_model = true;
            heap.lines
                .push(Line::new(s.colour, LINE, Dash::Dotted, points));
        }
    }
    let mut styles = client_server_keys("client", "server");
    if any_model {
        styles.push(key("model: start + R·b·min(t,T)", Dash::Dotted));
    }
    let title = chart_title("Memory", summary);
    chart(&title, 880, &[rss, heap], series, false, styles, time)
}

/// `cache.svg`: sessions the client retains and the server's session-cache entries.
pub(crate) fn cache(summary: &Summary, series: &[Series<'_>], time: &TimeAxis) -> Drawn<String> {
    let mut held = LinePanel::new(
        "Retained client sessions and server session-cache entries",
        Quantity::Count,
        "sessions / entries",
    );
    for s in series {
        push_pair(&mut held, s, LINE, time, CACHE);
    }
    let styles = client_server_keys("client: retained", "server: cache entries");
    let title = chart_title("Session caches", summary);
    chart(&title, 540, &[held], series, false, styles, time)
}

/// `sockets.svg`: open descriptors and connections; the leak mode drawn thick and on top.
pub(crate) fn sockets(summary: &Summary, series: &[Series<'_>], time: &TimeAxis) -> Drawn<String> {
    let mut fds = LinePanel::new("Open file descriptors", Quantity::Count, "open fds");
    let mut conns = LinePanel::new("Open connections", Quantity::Count, "open connections");
    let mut order: Vec<&Series<'_>> = series.iter().collect();
    // Stable: non-leak series keep their order, leak series move to the end (drawn on top).
    order.sort_by_key(|s| s.mode == Mode::Leak);
    for s in order {
        let w = width(s, true);
        push_pair(&mut fds, s, w, time, FDS);
        push_pair(&mut conns, s, w, time, CONNS);
    }
    let styles = client_server_keys("client", "server");
    let title = chart_title("Sockets", summary);
    chart(&title, 880, &[fds, conns], series, true, styles, time)
}

/// Pushes `s`'s client figure (solid) and server figure (dashed) onto `panel`; returns whether
/// the client figure has samples.
fn push_pair(
    panel: &mut LinePanel,
    s: &Series<'_>,
    width: u32,
    time: &TimeAxis,
    (client, server): Pair,
) -> bool {
    let as_f64 = |v: Option<u64>| v.map(|v| v as f64);
    let client = s.points(time, |r| as_f64(client(&r.sample)));
    let has_samples = !client.is_empty();
    let server = s.points(time, |r| as_f64(r.server.as_ref().and_then(server)));
    for (dash, points) in [(Dash::Solid, client), (Dash::Dashed, server)] {
        panel.lines.push(Line::new(s.colour, width, dash, points));
    }
    has_samples
}

/// A key of the legend's "line" section: a line style, drawn in ink.
fn key(label: &str, dash: Dash) -> LegendEntry {
    (label.to_string(), Swatch::Line(INK, LINE, dash))
}

fn client_server_keys(client: &str, server: &str) -> Vec<LegendEntry> {
    vec![key(client, Dash::Solid), key(server, Dash::Dashed)]
}

/// The retention model for one series, heap at start + R·b·min(t, T): `None` without a model
/// figure or a measured starting heap (it is never drawn from 0).
fn model_line(summary: &Summary, s: &Series<'_>, time: &TimeAxis) -> Option<Vec<(f64, f64)>> {
    let retention = summary.scenario.retention_s?;
    let ms = s.summary?;
    let plateau = ms.model_plateau_bytes?;
    let rate = summary.scenario.rate;
    let slope = match ms.retained_bytes_per_session {
        Some(b) => rate * b,
        None if retention > 0.0 => plateau / retention,
        None => 0.0,
    };
    let start = ms.load.client_heap_start_bytes? as f64;
    let end = time.max_s;
    let knee = retention.clamp(0.0, end);
    let points = vec![
        (0.0, start),
        (knee, start + slope * knee),
        (end, start + slope * knee),
    ];
    points
        .iter()
        .all(|p| p.0.is_finite() && p.1.is_finite())
        .then_some(points)
}

/// The chart of `height` pixels: the panels stacked on the left, the legend on the right.
fn chart(
    title: &str,
    height: u32,
    panels: &[LinePanel],
    series: &[Series<'_>],
    emphasise_leak: bool,
    styles: Vec<LegendEntry>,
    time: &TimeAxis,
) -> Drawn<String> {
    render_svg((WIDTH, height), |root| {
        let body = titled(root, title)?;
        let (w, _) = body.dim_in_pixel();
        let (plots, legend_area) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        let areas = plots.split_evenly((panels.len().max(1), 1));
        for (area, p) in areas.iter().zip(panels) {
            draw_panel(area, p, time)?;
        }
        let key = |s: &Series<'_>| {
            let swatch = Swatch::Line(s.colour, width(s, emphasise_leak), Dash::Solid);
            (s.label.clone(), swatch)
        };
        let modes: Vec<LegendEntry> = series.iter().map(key).collect();
        let heading = if series.iter().any(|s| s.label.contains('/')) {
            "mode/client"
        } else {
            "mode"
        };
        legend::draw(&legend_area, &[(heading, modes), ("line", styles)])
    })
}

/// A series' line width: the leak mode stands out where `emphasise_leak`.
fn width(s: &Series<'_>, emphasise_leak: bool) -> u32 {
    if emphasise_leak && s.mode == Mode::Leak {
        EMPHASIS
    } else {
        LINE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::series;

    #[test]
    fn model_line_rises_at_r_times_b_and_levels_off_at_t() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report/summary.json"
        );
        let summary = Summary::read(std::path::Path::new(path)).expect("fixture");
        let all = series::collect(&summary, &[]);
        let time = TimeAxis::new(&summary, &[]);
        // fresh: R = 50/s, b = 4150 B, T = 3 s, heap at start 1 800 000 B, run 6 s.
        let line = model_line(&summary, &all[0], &time).expect("fresh has a model");
        let plateau = 1_800_000.0 + 50.0 * 4150.0 * 3.0;
        assert_eq!(line, [(0.0, 1_800_000.0), (3.0, plateau), (6.0, plateau)]);
        // shared has no retained-bytes figures, so no model line.
        assert!(model_line(&summary, &all[1], &time).is_none());
    }
}
