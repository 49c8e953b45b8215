//! A legend in its own column beside the plots, so it never covers data.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::charts::canvas::{Area, Drawn, FONT, INK, LEGEND_SIZE};

/// How a line is stroked; each style means the same thing in every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// `(dash length, gap)` in pixels, `None` for solid.
    pub(crate) fn pattern(self) -> Option<(u32, u32)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((8, 5)),
            Dash::Dotted => Some((2, 4)),
        }
    }
}

/// What a legend row shows before its label.
pub(crate) enum Swatch {
    /// A line of this colour, width and dash.
    Line(RGBColor, u32, Dash),
    Block(RGBColor),
}

/// A legend row: its label and what is drawn before it.
pub(crate) type LegendEntry = (String, Swatch);

/// Longest label drawn in full; longer ones end in `…` to stay inside the column.
const MAX_LABEL_CHARS: usize = 28;
/// Where [`draw`] starts and how far apart its rows are.
pub(crate) const TOP: i32 = 40;
pub(crate) const ROW: i32 = 22;

/// The legend's two text styles, labels and bold headings, left-aligned on their row.
fn text_styles() -> (TextStyle<'static>, TextStyle<'static>) {
    let style = |font: FontDesc<'static>| {
        TextStyle::from(font)
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center))
    };
    (
        style((FONT, LEGEND_SIZE).into_font()),
        style((FONT, LEGEND_SIZE).into_font().style(FontStyle::Bold)),
    )
}

/// Draws `sections` (a heading and its rows each) top-down in `area`.
pub(crate) fn draw(area: &Area<'_>, sections: &[(&str, Vec<LegendEntry>)]) -> Drawn {
    let (label_style, heading_style) = text_styles();
    let mut y = TOP;
    for (heading, entries) in sections {
        area.draw_text(heading, &heading_style, (8, y))?;
        y += ROW;
        for (label, swatch) in entries {
            draw_swatch(area, swatch, (12, y))?;
            area.draw_text(&shorten(label), &label_style, (50, y))?;
            y += ROW;
        }
        y += ROW / 2;
    }
    Ok(())
}

/// Draws one row of colour blocks centred in `area`, under a bar panel that needs the full width.
pub(crate) fn draw_row(area: &Area<'_>, heading: &str, kinds: &[(&str, RGBColor)]) -> Drawn {
    let (label_style, heading_style) = text_styles();
    let heading = format!("{heading}:");
    let text_w = |s: &str| (s.chars().count() as f64 * f64::from(LEGEND_SIZE) * 0.42) as i32;
    let keys: i32 = kinds.iter().map(|k| SWATCH_W + text_w(k.0) + ROW_GAP).sum();
    let total = text_w(&heading) + 16 + keys - ROW_GAP;
    let (w, _) = area.dim_in_pixel();
    // Near the top of the row: close to the panel it explains, clear of the next one.
    let y = 12;
    let mut x = ((w as i32 - total) / 2).max(4);
    area.draw_text(&heading, &heading_style, (x, y))?;
    x += text_w(&heading) + 16;
    for &(label, colour) in kinds {
        draw_swatch(area, &Swatch::Block(colour), (x - 6, y))?;
        area.draw_text(label, &label_style, (x + SWATCH_W - 8, y))?;
        x += SWATCH_W + text_w(label) + ROW_GAP;
    }
    Ok(())
}

/// Width a swatch and its gap take before the label in a row legend; gap between entries.
const SWATCH_W: i32 = 34;
const ROW_GAP: i32 = 28;

fn draw_swatch(area: &Area<'_>, swatch: &Swatch, (x, y): (i32, i32)) -> Drawn {
    match *swatch {
        Swatch::Line(colour, width, dash) => {
            let style = colour.stroke_width(width);
            let pts = vec![(x, y), (x + 30, y)];
            match dash.pattern() {
                None => area.draw(&PathElement::new(pts, style))?,
                Some((len, gap)) => area.draw(&DashedPathElement::new(pts, len, gap, style))?,
            }
        }
        Swatch::Block(colour) => area.draw(&Rectangle::new(
            [(x + 6, y - 7), (x + 24, y + 7)],
            colour.filled(),
        ))?,
    }
    Ok(())
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_string()
    } else {
        let head: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{head}…")
    }
}
