//! `breakdown.svg`: b and the bytes per request of each leg, stacked by owner (`--breakdown`).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::contract::breakdown::Share;
use crate::contract::summary::{ModeSummary, Summary};
use crate::report::charts::bars::{group_at, text_px, GroupAxis, CAPTION, MARGIN, VALUE_FONT};
use crate::report::charts::canvas::{
    house_mesh, render_svg, text, titled, Area, Drawn, CAPTION_SIZE, FONT, INK, MUTED, TICK_SIZE,
    TITLE_H,
};
use crate::report::charts::legend::{self, LegendEntry, Swatch};
use crate::report::charts::lines::Quantity;
use crate::report::charts::series::Series;
use crate::report::charts::timeline_charts::{LEGEND_WIDTH, WIDTH};
use crate::report::figures::{OwnerFigure, OWNER_FIGURES};
use crate::vocab::owner::Owner;
use crate::vocab::units as format;

/// Each owner's colour: owners that belong together get shades of one hue; the remainder, which
/// nobody owns, a light grey with an outline.
pub(crate) fn owner_colour(owner: Owner) -> RGBColor {
    match owner {
        Owner::ResumptionStore => RGBColor(0x1f, 0x77, 0xb4),
        Owner::Tickets => RGBColor(0xae, 0xc7, 0xe8),
        Owner::Config => RGBColor(0x94, 0x67, 0xbd),
        Owner::KeyExchange => RGBColor(0xc5, 0xb0, 0xd5),
        Owner::Verify => RGBColor(0xbc, 0xbd, 0x22),
        Owner::KeySchedule => RGBColor(0xe3, 0x77, 0xc2),
        Owner::Connection => RGBColor(0x17, 0xbe, 0xcf),
        Owner::Http => RGBColor(0xff, 0x7f, 0x0e),
        Owner::TokioIo => RGBColor(0x2c, 0xa0, 0x2c),
        Owner::TokioRuntime => RGBColor(0x98, 0xdf, 0x8a),
        Owner::Reqwest => RGBColor(0xd6, 0x27, 0x28),
        Owner::OpenSsl => RGBColor(0x39, 0x3b, 0x79),
        Owner::PythonSsl => RGBColor(0x9c, 0x9e, 0xde),
        Owner::Harness => RGBColor(0x8c, 0x56, 0x4b),
        Owner::Other => RGBColor(0x7f, 0x7f, 0x7f),
        Owner::Remainder => RGBColor(0xdd, 0xdd, 0xdd),
    }
}

/// A leg's breakdown for a panel, if it has one with anything in it.
fn shares_of<'m>(figure: &OwnerFigure, m: &'m ModeSummary) -> Option<&'m [Share]> {
    (figure.shares)(m)
        .map(Vec::as_slice)
        .filter(|l| !l.is_empty())
}

/// Whether some leg has a breakdown: `breakdown.svg` is drawn and shown exactly then.
pub(crate) fn any(summary: &Summary) -> bool {
    summary
        .modes
        .iter()
        .any(|m| OWNER_FIGURES.iter().any(|f| shares_of(f, m).is_some()))
}

#[derive(Debug, PartialEq)]
struct Stack {
    label: String,
    /// Positive bytes per owner, in [`Owner::ALL`] order so an owner sits in the same place
    /// along every bar (a positive remainder last).
    segments: Vec<(Owner, f64)>,
    /// A remainder below zero: the owners add up to more than the measured figure.
    negative_remainder: Option<f64>,
    /// Written at the end of the bar: the total and any note.
    text: String,
}

impl Stack {
    /// Whether the bar shows `owner`, as a segment or (the remainder) in its text.
    fn shows(&self, owner: Owner) -> bool {
        self.segments.iter().any(|(o, _)| *o == owner)
            || (owner == Owner::Remainder && self.negative_remainder.is_some())
    }

    /// Where the bar ends: the sum of its segments.
    fn end(&self) -> f64 {
        self.segments.iter().map(|(_, b)| b).sum()
    }
}

