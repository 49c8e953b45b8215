//! The charts drawn from `summary.json` alone: bytes per session, and latency with handshakes.

use plotters::style::RGBColor;

use crate::contract::summary::{ModeSummary, Summary};
use crate::report::charts::bars::{self, BarPanel};
use crate::report::charts::canvas::{render_svg, titled, Drawn};
use crate::report::charts::legend;
use crate::report::charts::lines::Quantity;
use crate::report::charts::series::Series;
use crate::report::charts::timeline_charts::WIDTH;

/// Height of the legend row under each bar panel.
const LEGEND_ROW: u32 = 44;

/// Percentile bar colours, light to dark so the order reads without the legend.
const PERCENTILES: [(&str, RGBColor); 4] = [
    ("p50", RGBColor(0x9e, 0xca, 0xe1)),
    ("p90", RGBColor(0x42, 0x92, 0xc6)),
    ("p99", RGBColor(0x08, 0x51, 0x9c)),
    ("max", RGBColor(0x25, 0x25, 0x25)),
];

/// Handshake kinds: a full handshake is the expensive one, so it gets the alarming colour.
const HANDSHAKES: [(&str, RGBColor); 3] = [
    ("full handshake", RGBColor(0xd6, 0x27, 0x28)),
    ("resumed handshake", RGBColor(0xff, 0x7f, 0x0e)),
    ("reused connection", RGBColor(0x2c, 0xa0, 0x2c)),
];

/// The series that have a summary, in run order: bar charts show what the summary measured.
fn summarised<'s, 'a>(series: &'s [Series<'a>]) -> Vec<&'s Series<'a>> {
    series.iter().filter(|s| s.summary.is_some()).collect()
}

/// `per-session.svg`: heap bytes allocated per request and bytes retained per session.
pub(crate) fn per_session(summary: &Summary, series: &[Series<'_>]) -> Drawn<String> {
    let modes = summarised(series);
    let panel = |caption: &str, y_desc: &str, value: fn(&ModeSummary) -> Option<f64>| BarPanel {
        caption: caption.to_string(),
        y_desc: y_desc.to_string(),
        groups: modes.iter().map(|s| s.label.clone()).collect(),
        values: modes
            .iter()
            .map(|s| vec![s.summary.and_then(value)])
            .collect(),
        colours: modes.iter().map(|s| vec![s.colour]).collect(),
        quantity: Quantity::Bytes,
    };
    let churn = panel(
        "Heap bytes allocated per request (client worker)",
        "bytes / request",
        |m| m.client_alloc_bytes_per_request,
    );
    let retained = panel("Bytes retained per session (b)", "bytes / session", |m| {
        m.retained_bytes_per_session
    });
    let title = crate::report::chart_title("Bytes per session", summary);
    render_svg((WIDTH, 820), |root| {
        let body = titled(root, &title)?;
        let halves = body.split_evenly((2, 1));
        for (area, panel) in halves.iter().zip([&churn, &retained]) {
            bars::draw_panel(area, panel)?;
        }
        Ok(())
    })
}

/// `latency.svg`: latency percentiles (log axis) and how requests got their connection.
pub(crate) fn latency(summary: &Summary, series: &[Series<'_>]) -> Drawn<String> {
    let modes = summarised(series);
    let groups: Vec<String> = modes.iter().map(|s| s.label.clone()).collect();
    let lat = BarPanel {
        caption: "Request latency over the whole run".to_string(),
        y_desc: "latency".to_string(),
        groups: groups.clone(),
        values: modes
            .iter()
            .map(|s| match s.summary.and_then(|m| m.load.latency_us) {
                Some(l) => Vec::from([l.p50, l.p90, l.p99, l.max].map(|v| Some(v as f64))),
                None => vec![None; PERCENTILES.len()],
            })
            .collect(),
        colours: vec![PERCENTILES.iter().map(|p| p.1).collect(); modes.len()],
        quantity: Quantity::Micros,
    };
    let hs = BarPanel {
        caption: "Requests by how they got a connection".to_string(),
        y_desc: "requests".to_string(),
        groups,
        values: modes
            .iter()
            .map(|s| match s.summary {
                Some(m) => vec![
                    // Client-side where visible, else the server's count (reqwest).
                    m.load
                        .handshakes_full
                        .or_else(|| m.server.as_ref().and_then(|s| s.handshakes_full))
                        .map(|v| v as f64),
                    m.load
                        .handshakes_resumed
                        .or_else(|| m.server.as_ref().and_then(|s| s.handshakes_resumed))
                        .map(|v| v as f64),
                    m.load.requests_on_reused_connection.map(|v| v as f64),
                ],
                None => vec![None; HANDSHAKES.len()],
            })
            .collect(),
        colours: vec![HANDSHAKES.iter().map(|p| p.1).collect(); modes.len()],
        quantity: Quantity::Count,
    };
    let title = crate::report::chart_title("Latency and handshakes", summary);
    render_svg((WIDTH, 920), |root| {
        let body = titled(root, &title)?;
        let halves = body.split_evenly((2, 1));
        let keys = [
            ("percentile", &PERCENTILES[..], &lat),
            ("request", &HANDSHAKES[..], &hs),
        ];
        for (area, (heading, kinds, panel)) in halves.iter().zip(keys) {
            let (plot, key) =
                area.split_vertically(area.dim_in_pixel().1.saturating_sub(LEGEND_ROW));
            bars::draw_panel(&plot, panel)?;
            legend::draw_row(&key, heading, kinds)?;
        }
        Ok(())
    })
}
