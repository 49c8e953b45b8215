//! `survey.svg`: per habit, connections held to the end and RSS growth per request.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::contract::survey::SurveySummary;
use crate::report::charts::canvas::{
    render_svg, text, titled, Drawn, CAPTION_SIZE, INK, MUTED, TICK_SIZE,
};
use crate::report::charts::series::PALETTE;
use crate::vocab::units::{self, NOT_MEASURED};

const WIDTH: u32 = 1200;
const ROW_PX: u32 = 26;
const LABEL_PX: i32 = 420;
const HEAD_PX: u32 = 46 + 40;
const GAP_PX: i32 = 30;

/// One panel: its caption, each row's value and how a value is written.
struct Panel {
    caption: &'static str,
    values: Vec<Option<f64>>,
    label: fn(f64) -> String,
    colour: RGBColor,
}

pub(crate) fn chart(s: &SurveySummary) -> Drawn<String> {
    let labels: Vec<String> = s
        .rows
        .iter()
        .map(|r| format!("{} · {}", r.runtime, r.habit))
        .collect();
    let panels = [
        Panel {
            caption: "connections held to the end, per request",
            values: s.rows.iter().map(|r| r.left_open_per_request).collect(),
            label: units::per_request,
            colour: PALETTE[0].rgb,
        },
        Panel {
            caption: "RSS growth per request (negative: no bar, the label gives it)",
            values: s
                .rows
                .iter()
                .map(|r| r.rss_growth_per_request_bytes)
                .collect(),
            label: units::bytes,
            colour: PALETTE[3].rgb,
        },
    ];
    let height = HEAD_PX + ROW_PX * labels.len().max(1) as u32 + 20;
    let row = ROW_PX as i32;
    let style = |size, colour: &'static RGBColor, h| text(size, colour, h, VPos::Center);
    render_svg((WIDTH, height), |root| {
        let title = format!("Client habits, {} requests each", s.requests_per_habit);
        let body = titled(root, &title)?;
        for (i, l) in labels.iter().enumerate() {
            let y = 40 + (i as i32) * row + row / 2;
            body.draw_text(l, &style(TICK_SIZE, &INK, HPos::Right), (LABEL_PX - 10, y))?;
        }
        let panel_w = (WIDTH as i32 - LABEL_PX - GAP_PX * 2) / 2;
        for (p, panel) in panels.iter().enumerate() {
            let x0 = LABEL_PX + p as i32 * (panel_w + GAP_PX);
            let caption = style(CAPTION_SIZE, &INK, HPos::Left);
            body.draw_text(panel.caption, &caption, (x0, 16))?;
            let finite = panel.values.iter().flatten().filter(|v| v.is_finite());
            let max = finite.fold(0.0_f64, |a, v| a.max(v.abs()));
            // Room on the right of the longest bar for its value.
            let bar_w = f64::from(panel_w - 90);
            for (i, v) in panel.values.iter().enumerate() {
                let y = 40 + (i as i32) * row;
                let mid = y + row / 2;
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    let note = style(TICK_SIZE, &MUTED, HPos::Left);
                    body.draw_text(NOT_MEASURED, &note, (x0 + 6, mid))?;
                    continue;
                };
                // With every value 0, `max` is too: 0 ÷ 0 casts to a width of 0.
                let w = ((v.max(0.0) / max * bar_w).round() as i32).max(1);
                let bar = [(x0, y + 4), (x0 + w, y + row - 4)];
                body.draw(&Rectangle::new(bar, panel.colour.filled()))?;
                let value = style(TICK_SIZE, &INK, HPos::Left);
                body.draw_text(&(panel.label)(v), &value, (x0 + w + 6, mid))?;
            }
            body.draw(&PathElement::new(
                vec![(x0, 36), (x0, 44 + row * labels.len() as i32)],
                INK.stroke_width(1),
            ))?;
        }
        Ok(())
    })
}
