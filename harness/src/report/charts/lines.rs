//! One panel of lines over time, the y axis in human units.

use plotters::prelude::*;

use crate::report::charts::canvas::{
    empty_panel, house_mesh, Area, Drawn, CAPTION_SIZE, FONT, INK,
};
use crate::report::charts::legend::Dash;
use crate::report::charts::series::TimeAxis;
use crate::vocab::units as format;

/// What a panel's y values count, which decides their unit and tick labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quantity {
    /// Bytes, shown in B / KiB / MiB / GiB chosen from the largest value.
    Bytes,
    /// Plain counts (sessions, descriptors, connections), ticks like `60k`.
    Count,
    /// Microseconds shown as µs / ms / s; bars of it stand on a log axis (latency spans orders
    /// of magnitude).
    Micros,
}

impl Quantity {
    /// `(divisor, unit suffix for the axis title)` for values up to `max`.
    pub(crate) fn scale(self, max: f64) -> (f64, String) {
        match self {
            Quantity::Bytes => {
                let (div, unit) = format::byte_unit(max);
                (div, format!(" ({unit})"))
            }
            Quantity::Count | Quantity::Micros => (1.0, String::new()),
        }
    }

    /// Tick label for an already-scaled value.
    pub(crate) fn tick(self, v: f64) -> String {
        match self {
            Quantity::Bytes => format::tick(v),
            Quantity::Count => format::count_short(v),
            Quantity::Micros => format::micros(v),
        }
    }

    /// A bar's value label, unscaled.
    pub(crate) fn label(self, v: f64) -> String {
        match self {
            Quantity::Bytes => format::bytes(v),
            _ => self.tick(v),
        }
    }
}

/// One line: raw values (seconds, bytes or counts); the panel scales them.
pub(crate) struct Line {
    pub(crate) colour: RGBColor,
    pub(crate) width: u32,
    pub(crate) dash: Dash,
    pub(crate) points: Vec<(f64, f64)>,
}

impl Line {
    pub(crate) fn new(colour: RGBColor, width: u32, dash: Dash, points: Vec<(f64, f64)>) -> Self {
        Line {
            colour,
            width,
            dash,
            points,
        }
    }
}

/// A panel: caption, y quantity and title, and its lines in drawing order (last on top).
pub(crate) struct LinePanel {
    pub(crate) caption: String,
    pub(crate) quantity: Quantity,
    pub(crate) y_desc: String,
    pub(crate) lines: Vec<Line>,
}

impl LinePanel {
    pub(crate) fn new(caption: &str, quantity: Quantity, y_desc: &str) -> Self {
        LinePanel {
            caption: caption.to_string(),
            quantity,
            y_desc: y_desc.to_string(),
            lines: Vec::new(),
        }
    }
}

/// Draws `panel` into `area` over `time`; a panel without a single point says `no samples`.
pub(crate) fn draw_panel(area: &Area<'_>, panel: &LinePanel, time: &TimeAxis) -> Drawn {
    if panel.lines.iter().all(|l| l.points.is_empty()) {
        return empty_panel(area, &panel.caption, "no samples");
    }
    let points = panel.lines.iter().flat_map(|l| &l.points);
    let y_max = points.map(|p| p.1).fold(0.0_f64, f64::max);
    let (y_div, unit) = panel.quantity.scale(y_max);
    let y_top = Some(y_max / y_div * 1.08)
        .filter(|t| *t > 0.0)
        .unwrap_or(1.0);
    let x_max = time.max_s / time.divisor;

    let quantity = panel.quantity;
    let y_fmt = move |v: &f64| quantity.tick(*v);
    let x_fmt = |v: &f64| format::tick(*v);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.caption, (FONT, CAPTION_SIZE).into_font().color(&INK))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_top)?;
    house_mesh(&mut chart.configure_mesh())
        .x_desc(time.desc.as_str())
        .y_desc(format!("{}{unit}", panel.y_desc))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(10)
        .y_labels(6)
        .draw()?;

    for line in &panel.lines {
        let pts: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|&(x, y)| (x / time.divisor, y / y_div))
            .collect();
        let style = line.colour.stroke_width(line.width);
        if let [only] = pts.as_slice() {
            // A single sample draws no line; show it as a dot.
            chart.draw_series(std::iter::once(Circle::new(*only, 3, line.colour.filled())))?;
            continue;
        }
        match line.dash.pattern() {
            None => chart.draw_series(LineSeries::new(pts, style))?,
            Some((len, gap)) => chart.draw_series(DashedLineSeries::new(pts, len, gap, style))?,
        };
    }
    Ok(())
}