/// The bars of one panel: every series whose leg has this breakdown, in run order.
fn stacks(series: &[Series<'_>], figure: &OwnerFigure) -> Vec<Stack> {
    series
        .iter()
        .filter_map(|s| {
            let m = s.summary?;
            let shares = shares_of(figure, m)?;
            let finite = || shares.iter().filter(|x| x.bytes.is_finite());
            let bytes_of =
                |o: Owner| -> f64 { finite().filter(|x| x.owner == o).map(|x| x.bytes).sum() };
            let segments: Vec<(Owner, f64)> = Owner::ALL
                .iter()
                .map(|&o| (o, bytes_of(o)))
                .filter(|(_, b)| *b > 0.0)
                .collect();
            let remainder = bytes_of(Owner::Remainder);
            let negative_remainder = (remainder < 0.0).then_some(remainder);
            let measured = (figure.measured)(m).filter(|v| v.is_finite());
            let total = measured.unwrap_or_else(|| finite().map(|x| x.bytes).sum());
            Some(Stack {
                label: s.label.clone(),
                segments,
                negative_remainder,
                text: total_text(total, measured.is_some(), negative_remainder),
            })
        })
        .collect()
}

/// The text at the end of a bar: the measured figure (else the profile's total) and a negative
/// remainder, which the bar cannot show.
fn total_text(total: f64, measured: bool, negative_remainder: Option<f64>) -> String {
    let profile = (!measured).then(|| "profile total".to_string());
    let remainder = negative_remainder.map(|r| format!("remainder −{}", format::bytes(-r)));
    let notes: Vec<String> = profile.into_iter().chain(remainder).collect();
    if notes.is_empty() {
        format::bytes(total)
    } else {
        format!("{} ({})", format::bytes(total), notes.join(", "))
    }
}

/// `breakdown.svg`, or `None` when no leg has a breakdown; a panel no leg has data for is left out.
pub(crate) fn breakdown(summary: &Summary, series: &[Series<'_>]) -> Option<Drawn<String>> {
    let panels: Vec<(&OwnerFigure, Vec<Stack>)> = OWNER_FIGURES
        .iter()
        .map(|f| (f, stacks(series, f)))
        .filter(|(_, bars)| !bars.is_empty())
        .collect();
    if panels.is_empty() {
        return None;
    }
    let owners: Vec<LegendEntry> = Owner::ALL
        .iter()
        .filter(|&&o| panels.iter().flat_map(|(_, b)| b).any(|b| b.shows(o)))
        .map(|&o| (o.as_str().to_string(), Swatch::Block(owner_colour(o))))
        .collect();

    // Rows grow (bars do not: they are capped) when the legend is taller than the panels.
    let rows: u32 = panels.iter().map(|(_, b)| b.len() as u32).sum();
    let fixed = PANEL_FIXED * panels.len() as u32;
    let legend_h = (legend::TOP + legend::ROW * (owners.len() as i32 + 1)) as u32;
    let row_px = ROW_PX.max(legend_h.saturating_sub(fixed).div_ceil(rows.max(1)));
    let heights: Vec<u32> = panels
        .iter()
        .map(|(_, b)| PANEL_FIXED + row_px * b.len() as u32)
        .collect();
    let height = TITLE_H + heights.iter().sum::<u32>();
    // One label column for both panels, so their bars start at the same x.
    let y_label_area = panels
        .iter()
        .flat_map(|(_, b)| b)
        .map(|b| text_px(&b.label, TICK_SIZE))
        .fold(40.0, f64::max) as u32
        + 16;

    let title = crate::report::chart_title("Where the bytes go", summary);
    Some(render_svg((WIDTH, height), |root| {
        let body = titled(root, &title)?;
        let (w, _) = body.dim_in_pixel();
        let (mut rest, legend_area) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));
        for ((figure, bars), h) in panels.iter().zip(&heights) {
            let (area, below) = rest.split_vertically(*h);
            draw_panel(&area, figure, bars, y_label_area)?;
            rest = below;
        }
        legend::draw(&legend_area, &[("owner", owners)])
    }))
}

/// A panel's height besides its rows: caption, x axis and margins.
const PANEL_FIXED: u32 = CAPTION + X_LABEL_AREA + 2 * MARGIN;
/// Height of one leg's row, at least.
const ROW_PX: u32 = 46;
/// Thickest a bar gets, pixels.
const BAR_MAX_PX: f64 = 30.0;
const X_LABEL_AREA: u32 = 48;
const SEGMENT_FONT: u32 = 15;

