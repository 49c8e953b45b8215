//! One panel of grouped bars; an unmeasured value is written "not measured", never drawn as 0.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::charts::canvas::{
    empty_panel, house_mesh, Area, Drawn, CAPTION_SIZE, FONT, INK, MUTED, TICK_SIZE,
};
use crate::report::charts::lines::Quantity;

/// A panel of grouped bars. `values[group][kind]` and `colours[group][kind]`.
pub(crate) struct BarPanel {
    pub(crate) caption: String,
    pub(crate) y_desc: String,
    pub(crate) groups: Vec<String>,
    pub(crate) values: Vec<Vec<Option<f64>>>,
    pub(crate) colours: Vec<Vec<RGBColor>>,
    /// Micros stand on a log axis, the others on a linear one from zero.
    pub(crate) quantity: Quantity,
}

const Y_LABEL_AREA: u32 = 76;
const X_LABEL_AREA: u32 = 40;
pub(crate) const CAPTION: u32 = 34;
pub(crate) const MARGIN: u32 = 10;
pub(crate) const VALUE_FONT: u32 = 16;
/// Largest share of a group's slot its bars fill; the rest separates groups.
const GROUP_FILL: f64 = 0.8;
/// Widest a bar gets, pixels, so two modes do not give two slabs.
const MAX_BAR_PX: f64 = 110.0;

/// The category axis of a bar panel: group `i` centred on `i`, ticks only at group centres.
pub(crate) struct GroupAxis {
    pub(crate) groups: usize,
}

impl Ranged for GroupAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let r = self.range();
        let share = (value - r.start) / (r.end - r.start);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        (0..self.groups).map(|i| i as f64).collect()
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.groups as f64 - 0.5
    }
}

/// The group whose centre `v` is nearest, if there is one there.
pub(crate) fn group_at(groups: usize, v: f64) -> Option<usize> {
    let i = v.round();
    (i >= 0.0 && i < groups as f64).then_some(i as usize)
}

/// Rough width of `text` in pixels at `size`, matching plotters' own estimate for SVG.
pub(crate) fn text_px(text: &str, size: u32) -> f64 {
    text.chars().count() as f64 * f64::from(size) * 0.55
}

pub(crate) fn draw_panel(area: &Area<'_>, panel: &BarPanel) -> Drawn {
    let n = panel.groups.len();
    let kinds = panel.values.iter().map(Vec::len).max().unwrap_or(0);
    if n == 0 || kinds == 0 {
        return empty_panel(area, &panel.caption, "no modes");
    }
    let (w, h) = area.dim_in_pixel();
    let plot_w = f64::from(w.saturating_sub(Y_LABEL_AREA + 3 * MARGIN).max(1));
    let plot_h = f64::from(h.saturating_sub(CAPTION + X_LABEL_AREA + 2 * MARGIN).max(1));
    let slot_px = plot_w / n as f64;
    let fill = (MAX_BAR_PX * kinds as f64 / slot_px).min(GROUP_FILL);
    let bar_px = slot_px * fill / kinds as f64;

    let values = || panel.values.iter().flatten().flatten().copied();
    let positive: Vec<f64> = values().filter(|v| v.is_finite() && *v > 0.0).collect();
    let max = positive.iter().copied().fold(0.0_f64, f64::max);
    let min = positive.iter().copied().fold(f64::INFINITY, f64::min);

    let q = panel.quantity;
    let (div, unit) = q.scale(max);
    // Labels turn vertical when the widest would not fit over its bar.
    let widest = values()
        .map(|v| text_px(&q.label(v), VALUE_FONT))
        .fold(0.0, f64::max);
    let label_px = if widest > bar_px - 2.0 {
        widest + 8.0
    } else {
        f64::from(VALUE_FONT) + 8.0
    };
    // Share of the plot height kept free above the tallest bar for its label.
    let head = (label_px / plot_h).min(0.6);

    // Mode names shrink (to a floor) rather than run into each other when groups are narrow.
    let longest = panel
        .groups
        .iter()
        .map(|g| text_px(g, TICK_SIZE))
        .fold(1.0, f64::max);
    let layout = Layout {
        values_vertical: widest > bar_px - 2.0,
        // The note may use its whole slot, not just one bar.
        note_vertical: text_px(NOT_MEASURED, VALUE_FONT) > slot_px - 4.0,
        fill,
        x_font: if longest > slot_px - 6.0 {
            (f64::from(TICK_SIZE) * (slot_px - 6.0) / longest).max(11.0) as u32
        } else {
            TICK_SIZE
        },
    };
    let x_range = GroupAxis { groups: n };
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.caption, (FONT, CAPTION_SIZE).into_font().color(&INK))
        .margin(MARGIN)
        .margin_right(2 * MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    let y_desc = format!("{}{unit}", panel.y_desc);
    match q {
        Quantity::Bytes | Quantity::Count => {
            let top = Some(max / div / (1.0 - head))
                .filter(|t| *t > 0.0)
                .unwrap_or(1.0);
            let chart = builder.build_cartesian_2d(x_range, 0.0..top)?;
            draw_bars(chart, panel, layout, (0.0, div), (y_desc, 6))
        }
        Quantity::Micros => {
            let lo = Some(min)
                .filter(|m| m.is_finite())
                .map_or(1.0, |m| 10f64.powf(m.log10().floor()));
            let hi = max.max(lo * 10.0);
            // Keep `head` of the log height free: solve ln(top/hi) = head/(1-head)·ln(hi/lo).
            let top = hi * ((hi / lo).ln() * head / (1.0 - head)).exp();
            let (bold, light) = log_ticks(lo, top);
            let y_range = (lo..top)
                .log_scale()
                .with_key_points(bold)
                .with_light_points(light);
            let chart = builder.build_cartesian_2d(x_range, y_range)?;
            let y_desc = format!("{y_desc} (log scale)");
            draw_bars(chart, panel, layout, (lo, 1.0), (y_desc, 8))
        }
    }
}

/// Tick values for a log axis from `lo` to `hi`: 1-2-5 per decade while that stays legible,
/// decades only for wide ranges; faint grid lines at every integer multiple.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let decades = (hi / lo).log10().ceil().max(1.0) as i32;
    let steps: &[f64] = if decades <= 3 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let first = lo.log10().floor() as i32;
    let mut bold = Vec::new();
    let mut light = Vec::new();
    for e in first..=first + decades {
        let d = 10f64.powi(e);
        for m in 1..10 {
            let v = d * f64::from(m);
            if v < lo * 0.999 || v > hi {
                continue;
            }
            if steps.contains(&f64::from(m)) {
                bold.push(v);
            }
            light.push(v);
        }
    }
    (bold, light)
}

/// Which text runs upwards, because it would not fit across its bar or its group's slot; the
/// share of a slot the bars fill; the size of the mode names.
#[derive(Debug, Clone, Copy)]
struct Layout {
    values_vertical: bool,
    note_vertical: bool,
    fill: f64,
    x_font: u32,
}

const NOT_MEASURED: &str = "not measured";

/// Anchor and rotation for text standing on a point: centred above it, or running up from it.
fn orientation(vertical: bool) -> (Pos, FontTransform) {
    if vertical {
        (Pos::new(HPos::Left, VPos::Center), FontTransform::Rotate270)
    } else {
        (Pos::new(HPos::Center, VPos::Bottom), FontTransform::None)
    }
}

/// Draws the mesh, the bars and their labels on a built chart whose y axis starts at `base`
/// and is titled `y_desc`, with `y_labels` ticks.
fn draw_bars<'a, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<GroupAxis, Y>>,
    panel: &BarPanel,
    layout: Layout,
    (base, div): (f64, f64),
    (y_desc, y_labels): (String, usize),
) -> Drawn
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let n = panel.groups.len();
    let x_fmt = |v: &f64| group_at(n, *v).map_or_else(String::new, |i| panel.groups[i].clone());
    let y_fmt = |v: &f64| panel.quantity.tick(*v);
    house_mesh(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc(y_desc)
        .y_labels(y_labels)
        .x_label_style((FONT, layout.x_font).into_font().color(&INK))
        .draw()?;
    let kinds = panel.values.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let (fill, slot) = (layout.fill, layout.fill / kinds as f64);
    let value_style = TextStyle::from((FONT, VALUE_FONT).into_font()).color(&INK);
    let muted =
        TextStyle::from((FONT, VALUE_FONT).into_font().style(FontStyle::Italic)).color(&MUTED);
    let (above, along) = orientation(layout.values_vertical);
    let (note_pos, note_along) = orientation(layout.note_vertical);

    for (g, row) in panel.values.iter().enumerate() {
        let centre = g as f64;
        if row.iter().all(Option::is_none) {
            let style = muted.pos(note_pos).transform(note_along.clone());
            chart.draw_series(std::iter::once(
                EmptyElement::at((centre, base)) + Text::new(NOT_MEASURED, (0, -6), style),
            ))?;
            continue;
        }
        for (k, value) in row.iter().enumerate() {
            let x0 = centre - fill / 2.0 + slot * k as f64;
            let (x0, x1) = (x0 + slot * 0.06, x0 + slot * 0.94);
            let xc = (x0 + x1) / 2.0;
            let colour = panel
                .colours
                .get(g)
                .and_then(|c| c.get(k))
                .copied()
                .unwrap_or(INK);
            let shown = value.filter(|v| v.is_finite() && *v > 0.0);
            if let Some(v) = shown {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, base), (x1, v / div)],
                    colour.filled(),
                )))?;
            }
            let (text, style, at) = match value {
                Some(v) => (
                    panel.quantity.label(*v),
                    value_style.clone(),
                    shown.map_or(base, |v| v / div),
                ),
                None => ("–".to_string(), muted.clone(), base),
            };
            chart.draw_series(std::iter::once(
                EmptyElement::at((xc, at))
                    + Text::new(text, (0, -4), style.pos(above).transform(along.clone())),
            ))?;
        }
    }
    Ok(())
}