/// Draws one panel: the legs down the y axis (first on top), bytes along x.
fn draw_panel(area: &Area<'_>, figure: &OwnerFigure, bars: &[Stack], y_label_area: u32) -> Drawn {
    let n = bars.len();
    let (w, h) = area.dim_in_pixel();
    let plot_w = f64::from(w.saturating_sub(y_label_area + 3 * MARGIN).max(1));
    let plot_h = f64::from(h.saturating_sub(PANEL_FIXED).max(1));

    let max = bars.iter().map(Stack::end).fold(0.0, f64::max);
    let (div, unit) = Quantity::Bytes.scale(max);
    // Leave room after each bar for its text: the bar ends where its text still fits.
    let top = bars
        .iter()
        .map(|b| {
            let room = ((text_px(&b.text, VALUE_FONT) + 12.0) / plot_w).min(0.75);
            b.end() / div / (1.0 - room)
        })
        .fold(0.0, f64::max);
    let top = if top > 0.0 { top } else { 1.0 };
    // Bar `i` sits at y = n-1-i, so the first leg is on top.
    let label_of =
        |v: &f64| group_at(n, *v).map_or_else(String::new, |i| bars[n - 1 - i].label.clone());
    let x_fmt = |v: &f64| Quantity::Bytes.tick(*v);

    let mut chart = ChartBuilder::on(area)
        .caption(figure.caption, (FONT, CAPTION_SIZE).into_font().color(&INK))
        .margin(MARGIN)
        .margin_right(2 * MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(0.0..top, GroupAxis { groups: n })?;
    house_mesh(&mut chart.configure_mesh())
        .disable_y_mesh()
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&label_of)
        .x_desc(format!("{}{unit}", figure.axis))
        .x_labels(8)
        .draw()?;

    let half = (BAR_MAX_PX / 2.0 / (plot_h / n as f64)).min(0.32);
    let value_style = text(VALUE_FONT, &INK, HPos::Left, VPos::Center);
    for (i, bar) in bars.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let mut x = 0.0;
        for &(owner, bytes) in &bar.segments {
            let (x0, x1) = (x, x + bytes / div);
            x = x1;
            let colour = owner_colour(owner);
            let rect = [(x0, y - half), (x1, y + half)];
            chart.draw_series([Rectangle::new(rect, colour.filled())])?;
            let edge = if owner == Owner::Remainder {
                MUTED
            } else {
                WHITE
            };
            chart.draw_series([Rectangle::new(rect, edge.stroke_width(1))])?;
            segment_label(&mut chart, (x0, x1, y), bytes, colour)?;
        }
        chart.draw_series([
            EmptyElement::at((x, y)) + Text::new(bar.text.clone(), (6, 0), value_style.clone())
        ])?;
    }
    Ok(())
}

/// Writes a segment's bytes inside it when they fit, in white on dark colours.
fn segment_label<'a>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, GroupAxis>>,
    (x0, x1, y): (f64, f64, f64),
    bytes: f64,
    colour: RGBColor,
) -> Drawn {
    let label = format::bytes(bytes);
    let px = chart.backend_coord(&(x1, y)).0 - chart.backend_coord(&(x0, y)).0;
    if f64::from(px) < text_px(&label, SEGMENT_FONT) + 8.0 {
        return Ok(());
    }
    let RGBColor(r, g, b) = colour;
    let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    let ink = if luma > 150.0 { INK } else { WHITE };
    let style = text(SEGMENT_FONT, &ink, HPos::Center, VPos::Center);
    chart
        .draw_series([EmptyElement::at(((x0 + x1) / 2.0, y)) + Text::new(label, (0, 0), style)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::series;

    fn summary(name: &str) -> Summary {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/report")
            .join(name);
        Summary::read(&path).expect("fixture")
    }

    /// A real `--breakdown` run's legs: fresh, leak and shared for hyper and for reqwest.
    fn with_breakdowns() -> Summary {
        summary("breakdown-summary.json")
    }

    fn draw(s: &Summary) -> Option<String> {
        let series = series::collect(s, &[]);
        breakdown(s, &series).map(|r| r.expect("draws"))
    }

    /// Whether some SVG `<text>` element reads exactly `text`.
    fn has_text(svg: &str, text: &str) -> bool {
        svg.contains(&format!(">\n{text}\n</text>")) || svg.contains(&format!(">{text}</text>"))
    }

    #[test]
    fn every_owner_has_its_own_colour() {
        for (i, a) in Owner::ALL.iter().enumerate() {
            for b in &Owner::ALL[i + 1..] {
                assert_ne!(owner_colour(*a), owner_colour(*b), "{a} and {b}");
            }
        }
    }

    #[test]
    fn fixture_chart_names_every_leg_and_owner_shown() {
        let s = with_breakdowns();
        assert!(any(&s));
        let svg = draw(&s).expect("a chart");
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(has_text(&svg, "Bytes retained per session (b), by owner"));
        assert!(has_text(&svg, "Heap bytes allocated per request, by owner"));
        assert!(svg.contains("Where the bytes go — "));
        for m in &s.modes {
            let label = m.mode.leg_label(m.client, true);
            assert!(has_text(&svg, &label), "names {label}");
            for share in m
                .request_breakdown
                .iter()
                .chain(&m.retained_breakdown)
                .flatten()
            {
                assert!(
                    has_text(&svg, share.owner.as_str()),
                    "legend has {}",
                    share.owner
                );
            }
        }
        // Owners no leg has are not in the legend.
        assert!(!has_text(&svg, Owner::TokioRuntime.as_str()));
        assert!(!has_text(&svg, Owner::Other.as_str()));
    }

    #[test]
    fn bars_stack_positive_owners_in_fixed_order_and_write_the_measured_figure() {
        let s = with_breakdowns();
        let series = series::collect(&s, &[]);
        let retained = stacks(&series, &OWNER_FIGURES[0]);
        // Legs with no b have no retained breakdown: shared (both) and fresh/reqwest.
        let labels: Vec<&str> = retained.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["fresh/hyper", "leak/hyper", "leak/reqwest"]);
        let fresh = &retained[0];
        let owners: Vec<Owner> = fresh.segments.iter().map(|x| x.0).collect();
        assert_eq!(
            owners,
            [
                Owner::ResumptionStore,
                Owner::Tickets,
                Owner::Config,
                Owner::Connection
            ]
        );
        assert_eq!(fresh.text, format::bytes(18410.0));
        // leak/hyper's positive remainder is stacked last.
        let leak = &retained[1];
        assert_eq!(leak.segments.last().map(|x| x.0), Some(Owner::Remainder));
        assert!((leak.end() - 53823.8).abs() < 0.1, "{}", leak.end());

        let request = stacks(&series, &OWNER_FIGURES[1]);
        assert_eq!(request.len(), 6);
        assert!(request.iter().all(|b| b.negative_remainder.is_some()));
        assert!(request.iter().all(|b| b
            .segments
            .iter()
            .all(|x| x.0 != Owner::Remainder && x.1 > 0.0)));
    }

    #[test]
    fn a_negative_remainder_is_written_next_to_the_total() {
        assert_eq!(
            total_text(18432.0, true, Some(-297.0)),
            "18 KiB (remainder −297 B)"
        );
        assert_eq!(total_text(18432.0, true, None), "18 KiB");
        assert_eq!(total_text(512.0, false, None), "512 B (profile total)");

        let svg = draw(&with_breakdowns()).expect("a chart");
        // fresh/hyper: 126 KiB allocated per request, the owners 11.9 B more.
        assert!(
            has_text(&svg, "123 KiB (remainder −11.9 B)"),
            "negative remainder shown"
        );
    }

    #[test]
    fn panels_without_data_are_left_out_and_no_data_draws_nothing() {
        let mut s = with_breakdowns();
        for m in &mut s.modes {
            m.retained_breakdown = None;
        }
        let svg = draw(&s).expect("the request panel");
        assert!(!has_text(&svg, OWNER_FIGURES[0].caption));
        assert!(has_text(&svg, OWNER_FIGURES[1].caption));

        for m in &mut s.modes {
            m.request_breakdown = Some(Vec::new());
        }
        assert!(!any(&s));
        assert!(draw(&s).is_none());
        // The report fixture predates --breakdown.
        assert!(!any(&summary("summary.json")));
    }

    #[test]
    fn drawing_is_deterministic() {
        let s = with_breakdowns();
        assert_eq!(draw(&s), draw(&s));
    }
}
